"""Who the customers are and when they arrive.

Web customers arrive along the logistic acquisition curve with yearly and
weekly seasonality (one multinomial draw over the days); wholesale and office
accounts arrive along the same ramp on working days. Customers are numbered
in the order they were created.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow.compute as pc

from smbgrowth.data.sample import columns as col
from smbgrowth.data.sample.catalog import (
    CAFE_SUFFIXES,
    COMPANY_PREFIXES,
    FIRST_NAMES,
    LAST_NAMES,
    OFFICE_SUFFIXES,
    Location,
    home_locations,
    international_locations,
    utc_offset_hours,
)
from smbgrowth.data.sample.params import SampleParameters
from smbgrowth.data.sample.timeline import DAY, Timeline, acquisition_intensity

__all__ = [
    "ACQUISITION_CHANNELS",
    "SEGMENTS",
    "CustomerBase",
    "b2b_account_count",
    "customer_ids",
    "customers_frame",
    "draw_customers",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Acquisition channel codes; web channels first, then the sales team for B2B accounts.
ACQUISITION_CHANNELS: tuple[str, ...] = (
    "organic",
    "referral",
    "email",
    "google_ads",
    "facebook",
    "instagram",
    "sales",
)
SEGMENTS: tuple[str, ...] = ("consumer", "business", "wholesale")
_SALES = ACQUISITION_CHANNELS.index("sales")


@dataclass(frozen=True)
class CustomerBase:
    """All customers as arrays, sorted by creation instant (index = number - 1)."""

    created_s: IntArray
    is_b2b: BoolArray
    channel: IntArray
    segment: IntArray
    location: IntArray
    locations: tuple[Location, ...]
    first_name: IntArray
    last_name: IntArray
    company_prefix: IntArray
    company_suffix: IntArray
    accepts_marketing: BoolArray

    def __len__(self) -> int:
        return len(self.created_s)

    @property
    def web(self) -> IntArray:
        """Indices of the web (BG/NBD) customers."""
        return np.flatnonzero(~self.is_b2b)

    @property
    def b2b(self) -> IntArray:
        """Indices of the wholesale and office accounts."""
        return np.flatnonzero(self.is_b2b)

    def is_domestic(self, home: str) -> BoolArray:
        """Whether each customer lives in the home country."""
        domestic = np.array([loc.country == home for loc in self.locations], dtype=np.bool_)
        return domestic[self.location]


def b2b_account_count(customers: int, params: SampleParameters) -> int:
    """Return how many of ``customers`` are wholesale or office accounts."""
    wanted = max(params.b2b.min_accounts, round(customers * params.b2b.account_share))
    return min(wanted, customers // 10)


def _seconds_of_day(rng: np.random.Generator, hour_weights: FloatArray, size: int) -> IntArray:
    hours = rng.choice(24, size=size, p=hour_weights / hour_weights.sum())
    return hours.astype(np.int64) * 3600 + rng.integers(0, 3600, size=size)


def _proportions(shares: dict[str, float], names: tuple[str, ...]) -> FloatArray:
    values = np.array([shares[n] for n in names], dtype=np.float64)
    result: FloatArray = values / values.sum()
    return result


def draw_customers(
    rng: np.random.Generator,
    timeline: Timeline,
    params: SampleParameters,
    customers: int,
    web_day_weights: FloatArray,
    home: str,
) -> CustomerBase:
    """Draw every customer: arrival instant, channel, segment, place, name and consent."""
    acq = params.acquisition
    n_b2b = b2b_account_count(customers, params)
    n_web = customers - n_b2b

    # Web customers: arrival day ∝ the seasonal logistic ramp.
    counts = rng.multinomial(n_web, web_day_weights / web_day_weights.sum())
    web_day = np.repeat(np.arange(timeline.days, dtype=np.int64), counts)
    offset = utc_offset_hours(home)
    hour_weights = np.roll(np.asarray(acq.hour_weights_local, dtype=np.float64), -offset)
    web_s = timeline.start_s + web_day * DAY + _seconds_of_day(rng, hour_weights, n_web)

    web_channels = ACQUISITION_CHANNELS[:_SALES]
    start_share = _proportions(acq.channel_share_start, web_channels)
    end_share = _proportions(acq.channel_share_end, web_channels)
    frac = web_day / max(timeline.days - 1, 1)
    cumulative = np.cumsum(start_share)[None, :] + np.outer(
        frac, np.cumsum(end_share) - np.cumsum(start_share)
    )
    u = rng.random(n_web)
    web_channel = np.minimum((u[:, None] >= cumulative).sum(axis=1), len(web_channels) - 1)

    segment_p = _proportions(acq.segment_shares, ("consumer", "business"))
    web_segment = rng.choice(2, size=n_web, p=segment_p)

    # B2B accounts: the ramp without consumer seasonality, on working days, office hours.
    ramp = acquisition_intensity(timeline, acq)
    working = np.where(timeline.weekday() < 5, 1.0, 0.1)
    b2b_weights = ramp * working
    b2b_counts = rng.multinomial(n_b2b, b2b_weights / b2b_weights.sum())
    b2b_day = np.repeat(np.arange(timeline.days, dtype=np.int64), b2b_counts)
    office_hours = rng.integers(9 * 3600, 18 * 3600, size=n_b2b) - offset * 3600
    b2b_s = np.clip(
        timeline.start_s + b2b_day * DAY + office_hours, timeline.start_s, timeline.end_s - 1
    )
    b2b_segment_p = _proportions(params.b2b.segment_shares, ("wholesale", "business"))
    b2b_segment = np.where(rng.random(n_b2b) < b2b_segment_p[0], 2, 1)

    created = np.concatenate([web_s, b2b_s])
    is_b2b = np.concatenate([np.zeros(n_web, np.bool_), np.ones(n_b2b, np.bool_)])
    channel = np.concatenate([web_channel, np.full(n_b2b, _SALES)]).astype(np.int64)
    segment = np.concatenate([web_segment, b2b_segment]).astype(np.int64)
    order = np.argsort(created, kind="stable")
    created, is_b2b, channel, segment = (
        created[order],
        is_b2b[order],
        channel[order],
        segment[order],
    )

    # Places: mostly the home country; B2B accounts are all local.
    home_locs = home_locations(home)
    abroad = international_locations(home)
    locations = home_locs + abroad
    home_w = np.array([loc.weight for loc in home_locs], dtype=np.float64)
    abroad_w = np.array([loc.weight for loc in abroad], dtype=np.float64)
    at_home = is_b2b | (rng.random(customers) < acq.home_country_share)
    home_pick = rng.choice(len(home_locs), size=customers, p=home_w / home_w.sum())
    abroad_pick = len(home_locs) + rng.choice(
        len(abroad), size=customers, p=abroad_w / abroad_w.sum()
    )
    location = np.where(at_home, home_pick, abroad_pick).astype(np.int64)

    first = rng.integers(0, len(FIRST_NAMES), size=customers)
    last = rng.integers(0, len(LAST_NAMES), size=customers)
    has_company = segment > 0
    prefix = np.where(has_company, rng.integers(0, len(COMPANY_PREFIXES), size=customers), -1)
    cafe = segment == 2
    suffix_cafe = rng.integers(0, len(CAFE_SUFFIXES), size=customers)
    suffix_office = len(CAFE_SUFFIXES) + rng.integers(0, len(OFFICE_SUFFIXES), size=customers)
    suffix = np.where(has_company, np.where(cafe, suffix_cafe, suffix_office), -1)

    consent_p = np.where(
        channel == ACQUISITION_CHANNELS.index("email"),
        acq.accepts_marketing_email_channel,
        acq.accepts_marketing,
    )
    consent_p = np.where(is_b2b, 0.8, consent_p)
    accepts = rng.random(customers) < consent_p

    return CustomerBase(
        created_s=created.astype(np.int64),
        is_b2b=is_b2b,
        channel=channel,
        segment=segment,
        location=location,
        locations=locations,
        first_name=first.astype(np.int64),
        last_name=last.astype(np.int64),
        company_prefix=prefix.astype(np.int64),
        company_suffix=suffix.astype(np.int64),
        accepts_marketing=accepts,
    )


def customer_ids(count: int) -> tuple[str, int]:
    """Return the id prefix and zero-padded width for ``count`` customers ("C000001")."""
    return "C", max(6, len(str(count)))


def customers_frame(base: CustomerBase) -> pd.DataFrame:
    """Return the ``customers`` table."""
    n = len(base)
    number = np.arange(1, n + 1, dtype=np.int64)
    prefix, width = customer_ids(n)
    first = col.strings(FIRST_NAMES, base.first_name)
    last = col.strings(LAST_NAMES, base.last_name)
    email = pc.binary_join_element_wise(
        pc.utf8_lower(first),
        ".",
        pc.utf8_lower(last),
        pc.cast(col.numbers(number), "string"),
        "@example.com",
        "",
    )
    has_company = base.company_prefix >= 0
    company = pc.if_else(
        col.flags(has_company),
        pc.binary_join_element_wise(
            col.strings(COMPANY_PREFIXES, np.maximum(base.company_prefix, 0)),
            col.strings(CAFE_SUFFIXES + OFFICE_SUFFIXES, np.maximum(base.company_suffix, 0)),
            " ",
        ),
        None,
    )
    locs = base.locations
    return col.frame(
        {
            "customer_id": col.ids(prefix, number, width),
            "email": email,
            "name": pc.binary_join_element_wise(first, last, " "),
            "company": company,
            "created_at": col.instants(base.created_s),
            "country": col.strings([loc.country for loc in locs], base.location),
            "region": col.strings([loc.region for loc in locs], base.location),
            "city": col.strings([loc.city for loc in locs], base.location),
            "segment": col.labels(SEGMENTS, base.segment),
            "acquisition_channel": col.labels(ACQUISITION_CHANNELS, base.channel),
            "accepts_marketing": col.flags(base.accepts_marketing),
            "time_zone": col.strings([loc.time_zone for loc in locs], base.location),
        }
    )
