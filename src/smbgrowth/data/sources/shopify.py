"""Shopify: Orders › Export (one row per line item) and Customers › Export.

Order exports put the order's fields on its first line row only. Shopify's
``Subtotal`` is the line items *after* discounts, so the canonical subtotal
(before discounts) is ``Subtotal + Discount Amount``; prices may include tax
(``Taxes`` then is part of ``Total`` already). Buyers without an e-mail (cash on
delivery, point of sale) are known by their phone number, else by their name.
"""

from __future__ import annotations

from smbgrowth.data.parsing import quote_ident
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.sources.base import HeaderSource, find, find_all, has, require
from smbgrowth.data.workspace import Workspace

__all__ = ["ShopifySource", "buyer_key_sql", "is_shopify_orders"]

_COLUMNS: dict[str, tuple[str, ...]] = {
    # The order name (#1001) is stable across old and new export layouts; the
    # numeric Id column exists only in newer ones.
    "order_id": ("Name",),
    "order_number": ("Name",),
    "customer_email": ("Email",),
    "ordered_at": ("Created at",),
    "status": ("Financial Status",),
    "fulfilled_at": ("Fulfilled at",),
    "cancelled_at": ("Cancelled at",),
    "currency": ("Currency",),
    "shipping": ("Shipping",),
    "tax": ("Taxes",),
    "total": ("Total",),
    "discount": ("Discount Amount",),
    "refunded": ("Refunded Amount",),
    "channel": ("Source",),
    "country": ("Shipping Country",),
    "accepts_marketing": ("Accepts Marketing", "Accepts Email Marketing"),
    "customer_name": ("Billing Name",),
    "customer_company": ("Billing Company",),
    "customer_phone": ("Billing Phone", "Phone"),
    "customer_country": ("Billing Country",),
    "customer_region": ("Billing Province",),
    "customer_city": ("Billing City",),
    "quantity": ("Lineitem quantity",),
    "product_name": ("Lineitem name",),
    "unit_price": ("Lineitem price",),
    "sku": ("Lineitem sku",),
    "line_discount": ("Lineitem discount",),
}

_LINE_FIELDS = ("quantity", "product_name", "unit_price", "sku", "line_discount")

_CUSTOMERS: dict[str, tuple[str, ...]] = {
    "customer_id": ("Customer ID", "Id"),
    "email": ("Email",),
    "company": ("Company", "Default Address Company"),
    "phone": ("Phone", "Default Address Phone"),
    "country": ("Country", "Default Address Country Code", "Country Code"),
    "region": ("Province", "Default Address Province Code", "Province Code"),
    "city": ("City", "Default Address City"),
    "accepts_marketing": ("Accepts Email Marketing", "Accepts Marketing"),
}


# Names a till or a checkout puts on a sale without a known buyer.
_PLACEHOLDER_NAMES = (
    r"(walk[- ]?in|cash|pos|guest|anonymous|unknown|default|counter)?\s*"
    r"(customer|client|buyer|sale|guest)?|n/?a|none|-+"
)


def is_shopify_orders(raw: RawFile) -> bool:
    """True when the headers are those of a Shopify orders export (full or trimmed)."""
    return has(raw, "Name", "Financial Status") and (
        has(raw, "Created at") or has(raw, "Lineitem name")
    )


def is_shopify_customers(raw: RawFile) -> bool:
    """True when the headers are those of a Shopify customers export."""
    return (
        has(raw, "First Name", "Last Name", "Email")
        and (has(raw, "Total Spent") or has(raw, "Total Orders"))
        and not has(raw, "Lineitem name")
    )


def buyer_key_sql(email: str | None, phone: str | None, name: str | None, *fallbacks: str) -> str:
    """SQL keying a buyer by e-mail, else phone (digits), else name (lower-cased).

    Keys other than e-mails carry a prefix (``phone:``, ``name:``) so they never
    collide with an e-mail or a platform's own customer id; ``fallbacks`` are
    further SQL expressions tried last.
    """
    parts = []
    if email:
        parts.append(f"lower({email})")
    if phone:
        digits = f"regexp_replace({phone}, '[^0-9]', '', 'g')"
        parts.append(f"CASE WHEN length({digits}) >= 6 THEN 'phone:' || {digits} END")
    if name:
        # Point-of-sale placeholders ("Walk-in customer", "Guest") are not a person.
        cleaned = f"lower(trim({name}))"
        parts.append(
            f"CASE WHEN NOT regexp_full_match({cleaned}, '{_PLACEHOLDER_NAMES}') "
            f"THEN 'name:' || nullif({cleaned}, '') END"
        )
    parts.extend(fallbacks)
    return f"coalesce({', '.join(parts)})" if parts else "NULL"


def _count(ws: Workspace, sql: str) -> int:
    found = ws.duck.execute(sql).fetchone()
    return int(found[0]) if found and found[0] is not None else 0


class ShopifySource(HeaderSource):
    name = "shopify"
    help = "Shopify Orders › Export CSV (one row per line item) or Customers › Export CSV"

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        if is_shopify_customers(raw):
            return [self._customers(raw, options, ws)]
        columns = find_all(raw, _COLUMNS)
        lines = any(f in columns for f in _LINE_FIELDS)
        require(
            raw,
            columns,
            ("order_id", "ordered_at", *(("quantity", "unit_price") if lines else ("total",))),
            "a Shopify orders export (Orders › Export) or customers export (Customers › Export)",
        )
        extra: dict[str, tuple[str, str]] = {}
        derive: dict[str, str] = {}
        notes: list[str] = []
        subtotal = find(raw, "Subtotal")
        if subtotal:
            # Shopify's Subtotal is after discounts; the canonical one is before them.
            extra["_subtotal"] = (subtotal, "money")
            derive["subtotal"] = (
                "_subtotal + coalesce(discount, 0)" if "discount" in columns else "_subtotal"
            )
        phones = ["customer_phone"] if "customer_phone" in columns else []
        shipping_phone = find(raw, "Shipping Phone")
        if shipping_phone and shipping_phone != columns.get("customer_phone"):
            extra["_shipping_phone"] = (shipping_phone, "text")
            phones.append("_shipping_phone")
        phone = f"coalesce({', '.join(phones)})" if phones else None
        derive["customer_id"] = buyer_key_sql(
            "customer_email" if "customer_email" in columns else None,
            phone,
            "customer_name" if "customer_name" in columns else None,
        )
        notes += self._buyer_notes(raw, ws, columns)
        status = columns.get("status")
        if status:
            col = quote_ident(status)
            filled = _count(ws, f"SELECT count(sg_text({col})) FROM {raw.relation}")
            pending = _count(
                ws,
                f"SELECT count(*) FROM {raw.relation} WHERE lower(sg_text({col})) = 'pending'",
            )
            if filled and pending == filled:
                notes.append(
                    f"every order is pending ({filled} orders): pending orders are not counted "
                    "as sales; if the shop takes cash on delivery, mark orders paid in Shopify "
                    "when the money arrives and export again"
                )
        return [
            FilePlan(
                target="order_lines" if lines else "orders",
                columns=columns,
                extra=extra,
                derive=derive,
                date_format=options.date_format,
                decimal=options.decimal,
                label="orders",
                notes=tuple(notes),
            )
        ]

    @staticmethod
    def _buyer_notes(raw: RawFile, ws: Workspace, columns: dict[str, str]) -> list[str]:
        """Say how many orders have no e-mail and how their buyers are known."""
        email = columns.get("customer_email")
        if not email:
            return ["the export has no Email column: buyers are known by phone or name"]
        order = quote_ident(columns["order_id"])
        no_email = _count(
            ws,
            f"SELECT count(*) FROM (SELECT {order} FROM {raw.relation} "
            f"GROUP BY {order} HAVING count(sg_text({quote_ident(email)})) = 0)",
        )
        if not no_email:
            return []
        return [
            f"{no_email} order(s) have no e-mail: their buyers are known by phone, else by "
            "billing name (orders with neither count in revenue but not per customer)"
        ]

    @staticmethod
    def _customers(raw: RawFile, options: ImportOptions, ws: Workspace) -> FilePlan:
        columns = find_all(raw, _CUSTOMERS)
        extra: dict[str, tuple[str, str]] = {}
        first, last = find(raw, "First Name"), find(raw, "Last Name")
        if first:
            extra["_first"] = (first, "text")
        if last:
            extra["_last"] = (last, "text")
        derive: dict[str, str] = {}
        if extra:
            derive["name"] = f"nullif(concat_ws(' ', {', '.join(extra)}), '')"
        own_id = columns.pop("customer_id", None)
        if own_id:
            # Shopify's own customer id is stable, but orders exports know buyers by
            # e-mail: key by e-mail where there is one so both files name one customer.
            extra["_own_id"] = (own_id, "text")
        key = buyer_key_sql(
            "email" if "email" in columns else None,
            "phone" if "phone" in columns else None,
            derive.get("name"),
            *(["'shopify:' || _own_id"] if own_id else []),
        )
        derive["customer_id"] = key
        keyed = [columns.get("email"), columns.get("phone"), first, last, own_id]
        known = " OR ".join(f"sg_text({quote_ident(h)}) IS NOT NULL" for h in keyed if h)
        notes = []
        if "email" in columns and known:
            no_email = _count(
                ws,
                f"SELECT count(*) FROM {raw.relation} "
                f"WHERE sg_text({quote_ident(columns['email'])}) IS NULL AND ({known})",
            )
            if no_email:
                notes.append(
                    f"{no_email} customer(s) have no e-mail: they are known by phone, else by "
                    "name, and cannot receive e-mail"
                )
        return FilePlan(
            target="customers",
            columns=columns,
            extra=extra,
            derive=derive,
            row_filter=known or None,
            date_format=options.date_format,
            decimal=options.decimal,
            label="customers",
            notes=tuple(notes),
        )
