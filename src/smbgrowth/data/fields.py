"""The import vocabulary: which fields a file may fill for each target table.

A mapping names, for each *field*, the column of the file that holds it. For
most targets the fields are the canonical table's own columns. A line-level
order file (``order_lines``) and an order file (``orders``) may also carry
order-, customer- and product-level fields, which fill ``orders``,
``customers`` and ``products`` as well. Any target with a ``customer_id`` may
carry ``customer_*`` fields, which fill ``customers``.

Each field lists header spellings seen in real exports, so that a file with
well-known headers needs no mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smbgrowth.data.schema import Kind, get_table

__all__ = [
    "CUSTOMER_FIELDS",
    "Field",
    "customer_column",
    "guess_mapping",
    "normalise_header",
    "target_fields",
]


@dataclass(frozen=True)
class Field:
    """A field a file can provide: its name, how it is parsed, and header spellings."""

    name: str
    kind: Kind
    synonyms: tuple[str, ...] = ()


def normalise_header(header: str) -> str:
    """Lower-case a header and keep only letters and digits (``*Order ID`` → ``orderid``)."""
    return re.sub(r"[^0-9a-z]", "", header.lower())


def _f(name: str, kind: Kind, *synonyms: str) -> Field:
    return Field(name, kind, tuple(synonyms))


CUSTOMER_FIELDS: tuple[Field, ...] = (
    _f(
        "customer_email",
        "text",
        "email",
        "customer email",
        "e-mail",
        "email address",
        "billing email",
    ),
    _f("customer_name", "text", "customer name", "billing name", "contact name", "client name"),
    _f("customer_company", "text", "company", "billing company", "company name"),
    _f("customer_phone", "text", "phone", "billing phone", "phone number"),
    _f("customer_country", "text", "customer country", "billing country", "country"),
    _f("customer_region", "text", "state", "province", "region", "billing province"),
    _f("customer_city", "text", "city", "billing city"),
    _f("customer_segment", "text", "segment", "customer segment", "customer type"),
    _f("acquisition_channel", "text", "acquisition channel", "original source", "utm source"),
    _f("accepts_marketing", "boolean", "accepts marketing", "marketing consent", "opt in"),
    _f("customer_time_zone", "text", "customer time zone", "timezone"),
)

_CUSTOMER_COLUMN = {
    "customer_email": "email",
    "customer_name": "name",
    "customer_company": "company",
    "customer_phone": "phone",
    "customer_country": "country",
    "customer_region": "region",
    "customer_city": "city",
    "customer_segment": "segment",
    "acquisition_channel": "acquisition_channel",
    "accepts_marketing": "accepts_marketing",
    "customer_time_zone": "time_zone",
}

ORDER_FIELDS: tuple[Field, ...] = (
    _f(
        "order_id",
        "text",
        "order id",
        "order",
        "order no",
        "transaction id",
        "receipt id",
        # Invoice-, receipt- and document-numbered sales (accounting and retail tools).
        "invoice no",
        "invoice number",
        "invoice id",
        "invoice",
        "receipt number",
        "receipt no",
        "sales order",
        "sales order number",
        "document number",
        "transaction number",
        "order reference",
        "order ref",
    ),
    _f("order_number", "text", "order number", "order name", "order #"),
    _f(
        "customer_id",
        "text",
        "customer id",
        "customer",
        "client id",
        "customer number",
        "user id",
        "customer no",
        "customer code",
        "buyer id",
        "member id",
        "account number",
    ),
    _f(
        "ordered_at",
        "timestamp",
        "order date",
        "date",
        "created at",
        "ordered at",
        "purchase date",
        "transaction date",
        "created",
        "invoice date",
        "sale date",
        "receipt date",
        "order created",
        "placed at",
        "order datetime",
        "datetime",
    ),
    _f("status", "text", "status", "order status", "financial status", "payment status"),
    _f("fulfilled_at", "timestamp", "fulfilled at", "ship date", "shipped at", "shipped date"),
    _f("cancelled_at", "timestamp", "cancelled at", "canceled at"),
    _f("currency", "text", "currency", "order currency", "currency code"),
    _f("subtotal", "money", "subtotal", "order subtotal"),
    _f("discount", "money", "discount amount", "order discount", "discount total"),
    _f("shipping", "money", "shipping", "shipping total", "shipping amount"),
    _f("tax", "money", "tax", "taxes", "tax total", "vat"),
    _f(
        "total",
        "money",
        "total",
        "order total",
        "amount",
        "grand total",
        "revenue",
        "dollar value",
        "value",
        "total price",
        "invoice total",
        "invoice amount",
        "order value",
        "order amount",
        "total amount",
        "amount paid",
        "sale amount",
    ),
    _f("refunded", "money", "refunded amount", "amount refunded", "refund amount"),
    _f("channel", "text", "sales channel", "order channel"),
    _f("country", "text", "shipping country", "ship country"),
)

LINE_FIELDS: tuple[Field, ...] = (
    _f("line_no", "integer", "line number", "line no", "item #"),
    _f(
        "sku",
        "text",
        "sku",
        "product id",
        "item code",
        "product code",
        "lineitem sku",
        "stock code",
        "variant sku",
        "product sku",
        "item number",
        "item no",
        "item id",
        "article number",
    ),
    _f(
        "product_name",
        "text",
        "product name",
        "product",
        "item name",
        "lineitem name",
        "description",
        "item description",
        "product description",
        "product title",
        "item",
    ),
    _f("product_category", "text", "category", "product category", "product type"),
    _f(
        "quantity",
        "decimal",
        "quantity",
        "qty",
        "units",
        "lineitem quantity",
        "quantity ordered",
        "units sold",
        "items sold",
        "qty sold",
    ),
    _f(
        "unit_price",
        "money",
        "unit price",
        "price",
        "lineitem price",
        "item price",
        "price each",
        "sale price",
        "selling price",
        "unit amount",
    ),
    _f("unit_cost", "money", "unit cost", "cost", "item cost", "cost price"),
    _f("line_discount", "money", "line discount", "lineitem discount"),
    _f(
        "line_total",
        "money",
        "line total",
        "sales",
        "line amount",
        "order line total",
        "item total",
        "total price",
        "extended price",
        "ext price",
        "line value",
        "amount",
    ),
)

_TABLE_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "customer_id": ("customer id", "id", "record id", "contact id", "client id"),
        "email": ("email", "e-mail", "email address"),
        "name": ("name", "full name", "customer name", "contact name"),
        "company": ("company", "company name", "associated company"),
        "phone": ("phone", "phone number"),
        "created_at": ("created at", "create date", "created", "signup date", "first order date"),
        "country": ("country", "country/region"),
        "region": ("state", "province", "region"),
        "city": ("city",),
        "segment": ("segment", "customer segment", "lifecycle stage", "type"),
        "acquisition_channel": ("acquisition channel", "original source", "source", "channel"),
        "accepts_marketing": ("accepts marketing", "marketing consent", "opt in"),
        "time_zone": ("time zone", "timezone"),
    },
    "products": {
        "sku": ("sku", "product id", "item code", "variant sku"),
        "name": ("name", "product name", "title"),
        "category": ("category", "product category", "type", "product type"),
        "unit_cost": ("unit cost", "cost", "cost per item", "cost price"),
        "price": ("price", "unit price", "variant price", "list price"),
        "stock_on_hand": ("stock", "stock on hand", "inventory", "on hand", "quantity"),
        "lead_time_days": ("lead time", "lead time days", "lead time (days)"),
        "vendor": ("vendor", "supplier"),
    },
    "subscriptions": {
        "subscription_id": ("subscription id", "id"),
        "customer_id": ("customer id", "customer"),
        "plan": ("plan", "plan name", "product"),
        "started_at": ("start", "start date", "started at", "created"),
        "trial_ends_at": ("trial end", "trial ends at"),
        "canceled_at": ("canceled at", "cancelled at"),
        "ended_at": ("ended at", "end date", "ended"),
        "mrr": ("mrr", "monthly recurring revenue"),
        "currency": ("currency",),
        "billing_interval": ("interval", "billing interval", "billing period"),
        "status": ("status",),
        "cancellation_reason": ("cancellation reason", "churn reason"),
    },
    "marketing_spend": {
        "date": ("date", "day", "reporting starts"),
        "channel": ("channel", "platform", "network"),
        "campaign": ("campaign", "campaign name"),
        "spend": ("spend", "cost", "amount spent", "spent", "amount"),
        "impressions": ("impressions", "impr"),
        "clicks": ("clicks", "link clicks"),
        "conversions": ("conversions", "results", "total conversion", "purchases"),
    },
    "web_events": {
        "event_id": ("event id", "id"),
        "session_id": ("session id", "session"),
        "customer_id": ("customer id", "user id"),
        "occurred_at": ("occurred at", "timestamp", "time", "date"),
        "step": ("step", "event", "event name", "funnel step"),
        "channel": ("channel", "source", "traffic source"),
        "device": ("device", "device category"),
    },
    "deals": {
        "deal_id": ("deal id", "record id", "id"),
        "name": ("deal name", "name"),
        "customer_id": ("customer id", "associated contact ids", "contact id"),
        "created_at": ("create date", "created at", "created"),
        "stage": ("deal stage", "stage"),
        "pipeline": ("pipeline",),
        "amount": ("amount", "deal amount", "value"),
        "closed_at": ("close date", "closed at"),
        "won": ("won", "is won", "is closed won"),
        "owner": ("deal owner", "owner"),
    },
    "deal_stages": {
        "deal_id": ("deal id", "record id", "deal"),
        "stage": ("stage", "deal stage", "to stage"),
        "entered_at": ("entered at", "date entered", "changed at", "timestamp"),
    },
    "invoices": {
        "invoice_id": ("invoice id", "invoice number", "invoice no", "invoice", "num"),
        "customer_id": ("customer id", "customer", "contact name", "client"),
        "issued_at": ("invoice date", "issued at", "date", "issue date"),
        "due_at": ("due date", "due at"),
        "amount": ("amount", "invoice amount", "total", "invoice total"),
        "tax": ("tax", "tax total", "vat"),
        "currency": ("currency",),
        "paid_at": ("paid at", "paid date", "settled date", "payment date", "fully paid on date"),
        "paid_amount": ("paid amount", "amount paid", "invoice amount paid"),
        "status": ("status",),
    },
    "expenses": {
        "expense_id": ("expense id", "bill id", "id", "num", "reference"),
        "incurred_at": ("date", "incurred at", "expense date", "bill date"),
        "category": ("category", "account", "expense category"),
        "vendor": ("vendor", "supplier", "payee", "name"),
        "amount": ("amount", "total", "cost"),
        "due_at": ("due date", "due at"),
        "paid_at": ("paid at", "paid date", "payment date"),
        "recurring": ("recurring", "is recurring"),
    },
    "tickets": {
        "ticket_id": ("ticket id", "id", "ticket"),
        "customer_id": ("customer id", "requester", "requester id"),
        "opened_at": ("opened at", "created at", "created", "date"),
        "first_response_at": ("first response at", "first reply at", "first response"),
        "resolved_at": ("resolved at", "solved at", "closed at"),
        "category": ("category", "type", "topic"),
        "channel": ("channel", "via"),
        "csat": ("csat", "satisfaction", "satisfaction score", "rating"),
    },
    "processes": {
        "process_id": ("process id", "id"),
        "name": ("name", "process", "process name"),
        "department": ("department", "team"),
        "runs_per_month": ("runs per month", "runs/month", "frequency per month"),
        "minutes_per_run": ("minutes per run", "minutes/run", "duration minutes"),
        "error_rate": ("error rate",),
        "error_cost": ("error cost", "cost of an error", "cost per error"),
        "hourly_cost": ("hourly cost", "cost per hour", "hourly rate"),
        "touches_customers": ("touches customers", "customer facing", "customer-facing"),
    },
    "experiments": {
        "experiment_id": ("experiment id", "experiment", "test id", "test", "experiment key"),
        "unit_id": (
            "unit id",
            "user id",
            "userid",
            "visitor id",
            "customer id",
            "session id",
            "id",
        ),
        "variant": ("variant", "variation", "version", "group", "arm", "bucket"),
        "assigned_at": (
            "assigned at",
            "first exposure",
            "exposed at",
            "exposure date",
            "timestamp",
            "date",
        ),
        "unit_type": ("unit type", "unit"),
        "covariate": ("covariate", "pre period value", "pre-period value", "pre value"),
    },
    "fx_rates": {
        "currency": ("currency", "code"),
        "date": ("date", "day"),
        "rate": ("rate", "fx rate", "exchange rate"),
    },
}


def target_fields(target: str) -> dict[str, Field]:
    """Return the fields a file imported into ``target`` may provide, by name."""
    if target == "order_lines":
        fields = (*ORDER_FIELDS, *LINE_FIELDS, *CUSTOMER_FIELDS)
    elif target == "orders":
        fields = (*ORDER_FIELDS, *CUSTOMER_FIELDS)
    else:
        table = get_table(target)
        synonyms = _TABLE_SYNONYMS.get(target, {})
        fields = tuple(
            Field(c.name, c.kind, synonyms.get(c.name, (c.name.replace("_", " "),)))
            for c in table.columns
        )
        if "customer_id" in table.column_names and target != "customers":
            fields = (*fields, *CUSTOMER_FIELDS)
    return {f.name: f for f in fields}


def customer_column(field: str) -> str | None:
    """Return the customers column a ``customer_*`` field fills, or None."""
    return _CUSTOMER_COLUMN.get(field)


def guess_mapping(target: str, headers: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Match well-known header spellings to fields; each header is used at most once.

    Fields are matched in vocabulary order and, for each field, synonyms in their
    order, so the most specific spelling wins (``Order ID`` before ``Order``).
    """
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(normalise_header(h), h)
    used: set[str] = set()
    mapping: dict[str, str] = {}
    fields = target_fields(target)
    # Exact canonical names first, so a file already in canonical form maps to itself.
    # Only compound names (order_id, ordered_at): a bare "Discount" or "Total" header
    # is matched through the spellings below, where its meaning is known.
    for name in fields:
        if "_" not in name and target in ("orders", "order_lines"):
            continue
        header = by_norm.get(normalise_header(name))
        if header is not None and header not in used:
            mapping[name] = header
            used.add(header)
    order = list(fields.items())
    if target == "order_lines":
        # In a line-level file, "Amount" or "Total Price" is the line's amount: line
        # fields choose their headers before the order-level ones.
        line_names = {f.name for f in LINE_FIELDS}
        order.sort(key=lambda item: item[0] not in line_names)
    for name, field in order:
        if name in mapping:
            continue
        for synonym in field.synonyms:
            header = by_norm.get(normalise_header(synonym))
            if header is not None and header not in used:
                mapping[name] = header
                used.add(header)
                break
    return mapping
