"""Stripe: the payments export and the subscriptions export (told apart by their headers)."""

from __future__ import annotations

from smbgrowth.data.parsing import quote_ident, sql_literal
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.sources.base import HeaderSource, find, find_all, has, require
from smbgrowth.data.sources.generic import transaction_id_sql
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError

__all__ = ["StripeSource"]

_PAYMENTS: dict[str, tuple[str, ...]] = {
    "order_id": ("id",),
    "customer_id": ("Customer ID",),
    "customer_email": ("Customer Email",),
    "customer_name": ("Customer Description",),
    "ordered_at": ("Created (UTC)", "Created date (UTC)", "Created"),
    "currency": ("Currency",),
    "total": ("Amount",),
    "refunded": ("Amount Refunded",),
    "tax": ("Tax",),
    "status": ("Status",),
}

_SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "subscription_id": ("id",),
    "customer_id": ("Customer ID", "Customer"),
    "customer_email": ("Customer Email",),
    "customer_name": ("Customer Name",),
    "plan": ("Plan", "Plan Name", "Product", "Price ID", "Plan ID"),
    "started_at": ("Start (UTC)", "Start Date (UTC)", "Created (UTC)"),
    "trial_ends_at": ("Trial End (UTC)",),
    "canceled_at": ("Canceled At (UTC)",),
    "ended_at": ("Ended At (UTC)",),
    "status": ("Status",),
    "cancellation_reason": ("Cancellation Reason",),
    "currency": ("Currency",),
    "billing_interval": ("Interval",),
}

_CUSTOMERS: dict[str, tuple[str, ...]] = {
    "customer_id": ("id", "Customer ID"),
    "email": ("Email",),
    "name": ("Name", "Description"),
    "created_at": ("Created (UTC)", "Created date (UTC)", "Created"),
    "country": ("Address Country", "Card Address Country", "Card Issue Country"),
    "region": ("Address State", "Card Address State"),
    "city": ("Address City", "Card Address City"),
    "phone": ("Phone",),
}

# Payment statuses that moved no money: failed charges and PaymentIntents that never
# completed. They are kept (failed payments matter to dunning) but never need an
# exchange rate and never count as sales.
_NO_MONEY = (
    "failed",
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "canceled",
    "cancelled",
    "incomplete",
    "blocked",
    "expired",
)
_PAYMENT_STATUS = f"""CASE
    WHEN lower(status) IN ({", ".join(f"'{v}'" for v in _NO_MONEY)}) THEN 'failed'
    WHEN lower(status) IN ('requires_capture', 'uncaptured', 'processing', 'pending')
         THEN 'pending'
    WHEN lower(status) IN ('succeeded', 'paid') THEN 'paid'
    ELSE lower(status) END"""

# Monthly equivalent of one billing interval (ChartMogul/Stripe: annual ÷ 12).
_MONTHLY = """CASE lower(billing_interval)
    WHEN 'month' THEN 1.0 WHEN 'year' THEN 1.0 / 12 WHEN 'week' THEN 52.0 / 12
    WHEN 'day' THEN 365.25 / 12 ELSE 1.0 END"""


def is_customers_export(raw: RawFile) -> bool:
    """Stripe's Customers › Export: one row per customer, no payment amount."""
    return (
        has(raw, "id", "Email")
        and not has(raw, "Amount")
        and any(has(raw, h) for h in ("Delinquent", "Total Spend", "Payment Count", "Balance"))
    )


def _payment_id(raw: RawFile) -> tuple[dict[str, tuple[str, str]], str, list[str]]:
    """Extra fields and the SQL giving each payment row its id, and what it used.

    The unified payments export lists charges (``ch_``/``py_`` ids) and also
    PaymentIntents without a charge, whose ``id`` is empty; their own id, when the
    export has one, is in ``PaymentIntent ID``. A row with neither gets a stable id
    from its customer, time and amount.
    """
    extra: dict[str, tuple[str, str]] = {}
    ids = ["order_id"]  # the charge id, from the export's id column
    intent = find(raw, "PaymentIntent ID", "Payment Intent ID", "payment_intent")
    if intent:
        extra["_intent"] = (intent, "text")
        ids.append("_intent")
    derived = transaction_id_sql("S", ("customer_id", "ordered_at", "total"))
    return extra, f"coalesce({', '.join(ids)}, {derived})", ids


class StripeSource(HeaderSource):
    name = "stripe"
    help = "Stripe payments, subscriptions or customers export (detected from the headers)"

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        utc = "UTC"
        if is_customers_export(raw):
            return [self._customers(raw, options)]
        if has(raw, "id") and (
            has(raw, "Current Period End (UTC)")
            or has(raw, "Interval")
            or has(raw, "Ended At (UTC)")
        ):
            columns = find_all(raw, _SUBSCRIPTIONS)
            require(
                raw,
                columns,
                ("subscription_id", "customer_id", "started_at"),
                "a Stripe subscriptions export",
            )
            amount = find(raw, "Amount", "Plan Amount", "Price")
            if amount is None:
                raise MappingError(f"{raw.path.name}: no Amount column to compute MRR from")
            extra = {"_amount": (amount, "money")}
            quantity = find(raw, "Quantity")
            count = find(raw, "Interval Count")
            mrr = f"_amount * {_MONTHLY if 'billing_interval' in columns else '1.0'}"
            if quantity:
                extra["_quantity"] = (quantity, "float")
                mrr += " * coalesce(_quantity, 1)"
            if count:
                extra["_interval_count"] = (count, "float")
                mrr += " / coalesce(nullif(_interval_count, 0), 1)"
            zones = {f: utc for f in ("started_at", "trial_ends_at", "canceled_at", "ended_at")}
            return [
                FilePlan(
                    target="subscriptions",
                    columns=columns,
                    extra=extra,
                    derive={
                        "mrr": f"CAST(round({mrr}, 4) AS DECIMAL(18, 4))",
                        "status": "lower(status)",
                    },
                    time_zones=zones,
                    date_format=options.date_format,
                    decimal=options.decimal,
                    label="subscriptions",
                )
            ]
        columns = find_all(raw, _PAYMENTS)
        require(
            raw,
            columns,
            ("order_id", "ordered_at", "total"),
            "a Stripe payments or subscriptions export",
        )
        extra, order_id, _ = _payment_id(raw)
        derive = {"order_id": order_id}
        notes: list[str] = []
        row_filter = None
        if "status" in columns:
            derive["status"] = _PAYMENT_STATUS
        twin = self._intent_twins(raw, columns, ws)
        if twin is not None:
            row_filter, twins = twin
            if twins:
                notes.append(
                    f"{twins} PaymentIntent row(s) without a charge id repeat a charge of the "
                    "same customer and amount made minutes apart; counted once, as the charge"
                )
        converted = find(raw, "Converted Amount")
        converted_currency = find(raw, "Converted Currency")
        if converted and converted_currency:
            # Stripe already converted the amount to the account's currency; use it
            # when that is the reporting currency.
            extra["_conv_amount"] = (converted, "money")
            extra["_conv_currency"] = (converted_currency, "text")
            refunded = find(raw, "Converted Amount Refunded")
            done = (
                f"(_conv_amount IS NOT NULL AND upper(_conv_currency) = "
                f"{sql_literal(ws.reporting_currency)})"
            )
            derive["_converted"] = done
            derive["total_original"] = "total"
            derive["total"] = f"CASE WHEN {done} THEN _conv_amount ELSE total END"
            if refunded:
                extra["_conv_refunded"] = (refunded, "money")
                derive["refunded"] = f"CASE WHEN {done} THEN _conv_refunded ELSE refunded END"
        return [
            FilePlan(
                target="orders",
                columns=columns,
                constants={"channel": "stripe"},
                extra=extra,
                derive=derive,
                time_zones={"ordered_at": utc},
                row_filter=row_filter,
                date_format=options.date_format,
                decimal=options.decimal,
                label="payments",
                notes=tuple(notes),
            )
        ]

    @staticmethod
    def _intent_twins(
        raw: RawFile, columns: dict[str, str], ws: Workspace
    ) -> tuple[str, int] | None:
        """A row filter dropping id-less PaymentIntent rows that repeat a charge, and their count.

        A succeeded PaymentIntent and the charge it made are two rows of the unified
        export, seconds apart, with the same customer and amount; only the charge has
        an id. Counting both would double the payment.
        """
        needed = ("order_id", "customer_id", "total", "ordered_at")
        if not all(f in columns for f in needed):
            return None
        rel = raw.relation
        oid, cust, amount, created = (quote_ident(columns[f]) for f in needed)
        twin = (
            f"sg_text({rel}.{oid}) IS NULL AND EXISTS (SELECT 1 FROM {rel} AS c "
            f"WHERE sg_text(c.{oid}) IS NOT NULL AND c.{cust} = {rel}.{cust} "
            f"AND c.{amount} = {rel}.{amount} "
            f"AND abs(epoch(TRY_CAST(sg_text(c.{created}) AS TIMESTAMP)) - "
            f"epoch(TRY_CAST(sg_text({rel}.{created}) AS TIMESTAMP))) <= 600)"
        )
        keep = f"NOT coalesce({twin}, false)"
        found = ws.duck.execute(f"SELECT count(*) FROM {rel} WHERE NOT ({keep})").fetchone()
        return keep, int(found[0]) if found else 0

    def _customers(self, raw: RawFile, options: ImportOptions) -> FilePlan:
        columns = find_all(raw, _CUSTOMERS)
        require(raw, columns, ("customer_id",), "a Stripe customers export")
        extra: dict[str, tuple[str, str]] = {}
        derive: dict[str, str] = {}
        description = find(raw, "Description")
        if description and columns.get("name") != description:
            # Stripe keeps a business's name in Description when Name is empty.
            extra["_description"] = (description, "text")
            derive["name"] = "coalesce(name, _description)" if "name" in columns else "_description"
        return FilePlan(
            target="customers",
            columns=columns,
            extra=extra,
            derive=derive,
            time_zones={"created_at": "UTC"},
            date_format=options.date_format,
            decimal=options.decimal,
            label="customers",
        )
