"""What the sample coffee & tea retailer sells, and who its customers are.

Fixed lists (products, vendors, names, places) that the generator draws from.
Coffee beans and loose-leaf tea are sold by weight: their price is per kg and
an order line's quantity is in kg.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "CAFE_SUFFIXES",
    "COMPANY_PREFIXES",
    "FIRST_NAMES",
    "LAST_NAMES",
    "OFFICE_SUFFIXES",
    "PRODUCTS",
    "VENDOR_LEAD_TIME_DAYS",
    "Catalog",
    "Location",
    "Product",
    "home_country",
    "home_locations",
    "international_locations",
    "make_catalog",
    "tax_rate",
    "utc_offset_hours",
]


@dataclass(frozen=True)
class Product:
    """One SKU: list price and unit cost in the reporting currency."""

    sku: str
    name: str
    category: str
    price: float
    unit_cost: float
    vendor: str
    popularity: float
    by_weight: bool


_COFFEE = "Andes Green Coffee Importers"
_COFFEE_2 = "Rift Valley Coffee Traders"
_TEA = "Highland Tea Traders"
_EQUIPMENT = "BrewWorks Equipment"
_ACCESSORIES = "Kettle & Co Supply"


def _w(
    sku: str, name: str, category: str, price: float, cost: float, vendor: str, pop: float
) -> Product:
    return Product(sku, name, category, price, cost, vendor, pop, True)


def _f(
    sku: str, name: str, category: str, price: float, cost: float, vendor: str, pop: float
) -> Product:
    return Product(sku, name, category, price, cost, vendor, pop, False)


#: The catalogue. Per-kg prices stay below 100 so that a by-weight quantity with
#: four decimals reproduces every line total to the cent.
PRODUCTS: tuple[Product, ...] = (
    _w("BEAN-HOUSE", "House Blend (per kg)", "coffee", 28.00, 11.50, _COFFEE, 18.0),
    _w("BEAN-ESPRESSO", "Espresso Blend (per kg)", "coffee", 32.00, 13.00, _COFFEE, 16.0),
    _w("BEAN-DECAF", "Swiss Water Decaf (per kg)", "coffee", 36.00, 16.00, _COFFEE, 4.0),
    _w("BEAN-ETH-YIR", "Ethiopia Yirgacheffe (per kg)", "coffee", 48.00, 20.00, _COFFEE_2, 8.0),
    _w("BEAN-KEN-AA", "Kenya AA (per kg)", "coffee", 52.00, 22.00, _COFFEE_2, 5.0),
    _w("BEAN-COL-HUI", "Colombia Huila (per kg)", "coffee", 39.00, 16.00, _COFFEE, 9.0),
    _w("BEAN-GUA-ANT", "Guatemala Antigua (per kg)", "coffee", 41.00, 17.00, _COFFEE, 6.0),
    _w("BEAN-BRA-CER", "Brazil Cerrado (per kg)", "coffee", 30.00, 12.00, _COFFEE, 8.0),
    _w("BEAN-SUM-MAN", "Sumatra Mandheling (per kg)", "coffee", 44.00, 18.50, _COFFEE_2, 4.0),
    _w("BEAN-CR-TAR", "Costa Rica Tarrazu (per kg)", "coffee", 46.00, 19.50, _COFFEE, 4.0),
    _w("BEAN-PAN-GEI", "Panama Geisha (per kg)", "coffee", 89.00, 42.00, _COFFEE, 1.0),
    _w("BEAN-COLDBREW", "Cold Brew Blend (per kg)", "coffee", 34.00, 13.50, _COFFEE, 4.0),
    _w("TEA-SENCHA", "Japanese Sencha (per kg)", "tea", 78.00, 31.00, _TEA, 3.0),
    _w("TEA-ASSAM", "Assam Breakfast (per kg)", "tea", 52.00, 19.00, _TEA, 3.0),
    _w("TEA-EARLGREY", "Earl Grey (per kg)", "tea", 56.00, 21.00, _TEA, 3.0),
    _w("TEA-JASMINE", "Jasmine Pearls (per kg)", "tea", 86.00, 36.00, _TEA, 1.5),
    _w("TEA-ROOIBOS", "Rooibos (per kg)", "tea", 44.00, 15.00, _TEA, 2.0),
    _w("TEA-CHAI", "Masala Chai (per kg)", "tea", 49.00, 18.00, _TEA, 2.5),
    _f("EQ-GRINDER-BURR", "Conical Burr Grinder", "equipment", 189.00, 98.00, _EQUIPMENT, 1.2),
    _f("EQ-GRINDER-HAND", "Hand Grinder", "equipment", 79.00, 36.00, _EQUIPMENT, 1.5),
    _f("EQ-KETTLE", "Gooseneck Kettle", "equipment", 69.00, 31.00, _EQUIPMENT, 1.5),
    _f("EQ-FRENCHPRESS", "French Press 1 l", "equipment", 39.00, 15.00, _EQUIPMENT, 2.0),
    _f("EQ-POUROVER", "Pour-Over Dripper", "equipment", 24.00, 8.00, _EQUIPMENT, 3.0),
    _f("EQ-AEROPRESS", "AeroPress", "equipment", 39.00, 23.00, _EQUIPMENT, 2.0),
    _f("EQ-MOKA", "Moka Pot", "equipment", 34.00, 14.00, _EQUIPMENT, 1.5),
    _f("EQ-ESPRESSO", "Home Espresso Machine", "equipment", 549.00, 310.00, _EQUIPMENT, 0.3),
    _f("EQ-SCALE", "Brewing Scale", "equipment", 45.00, 19.00, _EQUIPMENT, 1.5),
    _f("EQ-COLDBREW", "Cold Brew Maker", "equipment", 32.00, 12.00, _EQUIPMENT, 1.0),
    _f("ACC-FILTERS", "Paper Filters (100)", "accessories", 8.00, 2.50, _ACCESSORIES, 8.0),
    _f("ACC-MUG", "Ceramic Mug", "accessories", 16.00, 5.00, _ACCESSORIES, 4.0),
    _f("ACC-TUMBLER", "Travel Tumbler", "accessories", 29.00, 11.00, _ACCESSORIES, 2.0),
    _f("ACC-CANISTER", "Airtight Canister", "accessories", 26.00, 9.50, _ACCESSORIES, 2.5),
    _f("ACC-CLEAN", "Grinder Cleaning Tablets", "accessories", 14.00, 4.50, _ACCESSORIES, 2.0),
    _f("ACC-DESCALER", "Descaler", "accessories", 12.00, 3.80, _ACCESSORIES, 2.0),
    _f("ACC-INFUSER", "Tea Infuser", "accessories", 11.00, 3.00, _ACCESSORIES, 2.0),
    _f("ACC-TEAPOT", "Glass Teapot", "accessories", 36.00, 14.00, _ACCESSORIES, 1.0),
    _f("ACC-GIFTBOX", "Tasting Gift Box", "accessories", 45.00, 18.00, _ACCESSORIES, 2.0),
    _f("ACC-SYRUP", "Vanilla Syrup", "accessories", 9.00, 3.20, _ACCESSORIES, 3.0),
    _f("ACC-MILKJUG", "Milk Frothing Jug", "accessories", 19.00, 7.00, _ACCESSORIES, 1.5),
    _f("ACC-TOTE", "Canvas Tote", "accessories", 15.00, 4.00, _ACCESSORIES, 1.5),
)

#: Days from a purchase order to stock on the shelf, per vendor.
VENDOR_LEAD_TIME_DAYS: dict[str, float] = {
    _COFFEE: 28.0,
    _COFFEE_2: 35.0,
    _TEA: 42.0,
    _EQUIPMENT: 14.0,
    _ACCESSORIES: 10.0,
}


@dataclass(frozen=True)
class Catalog:
    """The catalogue as arrays, for vectorised basket building."""

    products: tuple[Product, ...]
    price_cents: npt.NDArray[np.int64]
    cost_cents: npt.NDArray[np.int64]
    by_weight: npt.NDArray[np.intp]
    fixed: npt.NDArray[np.intp]
    weighed_popularity: npt.NDArray[np.float64]
    fixed_popularity: npt.NDArray[np.float64]
    vendors: tuple[str, ...]
    vendor_of: npt.NDArray[np.intp]


def make_catalog() -> Catalog:
    """Return the catalogue as arrays (indices refer to :data:`PRODUCTS`)."""
    price = np.array([round(p.price * 100) for p in PRODUCTS], dtype=np.int64)
    cost = np.array([round(p.unit_cost * 100) for p in PRODUCTS], dtype=np.int64)
    weighed = np.array([i for i, p in enumerate(PRODUCTS) if p.by_weight], dtype=np.intp)
    fixed = np.array([i for i, p in enumerate(PRODUCTS) if not p.by_weight], dtype=np.intp)
    pop = np.array([p.popularity for p in PRODUCTS], dtype=np.float64)
    vendors = tuple(dict.fromkeys(p.vendor for p in PRODUCTS))
    vendor_of = np.array([vendors.index(p.vendor) for p in PRODUCTS], dtype=np.intp)
    return Catalog(
        products=PRODUCTS,
        price_cents=price,
        cost_cents=cost,
        by_weight=weighed,
        fixed=fixed,
        weighed_popularity=pop[weighed] / pop[weighed].sum(),
        fixed_popularity=pop[fixed] / pop[fixed].sum(),
        vendors=vendors,
        vendor_of=vendor_of,
    )


# -- people and places -------------------------------------------------------------------

FIRST_NAMES: tuple[str, ...] = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella",
    "Lucas", "Mia", "Mason", "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Aiden",
    "Abigail", "Jackson", "Emily", "Sebastian", "Ella", "Mateo", "Chloe", "Henry",
    "Grace", "Samuel", "Zoe", "David", "Nora", "Daniel", "Lily", "Owen", "Hannah",
    "Leo", "Aria", "Julian", "Layla", "Caleb", "Maya", "Isaac", "Riley", "Ryan",
    "Priya", "Arjun", "Mei", "Hiro", "Sofia", "Diego", "Fatima", "Omar", "Ingrid",
    "Lars", "Anna", "Jonas", "Chiara", "Marco", "Zara", "Kwame",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson",
    "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
    "Carter", "Patel", "Kim", "Chen", "Tanaka", "Muller", "Schmidt", "Rossi", "Larsen",
    "Novak", "Okafor", "Singh",
)  # fmt: skip

COMPANY_PREFIXES: tuple[str, ...] = (
    "Bluebird", "Copper", "Juniper", "Harbor", "Maple", "Lantern", "Red Fox", "Cedar",
    "Union", "Northside", "Sparrow", "Granite", "Willow", "Beacon", "Marigold", "Ironwood",
    "Summit", "Driftwood", "Orchard", "Pioneer", "Riverbend", "Saffron", "Tidewater",
    "Evergreen", "Foundry", "Greenway", "Hollow Oak", "Kestrel", "Larkspur", "Meridian",
)  # fmt: skip

CAFE_SUFFIXES: tuple[str, ...] = (
    "Cafe",
    "Coffee Bar",
    "Espresso Bar",
    "Bakery",
    "Kitchen",
    "Coffee House",
)
OFFICE_SUFFIXES: tuple[str, ...] = (
    "Studio",
    "Partners",
    "Architects",
    "Dental",
    "Law Group",
    "Consulting",
    "Labs",
    "Agency",
)


@dataclass(frozen=True)
class Location:
    """A place customers live in, with its IANA time zone and relative weight."""

    country: str
    region: str
    city: str
    time_zone: str
    weight: float


_L = Location
_LOCATIONS: dict[str, tuple[Location, ...]] = {
    "US": (
        _L("US", "NY", "New York", "America/New_York", 14),
        _L("US", "MA", "Boston", "America/New_York", 5),
        _L("US", "PA", "Philadelphia", "America/New_York", 4),
        _L("US", "GA", "Atlanta", "America/New_York", 4),
        _L("US", "FL", "Miami", "America/New_York", 4),
        _L("US", "IL", "Chicago", "America/Chicago", 7),
        _L("US", "TX", "Austin", "America/Chicago", 5),
        _L("US", "MN", "Minneapolis", "America/Chicago", 3),
        _L("US", "CO", "Denver", "America/Denver", 4),
        _L("US", "AZ", "Phoenix", "America/Phoenix", 3),
        _L("US", "CA", "Los Angeles", "America/Los_Angeles", 10),
        _L("US", "CA", "San Francisco", "America/Los_Angeles", 7),
        _L("US", "WA", "Seattle", "America/Los_Angeles", 8),
        _L("US", "OR", "Portland", "America/Los_Angeles", 6),
    ),
    "GB": (
        _L("GB", "England", "London", "Europe/London", 30),
        _L("GB", "England", "Manchester", "Europe/London", 10),
        _L("GB", "England", "Bristol", "Europe/London", 7),
        _L("GB", "Scotland", "Edinburgh", "Europe/London", 8),
        _L("GB", "England", "Leeds", "Europe/London", 6),
        _L("GB", "England", "Brighton", "Europe/London", 5),
    ),
    "DE": (
        _L("DE", "Berlin", "Berlin", "Europe/Berlin", 20),
        _L("DE", "Hamburg", "Hamburg", "Europe/Berlin", 10),
        _L("DE", "Bavaria", "Munich", "Europe/Berlin", 12),
        _L("DE", "North Rhine-Westphalia", "Cologne", "Europe/Berlin", 8),
        _L("DE", "Hesse", "Frankfurt", "Europe/Berlin", 7),
    ),
    "CA": (
        _L("CA", "ON", "Toronto", "America/Toronto", 20),
        _L("CA", "BC", "Vancouver", "America/Vancouver", 12),
        _L("CA", "QC", "Montreal", "America/Toronto", 10),
        _L("CA", "AB", "Calgary", "America/Edmonton", 6),
    ),
    "AU": (
        _L("AU", "NSW", "Sydney", "Australia/Sydney", 20),
        _L("AU", "VIC", "Melbourne", "Australia/Melbourne", 18),
        _L("AU", "QLD", "Brisbane", "Australia/Brisbane", 8),
        _L("AU", "WA", "Perth", "Australia/Perth", 6),
    ),
}

_ABROAD: tuple[Location, ...] = (
    _L("US", "NY", "New York", "America/New_York", 5),
    _L("CA", "ON", "Toronto", "America/Toronto", 4),
    _L("GB", "England", "London", "Europe/London", 4),
    _L("DE", "Berlin", "Berlin", "Europe/Berlin", 3),
    _L("AU", "NSW", "Sydney", "Australia/Sydney", 2),
    _L("NL", "North Holland", "Amsterdam", "Europe/Amsterdam", 2),
    _L("FR", "Ile-de-France", "Paris", "Europe/Paris", 2),
    _L("IE", "Leinster", "Dublin", "Europe/Dublin", 1.5),
    _L("JP", "Tokyo", "Tokyo", "Asia/Tokyo", 1),
    _L("SE", "Stockholm", "Stockholm", "Europe/Stockholm", 1),
)

_HOME_BY_CURRENCY = {"USD": "US", "GBP": "GB", "EUR": "DE", "CAD": "CA", "AUD": "AU"}
_TAX_RATE = {"US": 0.07, "GB": 0.20, "DE": 0.19, "CA": 0.13, "AU": 0.10}
# Standard-time offset of the home country's main business hub, hours east of UTC.
_UTC_OFFSET = {"US": -5, "GB": 0, "DE": 1, "CA": -5, "AU": 10}


def home_country(currency: str) -> str:
    """Return the sample business's home country for a reporting currency (US by default)."""
    return _HOME_BY_CURRENCY.get(currency, "US")


def home_locations(country: str) -> tuple[Location, ...]:
    """Return the cities of the home country."""
    return _LOCATIONS[country]


def international_locations(country: str) -> tuple[Location, ...]:
    """Return the cities abroad (outside ``country``) that some customers live in."""
    return tuple(loc for loc in _ABROAD if loc.country != country)


def tax_rate(country: str) -> float:
    """Return the sales tax / VAT rate charged on home-country orders."""
    return _TAX_RATE[country]


def utc_offset_hours(country: str) -> int:
    """Return the home country's (standard-time) offset from UTC in whole hours."""
    return _UTC_OFFSET[country]
