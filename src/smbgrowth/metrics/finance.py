"""Finance: can the business afford its growth?

Revenue (gross, net, orders, AOV, growth, CAGR), gross margin, operating
expenses and burn, and receivables (DSO, overdue amount, late payment).

Revenue conventions: an order counts as sold when its status is completed,
partially refunded or refunded. ``orders.total`` is already net of the order
discount (total = subtotal − discount + shipping + tax) and includes shipping
and tax; the ``basis`` option takes tax, or tax and shipping, out. Net revenue
subtracts ``refunded`` and nothing else.

Receivables conventions: void and draft invoices are ignored. An invoice is
outstanding at the end of a day when it was issued on or before that day and
not fully paid by then (``paid_at`` null or later). What is outstanding is the
whole ``amount`` when it was fully paid later, and ``amount − paid_amount``
when it is still unpaid now (partial payments carry no date, so they are taken
as received by then).

Two answers that are not per-period series are plain functions:
:func:`cash_runway_months` (it needs an opening cash balance) and
:func:`ar_ageing` (a table of ageing buckets).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MetricError
from smbgrowth.metrics.base import Metric, Option, Query, period_label, window_periods
from smbgrowth.metrics.common import (
    CUSTOMER_DIMENSIONS,
    aggregate,
    orders_with_dims,
    ratio,
    revenue_orders,
    with_customer_dims,
)
from smbgrowth.metrics.operations import cogs_lines, count_ratio, period_calendar

__all__ = ["AGEING_BUCKETS", "METRICS", "ar_ageing", "cash_runway_months"]

#: AR ageing buckets, by days past due (inclusive bounds; ``None`` = open-ended).
AGEING_BUCKETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("current", None, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)

_DIMS = tuple(CUSTOMER_DIMENSIONS)
_IGNORED_INVOICES = ("void", "draft")

_BASIS = Option(
    "basis",
    "total",
    ("total", "excl_tax", "excl_tax_shipping"),
    "total = amount charged incl. shipping and tax; excl_tax takes tax out; "
    "excl_tax_shipping takes tax and shipping out",
)


# -- revenue ---------------------------------------------------------------------------


def _gross(q: Query, o: ir.Table) -> ir.NumericValue:
    """Gross amount of each order under the ``basis`` option."""
    basis = q.option("basis", "total")
    amount: ir.NumericValue = o.total
    if basis in ("excl_tax", "excl_tax_shipping"):
        amount = amount - o.tax.fill_null(0)
    if basis == "excl_tax_shipping":
        amount = amount - o.shipping.fill_null(0)
    return amount


def _net(q: Query, o: ir.Table) -> ir.NumericValue:
    return _gross(q, o) - o.refunded.fill_null(0)


def _revenue_gross(q: Query) -> ir.Table:
    o = orders_with_dims(q)
    o = o.mutate(_v=_gross(q, o))
    return aggregate(q, o, "ordered_at", lambda g: g._v.sum(), window=False)


def _net_revenue(q: Query) -> ir.Table:
    o = orders_with_dims(q)
    o = o.mutate(_v=_net(q, o))
    return aggregate(q, o, "ordered_at", lambda g: g._v.sum(), window=False)


def _orders(q: Query) -> ir.Table:
    return aggregate(q, orders_with_dims(q), "ordered_at", lambda g: g.count(), window=False)


def _aov(q: Query) -> ir.Table:
    return ratio(q, _net_revenue(q), _orders(q))


def _gross_margin(q: Query) -> ir.Table:
    lines = cogs_lines(q)
    # Fully refunded orders drop out (goods assumed back); lines without a cost are
    # left out so that unknown costs do not read as 100 % margin.
    lines = lines.filter((lines.status != "refunded") & lines.cost.notnull())

    def margin(g: ir.Table) -> ir.Value:
        revenue = g.revenue.sum()
        return (revenue - g.cost.sum()) / revenue.nullif(0)

    return aggregate(q, lines, "ordered_at", margin, window=False)


def _window_labels(q: Query, table: ir.Table) -> ir.Table:
    """Keep rows whose period label lies in the window's periods."""
    if q.start is not None:
        table = table.filter(table.period >= window_periods(q.start, q.start, q.grain)[0])
    if q.end is not None:
        table = table.filter(table.period <= window_periods(q.end, q.end, q.grain)[1])
    return table


def _growth(months: int) -> Any:
    def compute(q: Query) -> ir.Table:
        o = with_customer_dims(q, revenue_orders(q))
        o = o.mutate(_v=_net(q, o), period=q.period(o.ordered_at))
        # The same orders, labelled with the period `months` later: their sum is
        # the comparison base of that later period.
        later = q.local(o.ordered_at) + ibis.interval(months=months)
        o = o.mutate(_base_period=period_label(later, q.grain))
        keys = q.keys
        other = [k for k in keys if k != "period"]
        cur = o.group_by(keys).aggregate(num=o._v.sum())
        base = o.group_by(["_base_period", *other]).aggregate(den=o._v.sum())
        base = base.rename(period="_base_period")
        last = cur.period.max().as_scalar()
        joined = cur.outer_join(base, keys)
        merged = {k: ibis.coalesce(joined[k], joined[f"{k}_right"]) for k in keys}
        joined = joined.mutate(**merged).drop(*[f"{k}_right" for k in keys])
        value = joined.num.fill_null(0).cast("float64") / joined.den.cast("float64").nullif(0) - 1
        out = joined.select(*keys, value=value)
        return _window_labels(q, out.filter(out.period <= last))

    return compute


def _revenue_cagr(q: Query) -> ir.Table:
    o = revenue_orders(q)
    o = o.mutate(_v=_net(q, o), _day=q.local(o.ordered_at).date())
    bounds = o.aggregate(lo=o._day.min(), hi=o._day.max())
    if q.start is not None:
        bounds = bounds.mutate(lo=ibis.literal(q.start))
    if q.end is not None:
        bounds = bounds.mutate(hi=ibis.literal(q.end))
    starts_year = (bounds.lo.month() == 1) & (bounds.lo.day() == 1)
    ends_year = (bounds.hi.month() == 12) & (bounds.hi.day() == 31)
    bounds = bounds.select(
        fy=bounds.lo.year() + ibis.ifelse(starts_year, 0, 1),
        ly=bounds.hi.year() - ibis.ifelse(ends_year, 0, 1),
    )
    yearly = o.group_by(y=o._day.year()).aggregate(net=o._v.sum().cast("float64"))
    j = bounds.left_join(yearly, (yearly.y == bounds.fy) | (yearly.y == bounds.ly))
    agg = j.aggregate(
        fy=j.fy.max(),
        ly=j.ly.max(),
        first=j.net.max(where=j.y == j.fy),
        last=j.net.max(where=j.y == j.ly),
    )
    last_net = agg["last"].fill_null(0)
    years = (agg.ly - agg.fy).cast("float64")
    ok = (agg.ly > agg.fy) & (agg["first"] > 0) & (last_net >= 0)
    growth = (last_net / agg["first"].nullif(0)) ** (1.0 / years.nullif(0)) - 1
    return agg.select(value=ibis.ifelse(ok, growth, ibis.null("float64")))


# -- costs and burn --------------------------------------------------------------------


def _operating_expenses(q: Query) -> ir.Table:
    e = q.ws.expenses
    if q.by == "category":
        e = e.mutate(category=e.category.fill_null("(none)"))
    return aggregate(q, e, "incurred_at", lambda g: g.amount.sum())


def _burn(q: Query) -> ir.Table:
    costs = _operating_expenses(q).rename(cost="value")
    revenue = _net_revenue(q).rename(rev="value")
    if not q.keys:
        joined = costs.cross_join(revenue)
    else:
        joined = costs.outer_join(revenue, q.keys)
        merged = {k: ibis.coalesce(joined[k], joined[f"{k}_right"]) for k in q.keys}
        joined = joined.mutate(**merged).drop(*[f"{k}_right" for k in q.keys])
    value = joined.cost.fill_null(0) - joined.rev.fill_null(0)
    return joined.select(*q.keys, value=value)


def cash_runway_months(
    ws: Workspace,
    opening_balance: Decimal,
    months: int = 3,
    *,
    as_of: date | None = None,
) -> float | None:
    """Months the cash lasts: ``opening_balance`` ÷ average monthly burn.

    The burn (operating expenses − net revenue, see the ``burn`` metric) is
    averaged over the last ``months`` full calendar months before the month of
    ``as_of`` (default: today in the workspace's time zone); months without
    data count as zero burn. Returns None when that average burn is zero or
    negative — the business is not burning cash and the runway is unlimited.
    Raises MetricError when the workspace has no expenses: without them every
    business would look as if it were not burning cash.
    """
    from smbgrowth.metrics.registry import compute_metric, metric_needs

    if months < 1:
        raise ValueError("months must be at least 1")
    needs = metric_needs(ws, "burn")
    if needs is not None:
        raise MetricError(f"the runway cannot be computed without net burn: import {needs}")
    today = as_of or datetime.now(ZoneInfo(ws.time_zone)).date()
    end = today.replace(day=1) - timedelta(days=1)
    start = (pd.Timestamp(end.replace(day=1)) - pd.DateOffset(months=months - 1)).date()
    burn = compute_metric(ws, "burn", grain="total", start=start, end=end).total() or 0.0
    average = burn / months
    if average <= 0:
        return None
    return float(opening_balance) / average


# -- receivables -----------------------------------------------------------------------


def _invoices(q: Query) -> ir.Table:
    """Invoices that count, with local days ``_issued``, ``_due`` and ``_paid``."""
    i = q.ws.invoices
    i = i.filter(i.status.isnull() | ~i.status.isin(_IGNORED_INVOICES))
    i = with_customer_dims(q, i)
    return i.mutate(
        _issued=q.local(i.issued_at).date(),
        _due=q.local(i.due_at).date(),
        _paid=q.local(i.paid_at).date(),
    )


def _outstanding(i: ir.Table, day: ir.DateValue) -> tuple[ir.BooleanValue, ir.NumericValue]:
    """Whether each invoice is open at the end of ``day``, and the amount open then."""
    is_open = (i._issued <= day) & (i._paid.isnull() | (i._paid > day))
    unpaid_now = i.amount - i.paid_amount.fill_null(0)
    amount = ibis.ifelse(i._paid.isnull(), unpaid_now, i.amount).cast("float64")
    return is_open, amount


def _dso(q: Query) -> ir.Table:
    i = _invoices(q)
    cal = period_calendar(q, i.aggregate(lo=i._issued.min(), hi=i._issued.max()))
    joined = cal.cross_join(i)
    is_open, amount = _outstanding(joined, joined.period_end)
    joined = joined.filter(is_open).mutate(_open=amount)
    if q.keys:
        receivable = joined.group_by(q.keys).aggregate(value=joined._open.sum())
    else:
        receivable = joined.aggregate(value=joined._open.sum())
    invoiced = aggregate(q, i, "issued_at", lambda g: g.amount.sum())
    share = count_ratio(q, receivable, invoiced)
    if q.grain == "total":
        out = share.cross_join(cal.select("days"))
    else:
        out = share.join(cal.select("period", "days"), "period")
    return out.select(*q.keys, value=out.value * out.days.cast("float64"))


def _today(ws: Workspace) -> date:
    return datetime.now(ZoneInfo(ws.time_zone)).date()


def _ar_overdue_amount(q: Query) -> ir.Table:
    as_of = ibis.literal(q.end or _today(q.ws))
    i = _invoices(q)
    is_open, amount = _outstanding(i, as_of)
    i = i.filter(is_open & i._due.notnull() & (i._due < as_of)).mutate(_open=amount)
    if q.by:
        return i.group_by(q.by).aggregate(value=i._open.sum())
    return i.aggregate(value=i._open.sum().fill_null(0))


def _invoices_paid_late_share(q: Query) -> ir.Table:
    i = _invoices(q)
    i = i.filter(i._paid.notnull() & i._due.notnull())
    i = i.mutate(_late=(i._paid > i._due).cast("float64"))
    return aggregate(q, i, "paid_at", lambda g: g._late.mean())


def ar_ageing(ws: Workspace, as_of: date) -> pd.DataFrame:
    """Receivables open at the end of ``as_of``, in ageing buckets by days past due.

    Returns one row per bucket of :data:`AGEING_BUCKETS` (``current`` = not yet
    due or without a due date, then 1–30, 31–60, 61–90 and 90+ days past due),
    with the columns ``bucket``, ``invoices`` (count) and ``amount`` (open amount,
    float), in bucket order; empty buckets have 0.
    """
    q = Query(ws, grain="total")
    i = _invoices(q)
    day = ibis.literal(as_of)
    is_open, amount = _outstanding(i, day)
    i = i.filter(is_open)
    frame = i.select(amount=amount, overdue=day.delta(i._due, unit="day")).execute()
    overdue = frame["overdue"].astype("Float64").fillna(0)
    rows: list[dict[str, Any]] = []
    for name, low, high in AGEING_BUCKETS:
        mask = pd.Series(True, index=frame.index)
        if low is not None:
            mask &= overdue >= low
        if high is not None:
            mask &= overdue <= high
        amounts = frame.loc[mask.to_numpy(dtype=bool), "amount"].astype(float)
        rows.append({"bucket": name, "invoices": len(amounts), "amount": float(amounts.sum())})
    return pd.DataFrame(rows, columns=["bucket", "invoices", "amount"])


METRICS: tuple[Metric, ...] = (
    Metric(
        "revenue_gross",
        "Gross revenue",
        "finance",
        "currency",
        "Σ total of sold orders placed in the period",
        "total is after order discounts and includes shipping and tax (see basis); "
        "refunds not subtracted",
        _revenue_gross,
        dimensions=_DIMS,
        options=(_BASIS,),
        needs=("orders",),
    ),
    Metric(
        "revenue_net",
        "Net revenue",
        "finance",
        "currency",
        "Σ (total − refunded) of sold orders placed in the period",
        "refunds count in the period of the order, not of the refund; discounts are already "
        "out of total; shipping and tax are in unless basis says otherwise",
        _net_revenue,
        dimensions=_DIMS,
        options=(_BASIS,),
        needs=("orders",),
    ),
    Metric(
        "orders",
        "Orders",
        "finance",
        "orders",
        "sold orders placed in the period",
        "sold = completed, partially refunded or refunded; cancelled, pending and failed "
        "orders do not count",
        _orders,
        dimensions=_DIMS,
        needs=("orders",),
    ),
    Metric(
        "aov",
        "Average order value",
        "finance",
        "currency",
        "net revenue ÷ sold orders in the period",
        "net of refunds; a fully refunded order counts as an order worth 0",
        _aov,
        dimensions=_DIMS,
        additive=False,
        options=(_BASIS,),
        needs=("orders",),
    ),
    Metric(
        "gross_margin",
        "Gross margin",
        "finance",
        "ratio",
        "(net line revenue − COGS) ÷ net line revenue over lines of sold orders",
        "line revenue after line discounts; COGS = quantity × unit cost (line, else product); "
        "fully refunded orders and lines without a known cost are left out; order-level "
        "discounts, shipping and tax are not allocated to lines",
        _gross_margin,
        dimensions=("category", *_DIMS),
        additive=False,
        needs=("order_lines.unit_cost|products.unit_cost",),
    ),
    Metric(
        "revenue_growth_mom",
        "Revenue growth, month over month",
        "finance",
        "ratio",
        "net revenue of the month ÷ net revenue of the previous month − 1",
        "whole months are compared even when the window cuts one; no value when the "
        "previous month had no revenue",
        _growth(1),
        grains=("month",),
        dimensions=_DIMS,
        additive=False,
        options=(_BASIS,),
        needs=("orders",),
    ),
    Metric(
        "revenue_growth_yoy",
        "Revenue growth, year over year",
        "finance",
        "ratio",
        "net revenue of the period ÷ net revenue of the same period a year earlier − 1",
        "whole periods are compared even when the window cuts one; no value when the "
        "period a year earlier had no revenue",
        _growth(12),
        grains=("month", "quarter", "year"),
        dimensions=_DIMS,
        additive=False,
        options=(_BASIS,),
        needs=("orders",),
    ),
    Metric(
        "revenue_cagr",
        "Revenue CAGR",
        "finance",
        "ratio",
        "(net revenue of the last full year ÷ that of the first full year) ^ (1 ÷ years "
        "between them) − 1",
        "calendar years in the workspace time zone that lie wholly inside the window (or, "
        "without a bound, between the first and last sold order's day); needs two full years "
        "and positive first-year revenue",
        _revenue_cagr,
        grains=("total",),
        additive=False,
        options=(_BASIS,),
        needs=("orders",),
    ),
    Metric(
        "operating_expenses",
        "Operating expenses",
        "finance",
        "currency",
        "Σ expenses.amount incurred in the period",
        "every recorded expense counts, whatever its category (COGS bills included); "
        "by category = the expense category",
        _operating_expenses,
        dimensions=("category",),
        # Like marketing spend, an amount spent is neither good nor bad by itself:
        # burn and margin judge whether it pays.
        higher_is_better=None,
        needs=("expenses",),
    ),
    Metric(
        "burn",
        "Net burn",
        "finance",
        "currency",
        "operating expenses − net revenue in the period (positive = burning cash)",
        "accrual view: expenses by incurred_at, revenue by ordered_at; not cash timing",
        _burn,
        higher_is_better=False,
        needs=("expenses",),
    ),
    Metric(
        "dso",
        "Days sales outstanding",
        "finance",
        "days",
        "receivables open at the period's last day ÷ amount invoiced in the period × days "
        "in the period",
        "period days are clipped to the window, or to the first and last invoice day; open = "
        "issued by then and not fully paid by then (whole amount if paid later, amount − "
        "paid_amount if still unpaid); void and draft invoices ignored",
        _dso,
        dimensions=_DIMS,
        additive=False,
        higher_is_better=False,
        needs=("invoices",),
    ),
    Metric(
        "ar_overdue_amount",
        "Overdue receivables",
        "finance",
        "currency",
        "open amount of invoices past their due day, as of the window's end (default today)",
        "open as in dso; an invoice is overdue from the day after its due day",
        _ar_overdue_amount,
        grains=("total",),
        dimensions=_DIMS,
        higher_is_better=False,
        needs=("invoices",),
    ),
    Metric(
        "invoices_paid_late_share",
        "Invoices paid late",
        "finance",
        "ratio",
        "invoices paid in the period after their due day ÷ invoices paid in the period",
        "local days compared, so paying on the due day is on time; invoices without a due "
        "date are left out",
        _invoices_paid_late_share,
        dimensions=_DIMS,
        additive=False,
        higher_is_better=False,
        needs=("invoices.paid_at",),
    ),
)
