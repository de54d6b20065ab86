"""Shopify: Orders › Export (one row per line item; order fields on the first row only)."""

from __future__ import annotations

from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.sources.base import HeaderSource, find_all, require
from smbgrowth.data.workspace import Workspace

__all__ = ["ShopifySource"]

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
    "subtotal": ("Subtotal",),
    "shipping": ("Shipping",),
    "tax": ("Taxes",),
    "total": ("Total",),
    "discount": ("Discount Amount",),
    "refunded": ("Refunded Amount",),
    "channel": ("Source",),
    "country": ("Shipping Country",),
    "accepts_marketing": ("Accepts Marketing",),
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


class ShopifySource(HeaderSource):
    name = "shopify"
    help = "Shopify Orders › Export CSV (one row per line item)"

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        columns = find_all(raw, _COLUMNS)
        require(
            raw,
            columns,
            ("order_id", "ordered_at", "quantity", "unit_price"),
            "a Shopify orders export (Orders › Export)",
        )
        return [
            FilePlan(
                target="order_lines",
                columns=columns,
                date_format=options.date_format,
                decimal=options.decimal,
                label="orders",
            )
        ]
