"""Demand: is there a market and is it growing?"""

from __future__ import annotations

import ibis.expr.types as ir

from smbgrowth.metrics.base import Metric, Query
from smbgrowth.metrics.common import aggregate, orders_with_dims, ratio, with_customer_dims

__all__ = ["METRICS"]


def _new_customers(q: Query) -> ir.Table:
    c = q.ws.customers
    c = c.filter(c.created_at.notnull())
    return aggregate(q, with_customer_dims(q, c), "created_at", lambda t: t.count())


def _active_customers(q: Query) -> ir.Table:
    o = orders_with_dims(q).filter(lambda t: t.customer_id.notnull())
    return aggregate(q, o, "ordered_at", lambda t: t.customer_id.nunique(), window=False)


def _sessions(q: Query) -> ir.Table:
    w = q.ws.web_events
    if q.by == "channel":
        w = w.mutate(channel=w.channel.fill_null("(none)"))
    return aggregate(q, w, "occurred_at", lambda t: t.session_id.nunique())


def _leads(q: Query) -> ir.Table:
    d = q.ws.deals
    return aggregate(q, with_customer_dims(q, d), "created_at", lambda t: t.count())


def _revenue_share(q: Query) -> ir.Table:
    o = orders_with_dims(q)
    net = lambda t: (t.total - t.refunded.fill_null(0)).sum()  # noqa: E731
    by_dim = aggregate(q, o, "ordered_at", net, window=False)
    whole = Query(q.ws, q.grain, None, q.start, q.end, q.options)
    total = aggregate(whole, orders_with_dims(whole), "ordered_at", net, window=False)
    if q.by is None:
        return ratio(q, by_dim, total)
    if q.grain == "total":
        return ratio(q, by_dim, total.cross_join(by_dim.select(q.by)).select(q.by, "value"))
    den = total.join(by_dim.select("period", q.by), "period").select("period", q.by, "value")
    return ratio(q, by_dim, den)


METRICS: tuple[Metric, ...] = (
    Metric(
        "new_customers",
        "New customers",
        "demand",
        "customers",
        "customers whose created_at (first order or sign-up) falls in the period",
        "a customer counts once, when first seen in any source",
        _new_customers,
        dimensions=("segment", "channel", "country"),
        needs=("customers.created_at",),
    ),
    Metric(
        "active_customers",
        "Active customers",
        "demand",
        "customers",
        "distinct customers with at least one sold order in the period",
        "sold = completed, partially refunded or refunded orders",
        _active_customers,
        dimensions=("segment", "channel", "country"),
        needs=("orders.customer_id",),
    ),
    Metric(
        "sessions",
        "Sessions",
        "demand",
        "sessions",
        "distinct web sessions with an event in the period",
        "a session is counted in the period and channel of its events",
        _sessions,
        dimensions=("channel",),
        needs=("web_events",),
    ),
    Metric(
        "leads",
        "Leads",
        "demand",
        "deals",
        "deals created in the period",
        "every deal in the CRM is a lead when created",
        _leads,
        dimensions=("segment", "channel", "country"),
        needs=("deals",),
    ),
    Metric(
        "revenue_share",
        "Revenue share",
        "demand",
        "ratio",
        "net revenue of each group ÷ net revenue of all groups in the period",
        "net of refunds; by segment, channel or country",
        _revenue_share,
        dimensions=("segment", "channel", "country"),
        additive=False,
        higher_is_better=None,
        needs=("orders",),
    ),
)
