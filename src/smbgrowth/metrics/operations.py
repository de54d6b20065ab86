"""Operations: can the business deliver as volume grows?

Support speed (first response, resolution), the ticket backlog, ticket load per
order, fulfilment time and inventory (turns, days of inventory).

Stock-type metrics (the backlog, stock on hand) need a calendar of periods.
:func:`period_calendar` builds it in Ibis from a range of local days between
two bounds, so every period between them appears even when nothing happened in
it, and gives each period its first and last day *clipped to the bounds* and
its number of days.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from smbgrowth.metrics.base import Metric, Option, Query, period_label
from smbgrowth.metrics.common import (
    CUSTOMER_DIMENSIONS,
    aggregate,
    orders_with_dims,
    revenue_orders,
    with_customer_dims,
)

__all__ = ["METRICS", "cogs_lines", "count_ratio", "period_calendar", "stock_at_cost"]

_DAY = ibis.interval(days=1)
_HOURS = 3600.0
_DAYS = 86400.0


def _bounded(q: Query, bounds: ir.Table) -> ir.Table:
    """Replace the data bounds ``lo``/``hi`` by the query window where it is set."""
    if q.start is not None:
        bounds = bounds.mutate(lo=ibis.literal(q.start))
    if q.end is not None:
        bounds = bounds.mutate(hi=ibis.literal(q.end))
    return bounds


def period_calendar(q: Query, bounds: ir.Table) -> ir.Table:
    """Every period between two local days, with its clipped first and last day.

    ``bounds`` is a one-row table with date columns ``lo`` and ``hi`` (the
    query window replaces either when set). The result has ``period`` (absent
    for grain ``total``), ``period_start`` and ``period_end`` (the period's
    first and last day, clipped to ``[lo, hi]``) and ``days`` (days from
    ``period_start`` to ``period_end`` inclusive).
    """
    b = _bounded(q, bounds)
    if q.grain == "total":
        return b.select(
            period_start=b.lo,
            period_end=b.hi,
            days=b.hi.delta(b.lo, unit="day") + 1,
        )
    # Start a week before the first year and end a week after the last so that
    # weeks straddling a new year are complete before clipping.
    first = b.lo.truncate("Y").cast("timestamp") - ibis.interval(days=7)
    last = b.hi.truncate("Y").cast("timestamp") + ibis.interval(years=1, days=7)
    days = b.select(b.lo, b.hi, day=ibis.range(first, last, _DAY).unnest())
    days = days.mutate(day=days.day.cast("date"))
    days = days.filter((days.day >= days.lo) & (days.day <= days.hi))
    cal = days.mutate(period=period_label(days.day, q.grain))
    cal = cal.group_by("period").aggregate(period_start=cal.day.min(), period_end=cal.day.max())
    return cal.mutate(days=cal.period_end.delta(cal.period_start, unit="day") + 1)


def count_ratio(q: Query, numerator: ir.Table, denominator: ir.Table) -> ir.Table:
    """Like :func:`~smbgrowth.metrics.common.ratio`, but a missing numerator is 0.

    For numerators that are counts or sums: a period with orders but no tickets
    has 0 tickets per order, not no value. No value when the denominator is
    missing or 0.
    """
    num = numerator.rename(num="value")
    den = denominator.rename(den="value")
    if not q.keys:
        joined = num.cross_join(den)
    else:
        joined = num.right_join(den, q.keys)
        joined = joined.mutate(**{k: joined[f"{k}_right"] for k in q.keys})
        joined = joined.drop(*[f"{k}_right" for k in q.keys])
    value = joined.num.fill_null(0).cast("float64") / joined.den.cast("float64").nullif(0)
    return joined.select(*q.keys, value=value)


def _local_day(q: Query, when: ir.Value) -> ir.DateValue:
    day: ir.DateValue = q.local(when).date()
    return day


# -- tickets ---------------------------------------------------------------------------


def _tickets(q: Query) -> ir.Table:
    return with_customer_dims(q, q.ws.tickets)


def _hours_metric(column: str, quantile: float) -> Callable[[Query], ir.Table]:
    def compute(q: Query) -> ir.Table:
        t = _tickets(q)
        t = t.filter(t[column].notnull())
        t = t.mutate(_h=(t[column].epoch_seconds() - t.opened_at.epoch_seconds()) / _HOURS)
        t = t.filter(t._h >= 0)
        return aggregate(q, t, "opened_at", lambda g: g._h.quantile(quantile))

    return compute


def _ticket_backlog(q: Query) -> ir.Table:
    t = _tickets(q)
    t = t.mutate(_opened=_local_day(q, t.opened_at), _resolved=_local_day(q, t.resolved_at))
    last = ibis.greatest(t._opened, t._resolved.fill_null(t._opened))
    cal = period_calendar(q, t.aggregate(lo=t._opened.min(), hi=last.max()))
    open_then = (t._opened <= cal.period_end) & (
        t._resolved.isnull() | (t._resolved > cal.period_end)
    )
    joined = cal.join(t, open_then)
    if not q.keys:
        return joined.aggregate(value=joined.count())
    counts = joined.group_by(q.keys).aggregate(value=joined.count())
    if q.by:
        return counts
    # Every calendar period gets a row, so a backlog of 0 shows as 0.
    full = cal.select("period").left_join(counts, "period")
    return full.select(period=full.period, value=full.value.fill_null(0))


def _tickets_per_100_orders(q: Query) -> ir.Table:
    tickets = aggregate(q, _tickets(q), "opened_at", lambda g: g.count())
    orders = aggregate(q, orders_with_dims(q), "ordered_at", lambda g: g.count(), window=False)
    per_order = count_ratio(q, tickets, orders)
    return per_order.mutate(value=per_order.value * 100)


# -- fulfilment ------------------------------------------------------------------------


def _fulfilment_days_median(q: Query) -> ir.Table:
    o = orders_with_dims(q)
    o = o.filter(o.fulfilled_at.notnull())
    o = o.mutate(_d=(o.fulfilled_at.epoch_seconds() - o.ordered_at.epoch_seconds()) / _DAYS)
    o = o.filter(o._d >= 0)
    return aggregate(q, o, "ordered_at", lambda g: g._d.median(), window=False)


# -- inventory -------------------------------------------------------------------------


def cogs_lines(q: Query) -> ir.Table:
    """Lines of sold orders in the window with ``ordered_at``, ``revenue`` and ``cost``.

    ``cost`` is quantity × unit cost, taking the line's ``unit_cost`` and falling
    back to the product's ``unit_cost`` by SKU; null when neither is known.
    ``revenue`` is the line's ``line_total`` (after line discount), or quantity ×
    unit price − line discount when the export has no line total. Product
    ``category`` comes from the line, else from the product. Customer
    dimensions asked for by ``q.by`` are attached.
    """
    o = revenue_orders(q)
    o = o.filter(q.in_window(o.ordered_at))
    o = o.select(
        _oid=o.order_id, ordered_at=o.ordered_at, customer_id=o.customer_id, _status=o.status
    )
    lines = q.ws.order_lines
    p = q.ws.products
    p = p.select(_sku=p.sku, _pcost=p.unit_cost, _pcat=p.category)
    j = lines.join(o, lines.order_id == o._oid).left_join(p, lines.sku == p._sku)
    qty = j.quantity.fill_null(1)
    cost = qty * ibis.coalesce(j.unit_cost, j._pcost)
    revenue = ibis.coalesce(j.line_total, qty * j.unit_price - j.discount.fill_null(0))
    out = j.select(
        "ordered_at",
        "customer_id",
        status=j._status,
        category=ibis.coalesce(j.product_category, j._pcat).fill_null("(none)"),
        revenue=revenue.cast("float64"),
        cost=cost.cast("float64"),
    )
    return with_customer_dims(q, out)


def stock_at_cost(q: Query) -> ir.Table:
    """One-row table ``stock``: Σ positive stock_on_hand × unit_cost over products, now."""
    p = q.ws.products
    units = ibis.greatest(p.stock_on_hand.fill_null(0), 0)
    value = (units * p.unit_cost.fill_null(0)).cast("float64")
    return p.aggregate(stock=value.sum().fill_null(0))


def _cogs_per_period(q: Query) -> ir.Table:
    """COGS per period joined with the period's number of days (``cogs``, ``days``)."""
    lines = cogs_lines(q)
    cogs = aggregate(q, lines, "ordered_at", lambda g: g.cost.sum().fill_null(0), window=False)
    day = _local_day(q, lines.ordered_at)
    cal = period_calendar(q, lines.aggregate(lo=day.min(), hi=day.max()))
    cal = cal.select("period", "days") if q.grain != "total" else cal.select("days")
    cogs = cogs.rename(cogs="value")
    if q.grain == "total":
        return cogs.cross_join(cal)
    return cogs.join(cal, "period")


def _inventory_turns(q: Query) -> ir.Table:
    c = _cogs_per_period(q).cross_join(stock_at_cost(q))
    turns = c.cogs / c.stock.nullif(0)
    if q.option("annualise", "no") == "yes":
        turns = turns * 365.0 / c.days.cast("float64")
    return c.select(*q.keys, value=turns)


def _days_of_inventory(q: Query) -> ir.Table:
    c = _cogs_per_period(q).cross_join(stock_at_cost(q))
    daily = c.cogs / c.days.cast("float64")
    return c.select(*q.keys, value=c.stock / daily.nullif(0))


_TICKET_DIMS = tuple(CUSTOMER_DIMENSIONS)

METRICS: tuple[Metric, ...] = (
    Metric(
        "first_response_hours_median",
        "First response time (median)",
        "operations",
        "hours",
        "median of first_response_at − opened_at over tickets opened in the period",
        "tickets without a first response, or answered before opening, are left out",
        _hours_metric("first_response_at", 0.5),
        dimensions=_TICKET_DIMS,
        additive=False,
        higher_is_better=False,
        needs=("tickets.first_response_at",),
    ),
    Metric(
        "first_response_hours_p90",
        "First response time (90th percentile)",
        "operations",
        "hours",
        "90th percentile of first_response_at − opened_at over tickets opened in the period",
        "continuous (interpolated) percentile; unanswered tickets are left out",
        _hours_metric("first_response_at", 0.9),
        dimensions=_TICKET_DIMS,
        additive=False,
        higher_is_better=False,
        needs=("tickets.first_response_at",),
    ),
    Metric(
        "resolution_hours_median",
        "Resolution time (median)",
        "operations",
        "hours",
        "median of resolved_at − opened_at over tickets opened in the period",
        "only resolved tickets count, so recent periods look faster until all are solved",
        _hours_metric("resolved_at", 0.5),
        dimensions=_TICKET_DIMS,
        additive=False,
        higher_is_better=False,
        needs=("tickets.resolved_at",),
    ),
    Metric(
        "resolution_hours_p90",
        "Resolution time (90th percentile)",
        "operations",
        "hours",
        "90th percentile of resolved_at − opened_at over tickets opened in the period",
        "continuous (interpolated) percentile; only resolved tickets count",
        _hours_metric("resolved_at", 0.9),
        dimensions=_TICKET_DIMS,
        additive=False,
        higher_is_better=False,
        needs=("tickets.resolved_at",),
    ),
    Metric(
        "ticket_backlog",
        "Ticket backlog",
        "operations",
        "tickets",
        "tickets opened on or before the last day of the period and not resolved by then",
        "a stock at period end (local days); the last day is clipped to the window end, or "
        "without one to the last day a ticket was opened or resolved; grain total = "
        "backlog at that day. Periods come from a day calendar, so quiet periods appear too",
        _ticket_backlog,
        dimensions=_TICKET_DIMS,
        higher_is_better=False,
        needs=("tickets",),
    ),
    Metric(
        "tickets_per_100_orders",
        "Tickets per 100 orders",
        "operations",
        "tickets per 100 orders",
        "tickets opened in the period ÷ sold orders placed in the period × 100",
        "sold = completed, partially refunded or refunded orders",
        _tickets_per_100_orders,
        dimensions=_TICKET_DIMS,
        additive=False,
        higher_is_better=False,
        needs=("tickets", "orders"),
    ),
    Metric(
        "fulfilment_days_median",
        "Fulfilment time (median)",
        "operations",
        "days",
        "median of fulfilled_at − ordered_at over sold orders placed in the period",
        "orders not yet fulfilled are left out; fractional days",
        _fulfilment_days_median,
        dimensions=_TICKET_DIMS,
        additive=False,
        higher_is_better=False,
        needs=("orders.fulfilled_at",),
    ),
    Metric(
        "inventory_turns",
        "Inventory turns",
        "operations",
        "turns",
        "COGS of the period ÷ stock on hand at cost "
        "(Σ products.stock_on_hand × products.unit_cost)",
        "COGS = Σ quantity × unit cost (line cost, else the product's) of sold orders; stock is "
        "only known now, so current stock stands in for average inventory; not annualised "
        "unless annualise=yes (× 365 ÷ days in the period, clipped to the window or data)",
        _inventory_turns,
        additive=False,
        options=(
            Option(
                "annualise",
                "no",
                ("no", "yes"),
                "yes scales the period's turns to a 365-day year",
            ),
        ),
        needs=("order_lines", "products.stock_on_hand", "products.unit_cost"),
    ),
    Metric(
        "days_of_inventory",
        "Days of inventory",
        "operations",
        "days",
        "stock on hand at cost ÷ (COGS of the period ÷ days in the period)",
        "current stock stands in for the stock of every period; days are clipped to the window "
        "or to the first and last sold order",
        _days_of_inventory,
        additive=False,
        higher_is_better=False,
        needs=("order_lines", "products.stock_on_hand", "products.unit_cost"),
    ),
)
