"""Stripe: the payments export and the subscriptions export (told apart by their headers)."""

from __future__ import annotations

from smbgrowth.data.parsing import sql_literal
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.sources.base import HeaderSource, find, find_all, has, require
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

# Monthly equivalent of one billing interval (ChartMogul/Stripe: annual ÷ 12).
_MONTHLY = """CASE lower(billing_interval)
    WHEN 'month' THEN 1.0 WHEN 'year' THEN 1.0 / 12 WHEN 'week' THEN 52.0 / 12
    WHEN 'day' THEN 365.25 / 12 ELSE 1.0 END"""


class StripeSource(HeaderSource):
    name = "stripe"
    help = "Stripe payments export or subscriptions export (detected from the headers)"

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        utc = "UTC"
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
                        "mrr": f"CAST(round({mrr}, 2) AS DECIMAL(18, 2))",
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
        extra = {}
        derive = {}
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
                date_format=options.date_format,
                decimal=options.decimal,
                label="payments",
            )
        ]
