"""The canonical tables: what every import is turned into and every metric reads.

Each column has a *kind* that says how raw text is parsed into it and which
DuckDB type stores it. Money is ``DECIMAL(18, 4)`` in the workspace's
reporting currency, at the source's precision (4-decimal line totals and
3-minor-digit currencies such as KWD are kept; only display rounds); instants
are ``TIMESTAMPTZ`` (stored in UTC); calendar days are ``DATE``. Every table
also carries ``source`` (which import brought or last changed the row) and
``imported_at``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "CANONICAL_TABLES",
    "KINDS",
    "META_COLUMNS",
    "Column",
    "Kind",
    "Table",
    "get_table",
]

Kind = Literal["text", "money", "decimal", "integer", "float", "boolean", "timestamp", "date"]

#: DuckDB storage type of each kind.
KINDS: dict[str, str] = {
    "text": "VARCHAR",
    "money": "DECIMAL(18, 4)",
    "decimal": "DECIMAL(18, 4)",
    "integer": "BIGINT",
    "float": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
    "date": "DATE",
}


@dataclass(frozen=True)
class Column:
    """One canonical column."""

    name: str
    kind: Kind
    doc: str
    required: bool = False

    @property
    def sql_type(self) -> str:
        return KINDS[self.kind]


@dataclass(frozen=True)
class Table:
    """One canonical table: its key and its columns (metadata columns excluded)."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    doc: str
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def value_columns(self) -> list[str]:
        """Columns that are not part of the key."""
        return [c.name for c in self.columns if c.name not in self.key]


def _c(name: str, kind: Kind, doc: str, required: bool = False) -> Column:
    return Column(name, kind, doc, required)


META_COLUMNS: tuple[Column, ...] = (
    _c("source", "text", "which import brought or last changed the row", True),
    _c("imported_at", "timestamp", "when that import ran (UTC)", True),
)

CUSTOMERS = Table(
    "customers",
    ("customer_id",),
    (
        _c(
            "customer_id",
            "text",
            "the customer's id in the source system, or the lower-cased email",
            True,
        ),
        _c("email", "text", "e-mail address, lower-cased"),
        _c("name", "text", "person or company name"),
        _c("company", "text", "company name for business customers"),
        _c("phone", "text", "phone number as given"),
        _c("created_at", "timestamp", "when the customer was created or first bought"),
        _c("country", "text", "country name or ISO code as given"),
        _c("region", "text", "state, province or region"),
        _c("city", "text", "city"),
        _c("segment", "text", "customer segment (consumer, business, …)"),
        _c("acquisition_channel", "text", "marketing channel that brought the customer"),
        _c("accepts_marketing", "boolean", "consent to marketing e-mail"),
        _c("time_zone", "text", "IANA time zone of the customer, when known"),
    ),
    "People and companies that buy or may buy.",
)

ORDERS = Table(
    "orders",
    ("order_id",),
    (
        _c("order_id", "text", "order id in the source system (or a stable derived id)", True),
        _c("order_number", "text", "number shown to the customer, e.g. #1001"),
        _c("customer_id", "text", "who ordered (null for guest checkouts without e-mail)"),
        _c("ordered_at", "timestamp", "when the order was placed", True),
        _c("status", "text", "completed, pending, cancelled, refunded, partially_refunded, failed"),
        _c("fulfilled_at", "timestamp", "when the order was shipped or delivered"),
        _c("cancelled_at", "timestamp", "when the order was cancelled"),
        _c("currency", "text", "currency the order was placed in (ISO 4217)"),
        _c("total_original", "money", "order total in the order's own currency"),
        _c("subtotal", "money", "sum of line totals before discount, shipping and tax"),
        _c("discount", "money", "order discount (positive number)"),
        _c("shipping", "money", "shipping charged"),
        _c("tax", "money", "tax charged"),
        _c("total", "money", "amount charged, in the reporting currency", True),
        _c("refunded", "money", "amount refunded, in the reporting currency"),
        _c("channel", "text", "sales channel (web, pos, marketplace, b2b, …)"),
        _c("country", "text", "shipping or billing country"),
    ),
    "Orders and one-off payments.",
)

ORDER_LINES = Table(
    "order_lines",
    ("order_id", "line_no"),
    (
        _c("order_id", "text", "order the line belongs to", True),
        _c("line_no", "integer", "1-based line number within the order", True),
        _c("sku", "text", "product SKU"),
        _c("product_name", "text", "product name as sold"),
        _c("product_category", "text", "product category"),
        _c("quantity", "decimal", "units sold"),
        _c("unit_price", "money", "price per unit"),
        _c("unit_cost", "money", "cost per unit (for gross margin)"),
        _c("discount", "money", "discount on this line"),
        _c("line_total", "money", "amount of the line after line discount"),
    ),
    "The products in each order.",
)

PRODUCTS = Table(
    "products",
    ("sku",),
    (
        _c("sku", "text", "stock-keeping unit", True),
        _c("name", "text", "product name"),
        _c("category", "text", "product category"),
        _c("unit_cost", "money", "cost per unit"),
        _c("price", "money", "list price per unit"),
        _c("stock_on_hand", "decimal", "units in stock now"),
        _c("lead_time_days", "float", "days from reorder to stock"),
        _c("vendor", "text", "supplier"),
    ),
    "What the business sells.",
)

SUBSCRIPTIONS = Table(
    "subscriptions",
    ("subscription_id",),
    (
        _c("subscription_id", "text", "subscription id", True),
        _c("customer_id", "text", "subscriber", True),
        _c("plan", "text", "plan name"),
        _c("started_at", "timestamp", "start of the subscription (after trial)", True),
        _c("trial_ends_at", "timestamp", "end of the trial, if any"),
        _c("canceled_at", "timestamp", "when cancellation was requested"),
        _c("ended_at", "timestamp", "when the subscription stopped"),
        _c("mrr", "money", "monthly recurring revenue (annual ÷ 12), reporting currency"),
        _c("currency", "text", "billing currency"),
        _c("billing_interval", "text", "month, year, week or day"),
        _c("status", "text", "active, trialing, past_due, canceled, unpaid, incomplete"),
        _c("cancellation_reason", "text", "why it was cancelled"),
    ),
    "Recurring plans.",
)

MARKETING_SPEND = Table(
    "marketing_spend",
    ("date", "channel", "campaign"),
    (
        _c("date", "date", "calendar day of the spend", True),
        _c("channel", "text", "marketing channel (google_ads, facebook, …)", True),
        _c("campaign", "text", "campaign name ('' when the export has none)", True),
        _c("spend", "money", "amount spent, reporting currency", True),
        _c("impressions", "integer", "ad impressions"),
        _c("clicks", "integer", "ad clicks"),
        _c("conversions", "float", "conversions the platform attributes"),
    ),
    "Daily marketing spend by channel and campaign.",
)

WEB_EVENTS = Table(
    "web_events",
    ("event_id",),
    (
        _c("event_id", "text", "event id", True),
        _c("session_id", "text", "visit the event belongs to"),
        _c("customer_id", "text", "customer, when known"),
        _c("occurred_at", "timestamp", "when it happened", True),
        _c(
            "step",
            "text",
            "funnel step: visit, product_view, add_to_cart, checkout, purchase",
            True,
        ),
        _c("channel", "text", "traffic channel of the session"),
        _c("device", "text", "desktop, mobile, tablet"),
    ),
    "Web funnel events.",
)

DEALS = Table(
    "deals",
    ("deal_id",),
    (
        _c("deal_id", "text", "deal id", True),
        _c("name", "text", "deal name"),
        _c("customer_id", "text", "associated customer or contact"),
        _c("created_at", "timestamp", "when the deal was created", True),
        _c("stage", "text", "pipeline stage"),
        _c("pipeline", "text", "pipeline name"),
        _c("amount", "money", "deal value"),
        _c("closed_at", "timestamp", "close date (expected, for open deals)"),
        _c("won", "boolean", "true if won, false if lost, null while open"),
        _c("owner", "text", "sales rep"),
    ),
    "B2B sales pipeline.",
)

DEAL_STAGES = Table(
    "deal_stages",
    ("deal_id", "stage"),
    (
        _c("deal_id", "text", "deal", True),
        _c("stage", "text", "pipeline stage the deal entered", True),
        _c("entered_at", "timestamp", "when it entered the stage", True),
    ),
    "When each deal entered each pipeline stage (stage history).",
)

INVOICES = Table(
    "invoices",
    ("invoice_id",),
    (
        _c("invoice_id", "text", "invoice number", True),
        _c("customer_id", "text", "billed customer"),
        _c("issued_at", "timestamp", "invoice date", True),
        _c("due_at", "timestamp", "due date"),
        _c("amount", "money", "invoice total incl. tax, reporting currency", True),
        _c("tax", "money", "tax on the invoice"),
        _c("currency", "text", "invoice currency"),
        _c("paid_at", "timestamp", "when it was fully paid"),
        _c("paid_amount", "money", "amount paid so far"),
        _c("status", "text", "draft, open, paid, void, disputed"),
    ),
    "Invoices issued to customers (accounts receivable).",
)

EXPENSES = Table(
    "expenses",
    ("expense_id",),
    (
        _c("expense_id", "text", "expense or bill id", True),
        _c("incurred_at", "timestamp", "when the cost was incurred", True),
        _c("category", "text", "cost category (payroll, rent, cogs, software, …)"),
        _c("vendor", "text", "who is paid"),
        _c("amount", "money", "amount, reporting currency (positive)", True),
        _c("due_at", "timestamp", "when it is due"),
        _c("paid_at", "timestamp", "when it was paid"),
        _c("recurring", "boolean", "true for repeating costs (rent, payroll, software)"),
    ),
    "Costs and bills.",
)

TICKETS = Table(
    "tickets",
    ("ticket_id",),
    (
        _c("ticket_id", "text", "ticket id", True),
        _c("customer_id", "text", "who asked"),
        _c("opened_at", "timestamp", "when it was opened", True),
        _c("first_response_at", "timestamp", "first reply by the business"),
        _c("resolved_at", "timestamp", "when it was solved"),
        _c("category", "text", "topic (shipping, billing, product, …)"),
        _c("channel", "text", "email, chat, phone"),
        _c("csat", "float", "satisfaction score 1–5"),
    ),
    "Customer-support tickets.",
)

PROCESSES = Table(
    "processes",
    ("process_id",),
    (
        _c("process_id", "text", "process id", True),
        _c("name", "text", "process name", True),
        _c("department", "text", "who does it"),
        _c("runs_per_month", "float", "how often it runs"),
        _c("minutes_per_run", "float", "staff minutes per run"),
        _c("error_rate", "float", "share of runs with an error (0–1)"),
        _c("error_cost", "money", "cost of one error"),
        _c("hourly_cost", "money", "loaded hourly cost of the staff doing it"),
        _c("touches_customers", "boolean", "whether customers see the process"),
    ),
    "Recurring business processes (candidates for automation).",
)

EXPERIMENTS = Table(
    "experiments",
    ("experiment_id", "unit_id"),
    (
        _c("experiment_id", "text", "experiment (test) name or id", True),
        _c(
            "unit_id",
            "text",
            "the randomised unit: a customer_id, or a web session_id when unit_type is session",
            True,
        ),
        _c("variant", "text", "variant the unit was assigned to (e.g. control, treatment)", True),
        _c("assigned_at", "timestamp", "when the unit was first exposed", True),
        _c("unit_type", "text", "customer (default) or session"),
        _c(
            "covariate",
            "float",
            "optional pre-period value of the outcome, for variance reduction (CUPED)",
        ),
    ),
    "A/B-test assignments: which unit saw which variant, and when.",
)

CUSTOMER_SEGMENTS = Table(
    "customer_segments",
    ("customer_id", "method"),
    (
        _c("customer_id", "text", "customer", True),
        _c("method", "text", "how the segment was assigned: rfm or cluster", True),
        _c("segment", "text", "current segment", True),
        _c("previous_segment", "text", "segment before the last change"),
        _c("since", "timestamp", "when the customer entered the current segment", True),
        _c("score", "text", "the scores behind it (e.g. RFM 545)"),
    ),
    "Each customer's current segment per method, with when it was entered.",
)

FX_RATES = Table(
    "fx_rates",
    ("currency", "date"),
    (
        _c("currency", "text", "ISO 4217 code of the foreign currency", True),
        _c("date", "date", "day the rate applies from", True),
        _c("rate", "float", "reporting-currency units per one unit of the currency", True),
    ),
    "Exchange rates used to convert foreign-currency amounts.",
)

CONSENT = Table(
    "consent",
    ("customer_id", "stated_at"),
    (
        _c("customer_id", "text", "customer the statement is about", True),
        _c(
            "stated_at",
            "timestamp",
            "when it was stated: the order's date for a checkout's consent, the export's "
            "date for a customer list",
            True,
        ),
        _c("accepts_marketing", "boolean", "whether the customer accepted marketing e-mail", True),
    ),
    "Marketing consent as dated statements; the most recent is the customer's consent.",
)

CANONICAL_TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        CUSTOMERS,
        ORDERS,
        ORDER_LINES,
        PRODUCTS,
        SUBSCRIPTIONS,
        MARKETING_SPEND,
        WEB_EVENTS,
        DEALS,
        DEAL_STAGES,
        INVOICES,
        EXPENSES,
        TICKETS,
        PROCESSES,
        EXPERIMENTS,
        CUSTOMER_SEGMENTS,
        FX_RATES,
        CONSENT,
    )
}


def get_table(name: str) -> Table:
    """Return the canonical table called ``name`` or raise a MappingError naming the options."""
    from smbgrowth.errors import MappingError

    try:
        return CANONICAL_TABLES[name]
    except KeyError:
        options = ", ".join(CANONICAL_TABLES)
        raise MappingError(f"unknown table {name!r}; choose one of: {options}") from None
