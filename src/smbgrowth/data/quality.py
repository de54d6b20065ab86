"""What is in a workspace and what looks wrong in it (``smbgrowth status``).

Checks are Ibis expressions over the canonical tables, so they run wherever the
workspace lives. Each warning says what is wrong, how many rows, and what it
will distort, so the owner knows whether to fix the export or ignore it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from smbgrowth.data.schema import CANONICAL_TABLES
from smbgrowth.data.workspace import Workspace

__all__ = ["DATE_COLUMNS", "QualityWarning", "TableStatus", "WorkspaceStatus", "workspace_status"]

#: The column that places each table's rows in time.
DATE_COLUMNS: dict[str, str] = {
    "customers": "created_at",
    "orders": "ordered_at",
    "subscriptions": "started_at",
    "marketing_spend": "date",
    "web_events": "occurred_at",
    "deals": "created_at",
    "deal_stages": "entered_at",
    "invoices": "issued_at",
    "expenses": "incurred_at",
    "tickets": "opened_at",
    "experiments": "assigned_at",
    "fx_rates": "date",
}


@dataclass(frozen=True)
class TableStatus:
    """Row count, time span and sources of one table."""

    table: str
    rows: int
    first: str | None
    last: str | None
    sources: list[str]


@dataclass(frozen=True)
class QualityWarning:
    """One data-quality finding."""

    table: str
    check: str
    rows: int
    message: str


@dataclass
class WorkspaceStatus:
    """Everything ``smbgrowth status`` shows."""

    path: str
    schema_version: int
    reporting_currency: str
    time_zone: str
    tables: list[TableStatus]
    warnings: list[QualityWarning] = field(default_factory=list)
    imports: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with stable keys."""
        return asdict(self)


def _count(expr: ir.Table) -> int:
    return int(expr.count().execute())


def _shared_emails(customers: ir.Table) -> int:
    with_email = customers.filter(customers.email.notnull())
    per_email = with_email.group_by("email").aggregate(n=with_email.count())
    return int(per_email.filter(per_email.n > 1).n.sum().fill_null(0).execute())


def _before_tax(o: ir.Table) -> ir.NumericValue:
    """Subtotal − discount + shipping: an order's total when its prices include tax."""
    return o.subtotal - o.discount.fill_null(0) + o.shipping.fill_null(0)


def _checks(ws: Workspace, now: datetime) -> list[tuple[str, str, Callable[[], int], str]]:
    """(table, check id, row counter, message template with {n}) for every check."""
    c, o, ol = ws.customers, ws.orders, ws.order_lines
    inv, sub, tk, ms = ws.invoices, ws.subscriptions, ws.tickets, ws.marketing_spend
    soon = ibis.literal(now + timedelta(days=1))
    return [
        (
            "orders",
            "unknown_customer",
            lambda: _count(o.filter(o.customer_id.notnull() & ~o.customer_id.isin(c.customer_id))),
            "{n} order(s) name a customer that is not in customers; import the customer list "
            "or the orders export with e-mails",
        ),
        (
            "orders",
            "no_customer",
            lambda: _count(o.filter(o.customer_id.isnull())),
            "{n} order(s) have no customer (guest checkouts without e-mail); they count in "
            "revenue but not in retention or CLV",
        ),
        (
            "order_lines",
            "orphan_line",
            lambda: _count(ol.filter(~ol.order_id.isin(o.order_id))),
            "{n} order line(s) belong to no order",
        ),
        (
            "orders",
            "total_mismatch",
            lambda: _count(
                o.filter(
                    o.subtotal.notnull()
                    & ((_before_tax(o) + o.tax.fill_null(0) - o.total).abs() > 0.01)
                    # Prices that include tax (most of the world outside the US): the
                    # tax is already inside the subtotal.
                    & ((_before_tax(o) - o.total).abs() > 0.01)
                    & o.discount.notnull()
                    & o.shipping.notnull()
                    & o.tax.notnull()
                )
            ),
            "{n} order(s) whose total is neither subtotal − discount + shipping + tax nor, "
            "with prices including tax, subtotal − discount + shipping",
        ),
        (
            "orders",
            "negative_total",
            lambda: _count(o.filter(o.total < 0)),
            "{n} order(s) with a negative total (refunds exported as orders?)",
        ),
        (
            "orders",
            "future_date",
            lambda: _count(o.filter(o.ordered_at > soon)),
            "{n} order(s) dated in the future; check the date format of the export",
        ),
        (
            "customers",
            "bad_email",
            lambda: _count(c.filter(c.email.notnull() & ~c.email.contains("@"))),
            "{n} customer e-mail(s) without '@'; e-mail automations will skip them",
        ),
        (
            "customers",
            "duplicate_email",
            lambda: _shared_emails(c),
            "{n} customer record(s) share an e-mail with another record (the same person "
            "under two ids, e.g. from two systems)",
        ),
        (
            "invoices",
            "paid_before_issued",
            lambda: _count(inv.filter(inv.paid_at < inv.issued_at)),
            "{n} invoice(s) paid before they were issued",
        ),
        (
            "invoices",
            "due_before_issued",
            lambda: _count(inv.filter(inv.due_at < inv.issued_at)),
            "{n} invoice(s) due before they were issued",
        ),
        (
            "subscriptions",
            "ended_before_start",
            lambda: _count(sub.filter(sub.ended_at < sub.started_at)),
            "{n} subscription(s) end before they start",
        ),
        (
            "tickets",
            "resolved_before_opened",
            lambda: _count(tk.filter(tk.resolved_at < tk.opened_at)),
            "{n} ticket(s) resolved before they were opened",
        ),
        (
            "marketing_spend",
            "negative_spend",
            lambda: _count(ms.filter(ms.spend < 0)),
            "{n} marketing spend row(s) with negative spend",
        ),
    ]


def _missing_tables(counts: dict[str, int]) -> list[QualityWarning]:
    needs = {
        "orders": "revenue, repeat purchase, cohorts and CLV",
        "marketing_spend": "CAC, ROAS and payback by channel",
        "tickets": "support response and resolution times",
        "invoices": "DSO, overdue invoices and cash forecasts",
        "expenses": "burn, runway and cash forecasts",
    }
    return [
        QualityWarning(t, "empty_table", 0, f"no {t} yet: {why} cannot be computed")
        for t, why in needs.items()
        if counts.get(t, 0) == 0
    ]


def workspace_status(ws: Workspace, *, now: datetime | None = None) -> WorkspaceStatus:
    """Return row counts, date ranges, sources and data-quality warnings of a workspace."""
    now = now or datetime.now(UTC)
    tables: list[TableStatus] = []
    counts: dict[str, int] = {}
    for name in CANONICAL_TABLES:
        t = ws.table(name)
        rows = ws.row_count(name)
        counts[name] = rows
        first = last = None
        if rows and name in DATE_COLUMNS:
            col = t[DATE_COLUMNS[name]]
            lo, hi = t.aggregate(lo=col.min(), hi=col.max()).execute().iloc[0]
            first = None if lo is None else str(lo)[:10]
            last = None if hi is None else str(hi)[:10]
        sources = (
            sorted(str(s) for s in t.select("source").distinct().execute()["source"])
            if rows
            else []
        )
        tables.append(TableStatus(name, rows, first, last, sources))
    warnings = _missing_tables(counts)
    for table, check, counter, message in _checks(ws, now):
        if counts.get(table, 0) == 0:
            continue
        n = counter()
        if n:
            warnings.append(QualityWarning(table, check, n, message.format(n=n)))
    return WorkspaceStatus(
        path=str(ws.path),
        schema_version=ws.schema_version,
        reporting_currency=ws.reporting_currency,
        time_zone=ws.time_zone,
        tables=tables,
        warnings=warnings,
        imports=len(ws.imports()),
    )
