"""WooCommerce order exports of the two common extension layouts.

Recognised: the order-per-row layout of WebToffee's Import Export Suite, the
line-per-row layout of Advanced Order Export (the order's totals repeated on
every line row and counted once per order), and the CSV that WooCommerce's own
Analytics › Orders report downloads (one row per order, net sales only).
"""

from __future__ import annotations

from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.sources.base import HeaderSource, find, find_all, require
from smbgrowth.data.workspace import Workspace

__all__ = ["WooCommerceSource"]

_ORDER_ROWS: dict[str, tuple[str, ...]] = {
    "order_id": ("order_id",),
    "order_number": ("order_number",),
    "ordered_at": ("order_date",),
    "status": ("status", "order_status"),
    "shipping": ("shipping_total",),
    "tax": ("tax_total",),
    "discount": ("discount_total", "cart_discount"),
    "total": ("order_total",),
    "subtotal": ("order_subtotal",),
    "currency": ("order_currency",),
    "refunded": ("refunded_total", "order_refund"),
    "customer_id": ("customer_id", "customer_user"),
    "customer_email": ("customer_email", "billing_email"),
    "customer_company": ("billing_company",),
    "customer_phone": ("billing_phone",),
    "customer_country": ("billing_country",),
    "customer_region": ("billing_state",),
    "customer_city": ("billing_city",),
    "country": ("shipping_country",),
}

_LINE_ROWS: dict[str, tuple[str, ...]] = {
    "order_id": ("Order Number", "Order ID"),
    "ordered_at": ("Order Date",),
    "status": ("Order Status",),
    "customer_email": ("Email (Billing)",),
    "customer_company": ("Company (Billing)",),
    "customer_phone": ("Phone (Billing)",),
    "customer_country": ("Country Code (Billing)", "Country Name (Billing)"),
    "customer_city": ("City (Billing)",),
    "line_no": ("Item #",),
    "sku": ("SKU",),
    "product_name": ("Item Name", "Name"),
    "quantity": ("Quantity",),
    "unit_price": ("Item Cost",),
    "line_total": ("Order Line (w/o tax)", "Order Line Total"),
    "discount": ("Cart Discount Amount", "Discount Amount"),
    "shipping": ("Order Shipping Amount",),
    "tax": ("Order Total Tax Amount", "Order Tax Amount"),
    "total": ("Order Total Amount",),
    "subtotal": ("Order Subtotal Amount",),
    "refunded": ("Order Refund Amount",),
    "currency": ("Order Currency", "Currency"),
}


_ANALYTICS: dict[str, tuple[str, ...]] = {
    "order_id": ("Order #",),
    "ordered_at": ("Date",),
    "status": ("Status",),
    "customer_id": ("Customer",),
    "customer_name": ("Customer",),
    "customer_segment": ("Customer type",),
    "total": ("Net Sales",),
}

_ANALYTICS_NOTES = (
    "the Analytics orders download holds net sales only (before tax and shipping, after "
    "coupons and refunds): order totals are net sales",
    "it has no e-mail or customer id: customers are known by name, so two customers of "
    "one name are one, and products sold are not imported as order lines",
)


def _analytics(raw: RawFile, options: ImportOptions) -> FilePlan:
    columns = find_all(raw, _ANALYTICS)
    require(raw, columns, ("order_id", "ordered_at", "total"), "a WooCommerce Analytics orders CSV")
    return FilePlan(
        target="orders",
        columns=columns,
        # Statuses are shown by their labels ("On hold"), not their slugs (on-hold).
        derive={"status": "replace(lower(trim(status)), ' ', '-')"} if "status" in columns else {},
        constants={"channel": "web"},
        date_format=options.date_format,
        decimal=options.decimal,
        label="orders",
        notes=_ANALYTICS_NOTES,
    )


def _name(
    raw: RawFile, first: tuple[str, ...], last: tuple[str, ...]
) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    f, la = find(raw, *first), find(raw, *last)
    extra: dict[str, tuple[str, str]] = {}
    if f:
        extra["_first_name"] = (f, "text")
    if la:
        extra["_last_name"] = (la, "text")
    if not extra:
        return {}, {}
    parts = ", ".join(k for k in ("_first_name", "_last_name") if k in extra)
    return extra, {"customer_name": f"nullif(concat_ws(' ', {parts}), '')"}


class WooCommerceSource(HeaderSource):
    name = "woocommerce"
    help = (
        "WooCommerce order export (WebToffee order rows, Advanced Order Export line rows, or "
        "the Analytics › Orders CSV)"
    )

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        if find(raw, "Order #") and find(raw, "Net Sales"):
            return [_analytics(raw, options)]
        if find(raw, "order_total") and find(raw, "order_id"):
            columns = find_all(raw, _ORDER_ROWS)
            require(raw, columns, ("order_id", "ordered_at", "total"), "a WooCommerce order export")
            extra, derive = _name(raw, ("billing_first_name",), ("billing_last_name",))
            # Guests have customer id 0: they are known by their e-mail instead.
            if "customer_id" in columns:
                derive["customer_id"] = (
                    "CASE WHEN customer_id IS NULL OR customer_id = '0' "
                    "THEN customer_email ELSE customer_id END"
                )
            target = "orders"
        else:
            columns = find_all(raw, _LINE_ROWS)
            require(
                raw,
                columns,
                ("order_id", "ordered_at", "quantity"),
                "a WooCommerce order export (WebToffee, Advanced Order Export or Analytics layout)",
            )
            extra, derive = _name(raw, ("First Name (Billing)",), ("Last Name (Billing)",))
            target = "order_lines"
        return [
            FilePlan(
                target=target,
                columns=columns,
                extra=extra,
                derive=derive,
                constants={"channel": "web"},
                date_format=options.date_format,
                decimal=options.decimal,
                label="orders",
            )
        ]
