"""Building blocks shared by metric definitions (all Ibis, backend-neutral)."""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from smbgrowth.metrics.base import Query

__all__ = [
    "CUSTOMER_DIMENSIONS",
    "REVENUE_STATUSES",
    "aggregate",
    "orders_with_dims",
    "ratio",
    "revenue_orders",
    "with_customer_dims",
]

#: Order statuses that were sold (refunds are subtracted where a metric is net).
REVENUE_STATUSES = ("completed", "partially_refunded", "refunded")

#: Dimensions read from the customers table, and the column that holds each.
CUSTOMER_DIMENSIONS = {"segment": "segment", "channel": "acquisition_channel", "country": "country"}


def with_customer_dims(q: Query, table: ir.Table, key: str = "customer_id") -> ir.Table:
    """Add the column ``q.by`` from the customers table when it is a customer dimension.

    Rows without a customer, or whose customer lacks the attribute, get ``(none)``.
    """
    if q.by not in CUSTOMER_DIMENSIONS:
        return table
    c = q.ws.customers
    attrs = c.select(_k=c.customer_id, _d=c[CUSTOMER_DIMENSIONS[q.by]])
    joined = table.left_join(attrs, table[key] == attrs._k)
    return joined.mutate(**{q.by: joined._d.fill_null("(none)")}).drop("_k", "_d")


def revenue_orders(q: Query) -> ir.Table:
    """Orders that count as sales (completed, partially refunded or refunded)."""
    o = q.ws.orders
    return o.filter(o.status.isin(REVENUE_STATUSES))


def orders_with_dims(q: Query) -> ir.Table:
    """Sold orders inside the window, with the requested customer dimension."""
    o = revenue_orders(q)
    return with_customer_dims(q, o.filter(q.in_window(o.ordered_at)))


def aggregate(
    q: Query,
    table: ir.Table,
    when: str,
    value: Callable[[ir.Table], ir.Value],
    *,
    window: bool = True,
) -> ir.Table:
    """Group ``table`` by period of column ``when`` (and ``q.by``) and aggregate ``value``.

    ``value`` receives the grouped table and returns a reduction, e.g.
    ``lambda t: t.total.sum()``.
    """
    if window:
        table = table.filter(q.in_window(table[when]))
    if q.grain != "total":
        table = table.mutate(period=q.period(table[when]))
    if q.keys:
        return table.group_by(q.keys).aggregate(value=value)
    return table.aggregate(value=value)


def ratio(q: Query, numerator: ir.Table, denominator: ir.Table) -> ir.Table:
    """Join two aggregates on the query's keys and divide (numerator; denominator).

    A missing numerator counts as 0; a missing or zero denominator gives no value.
    """
    num = numerator.rename(num="value")
    den = denominator.rename(den="value")
    if not q.keys:
        joined = num.cross_join(den)
    else:
        joined = num.outer_join(den, q.keys)
        # Outer joins keep both key columns; merge them.
        merged = {k: ibis.coalesce(joined[k], joined[f"{k}_right"]) for k in q.keys}
        joined = joined.mutate(**merged).drop(*[f"{k}_right" for k in q.keys])
    # A group with a denominator but no numerator rows has a numerator of 0 (a month
    # with orders but no tickets); no denominator, or a zero one, gives no value.
    value = joined.num.cast("float64").fill_null(0) / joined.den.cast("float64").nullif(0)
    return joined.select(*q.keys, value=value)
