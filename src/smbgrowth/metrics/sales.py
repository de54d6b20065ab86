"""Sales & marketing: do we turn demand into revenue, and at what cost?

Web funnel, marketing spend and its return (CAC, ROAS, CAC payback, LTV:CAC) and
the B2B pipeline (win rate, deal size, sales cycle, deal conversion).

Channel attribution
    Spend-based metrics join ``marketing_spend.channel`` with the customers'
    ``acquisition_channel``: the two must use the same names (``google_ads`` in
    both). A channel is *paid* when ``marketing_spend`` holds positive spend for it
    at any time; without a dimension, CAC, ROAS, CAC payback and LTV:CAC count only
    the customers (and their revenue) of paid channels, against all spend.

Funnel
    A session *reaches* a step when it has an event at that step or at any later
    step (visit → product_view → add_to_cart → checkout → purchase), so a session
    whose ``visit`` event is missing still counts as a visit. A session belongs to
    the period of its first event; events without a ``session_id`` are sessions of
    their own; events with an unknown step are ignored.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from smbgrowth.metrics.base import Metric, Option, Query
from smbgrowth.metrics.common import (
    CUSTOMER_DIMENSIONS,
    aggregate,
    ratio,
    revenue_orders,
    with_customer_dims,
)

__all__ = ["FUNNEL_STEPS", "LIFETIME_CAP_MONTHS", "METRICS"]

#: Funnel steps in order; a session that reached a step reached all earlier ones.
FUNNEL_STEPS: tuple[str, ...] = ("visit", "product_view", "add_to_cart", "checkout", "purchase")

#: Customer lifetime assumed when monthly churn is 0 (Stripe Billing's convention);
#: lifetimes are ``min(1 / churn, LIFETIME_CAP_MONTHS)``.
LIFETIME_CAP_MONTHS = 60

_MARGIN_CHOICES = ("from_costs", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0")

_GROSS_MARGIN = Option(
    "gross_margin",
    "from_costs",
    _MARGIN_CHOICES,
    "from_costs: 1 − Σ unit_cost × quantity ÷ Σ line_total over the order lines that "
    "have a unit cost (no such lines → no value); a number: assume that gross margin",
)

_SPEND_DIMENSIONS = ("channel",)
_CUSTOMER_DIMS = ("segment", "channel", "country")


# -- joining aggregates ----------------------------------------------------------------


def _combine(q: Query, parts: dict[str, ir.Table]) -> ir.Table:
    """Outer-join aggregates (each with keys and ``value``) into one table, one column per part.

    Without keys (total grain, no dimension) every part is a single row and they are
    cross-joined.
    """
    names = list(parts)
    joined = parts[names[0]].rename(**{names[0]: "value"})
    for name in names[1:]:
        part = parts[name].rename(**{name: "value"})
        if not q.keys:
            joined = joined.cross_join(part)
            continue
        joined = joined.outer_join(part, q.keys)
        merged = {k: ibis.coalesce(joined[k], joined[f"{k}_right"]) for k in q.keys}
        joined = joined.mutate(**merged).drop(*[f"{k}_right" for k in q.keys])
    return joined


def _div(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """``num ÷ den`` as a float; null when ``den`` is 0 or null."""
    result: ir.FloatingValue = num.cast("float64") / den.cast("float64").nullif(0)
    return result


# -- funnel ----------------------------------------------------------------------------


def _sessions_reached(q: Query) -> ir.Table:
    """One row per session: its first event time, its channel and the furthest step rank."""
    w = q.ws.web_events
    step = w.step.lower().strip()
    rank = ibis.cases(*[(step == s, i) for i, s in enumerate(FUNNEL_STEPS)], else_=None)
    w = w.mutate(
        _session=ibis.coalesce(w.session_id, "event:" + w.event_id),
        _rank=rank,
    ).filter(lambda t: t._rank.notnull())
    sessions = w.group_by("_session").aggregate(
        started_at=w.occurred_at.min(),
        channel=w.channel.fill_null("(none)").max(),
        reached=w._rank.max(),
    )
    return sessions


def _step_share(q: Query, step: str, base: str) -> ir.Table:
    """Sessions reaching ``step`` ÷ sessions reaching ``base``, by session start."""
    s = _sessions_reached(q)
    k, b = FUNNEL_STEPS.index(step), FUNNEL_STEPS.index(base)
    num = aggregate(q, s, "started_at", lambda t: (t.reached >= k).cast("int64").sum())
    den = aggregate(q, s, "started_at", lambda t: (t.reached >= b).cast("int64").sum())
    return ratio(q, num, den)


def _funnel_conversion(q: Query) -> ir.Table:
    return _step_share(q, "purchase", "visit")


def _funnel_step_conversion(q: Query) -> ir.Table:
    step = q.option("step", "purchase")
    return _step_share(q, step, FUNNEL_STEPS[FUNNEL_STEPS.index(step) - 1])


# -- spend and acquisition ----------------------------------------------------------------


def _spend_rows(q: Query) -> ir.Table:
    s = q.ws.marketing_spend
    return s.mutate(channel=s.channel.fill_null("(none)"))


def _spend(q: Query) -> ir.Table:
    """Spend per period (and channel) as a decimal sum; 0 where there are rows but no spend."""
    return aggregate(q, _spend_rows(q), "date", lambda t: t.spend.sum())


def _paid_channels(q: Query) -> ir.Table:
    s = _spend_rows(q)
    return s.group_by("channel").aggregate(_spent=s.spend.sum()).filter(lambda t: t._spent > 0)


def _attributed_customers(q: Query) -> ir.Table:
    """Customers with their acquisition channel as ``channel``: all when split by channel,
    else only those of paid channels."""
    c = q.ws.customers
    c = c.mutate(channel=c[CUSTOMER_DIMENSIONS["channel"]].fill_null("(none)"))
    if q.by == "channel":
        return c
    paid = _paid_channels(q)
    return c.semi_join(paid, c.channel == paid.channel)


def _new_paid_customers(q: Query) -> ir.Table:
    c = _attributed_customers(q).filter(lambda t: t.created_at.notnull())
    return aggregate(q, c, "created_at", lambda t: t.count())


def _marketing_spend(q: Query) -> ir.Table:
    return _spend(q)


def _cac_parts(q: Query) -> ir.Table:
    """Keys with ``spend`` and ``new`` (new customers) per period (and channel)."""
    return _combine(q, {"spend": _spend(q), "new": _new_paid_customers(q)})


def _cac_value(t: ir.Table) -> ir.FloatingValue:
    # Zero spend: CAC is undefined rather than 0; no new customers: no value, not infinity.
    spend = t.spend.cast("float64").nullif(0)
    return _div(spend, t.new)


def _cac(q: Query) -> ir.Table:
    t = _cac_parts(q)
    return t.select(*q.keys, value=_cac_value(t))


def _roas(q: Query) -> ir.Table:
    c = _attributed_customers(q).select(
        _cid="customer_id", channel="channel", created_at="created_at"
    )
    o = revenue_orders(q).select("customer_id", "ordered_at", "total", "refunded")
    o = o.join(c, o.customer_id == c._cid).filter(
        lambda t: q.in_window(t.ordered_at) & q.in_window(t.created_at)
    )
    if q.grain != "total":
        o = o.filter(lambda t: q.period(t.ordered_at) == q.period(t.created_at))
    o = o.select("ordered_at", "channel", net=o.total - o.refunded.fill_null(0))
    revenue = aggregate(q, o, "ordered_at", lambda t: t.net.sum(), window=False)
    t = _combine(q, {"revenue": revenue, "spend": _spend(q)})
    return t.select(*q.keys, value=_div(t.revenue.fill_null(0), t.spend))


# -- unit economics (ARPA, gross margin, churn) ------------------------------------------------


def _month_index(local: ir.TimestampValue) -> ir.IntegerValue:
    index: ir.IntegerValue = local.year() * 12 + local.month() - 1
    return index


def _month_start(index: ir.IntegerValue) -> ir.DateValue:
    start: ir.DateValue = ibis.date(index // 12, index % 12 + 1, 1)
    return start


def _customer_months(q: Query) -> ir.Table:
    """One row per attributed customer and local calendar month with a sold order.

    Columns: ``customer_id``, ``channel``, ``m`` (month index), ``revenue`` (net of
    refunds), ``cost`` and ``costed`` (line revenue of the lines that have a unit cost).
    """
    lines = q.ws.order_lines
    has_cost = lines.unit_cost.notnull()
    per_order = lines.group_by("order_id").aggregate(
        cost=(lines.unit_cost * lines.quantity).sum(where=has_cost),
        costed=lines.line_total.sum(where=has_cost),
    )
    c = _attributed_customers(q).select(_cid="customer_id", channel="channel")
    o = revenue_orders(q).select("order_id", "customer_id", "ordered_at", "total", "refunded")
    o = o.join(c, o.customer_id == c._cid)
    o = o.left_join(per_order, o.order_id == per_order.order_id)
    o = o.mutate(
        m=_month_index(q.local(o.ordered_at)),
        net=o.total - o.refunded.fill_null(0),
    )
    return o.group_by("customer_id", "channel", "m").aggregate(
        revenue=o.net.sum().cast("float64"),
        cost=o.cost.sum().cast("float64"),
        costed=o.costed.sum().cast("float64"),
    )


def _month_in_window(q: Query, index: ir.IntegerValue) -> ir.BooleanValue:
    """True for months that overlap the query window."""
    first = _month_start(index)
    cond: ir.BooleanValue = ibis.literal(True)
    if q.end is not None:
        cond = cond & (first <= ibis.literal(q.end))
    if q.start is not None:
        start_month = q.start.year * 12 + q.start.month - 1
        cond = cond & (index >= start_month)
    return cond


def _unit_economics(q: Query) -> ir.Table:
    """Per period (and channel): revenue, customer_months, cost, costed, retained_base, lost.

    Monthly figures are pooled over the months of a longer period: ARPA is revenue ÷
    customer-months, churn is lost ÷ customers active in the month before. A window
    keeps whole calendar months that overlap it.
    """
    cm = _customer_months(q)
    last_month = cm.m.max()
    one, zero = ibis.literal(1, type="int64"), ibis.literal(0, type="int64")
    prev = cm.select("customer_id", "channel", m=cm.m + 1)
    stayed = cm.select(_cid="customer_id", _m="m")
    lost = prev.anti_join(stayed, (prev.customer_id == stayed._cid) & (prev.m == stayed._m))
    # ``prev`` holds each customer active in the month before ``m`` once (lost=0) and
    # again (lost=1) if they bought nothing in ``m``: base = 1 − lost counts each once.
    prev = prev.mutate(lost=zero).union(lost.mutate(lost=one), distinct=False)
    monthly = cm.mutate(base=zero, lost=zero, one=one).select(
        "channel", "m", "revenue", "cost", "costed", "one", "base", "lost"
    )
    churn = prev.select(
        "channel",
        "m",
        revenue=ibis.null("float64"),
        cost=ibis.null("float64"),
        costed=ibis.null("float64"),
        one=zero,
        base=(one - prev.lost),
        lost=prev.lost,
    )
    rows = monthly.union(churn, distinct=False)
    rows = rows.filter((rows.m <= last_month) & _month_in_window(q, rows.m))
    rows = rows.mutate(_at=_month_start(rows.m))
    if q.grain != "total":
        rows = rows.mutate(period=q.period(rows._at))
    if q.by != "channel":
        rows = rows.drop("channel")
    sums = {
        "revenue": rows.revenue.sum(),
        "customer_months": rows.one.sum(),
        "cost": rows.cost.sum(),
        "costed": rows.costed.sum(),
        "retained_base": rows.base.sum(),
        "lost": rows.lost.sum(),
    }
    if q.keys:
        return rows.group_by(q.keys).aggregate(**sums)
    return rows.aggregate(**sums)


def _margin(q: Query, t: ir.Table) -> ir.FloatingValue:
    choice = q.option("gross_margin", "from_costs")
    if choice != "from_costs":
        return ibis.literal(float(choice), type="float64")
    return 1 - _div(t.cost, t.costed)


def _economics_with_cac(q: Query) -> ir.Table:
    """Unit economics joined with CAC, ARPA (monthly, net) and gross margin per key."""
    econ = _unit_economics(q)
    cac = _cac(q).rename(cac="value")
    if q.keys:
        t = econ.outer_join(cac, q.keys)
        merged = {k: ibis.coalesce(t[k], t[f"{k}_right"]) for k in q.keys}
        t = t.mutate(**merged).drop(*[f"{k}_right" for k in q.keys])
    else:
        t = econ.cross_join(cac)
    return t.mutate(arpa=_div(t.revenue, t.customer_months), margin=_margin(q, t))


def _cac_payback_months(q: Query) -> ir.Table:
    t = _economics_with_cac(q)
    monthly_gross_profit = t.arpa * t.margin
    value = t.cac / monthly_gross_profit.nullif(0)
    return t.select(*q.keys, value=value.cast("float64"))


def _ltv_to_cac(q: Query) -> ir.Table:
    t = _economics_with_cac(q)
    churn = _div(t.lost, t.retained_base)
    lifetime = ibis.cases(
        (churn.isnull(), ibis.null("float64")),
        (churn * LIFETIME_CAP_MONTHS <= 1, ibis.literal(float(LIFETIME_CAP_MONTHS))),
        else_=1 / churn,
    )
    ltv = t.arpa * t.margin * lifetime
    return t.select(*q.keys, value=_div(ltv, t.cac))


# -- pipeline ---------------------------------------------------------------------------------


def _deals(q: Query) -> ir.Table:
    return with_customer_dims(q, q.ws.deals)


def _closed(q: Query) -> ir.Table:
    return _deals(q).filter(lambda t: t.closed_at.notnull() & t.won.notnull())


def _win_rate(q: Query) -> ir.Table:
    d = _closed(q)
    won = aggregate(q, d, "closed_at", lambda t: t.won.cast("int64").sum())
    closed = aggregate(q, d, "closed_at", lambda t: t.count())
    return ratio(q, won, closed)


def _won(q: Query) -> ir.Table:
    return _closed(q).filter(lambda t: t.won)


def _average_deal_size(q: Query) -> ir.Table:
    d = _won(q).filter(lambda t: t.amount.notnull())
    return aggregate(q, d, "closed_at", lambda t: t.amount.cast("float64").mean())


def _sales_cycle_days(q: Query) -> ir.Table:
    d = _won(q).filter(lambda t: t.created_at.notnull())
    d = d.mutate(days=(d.closed_at.epoch_seconds() - d.created_at.epoch_seconds()) / 86400)
    return aggregate(q, d, "closed_at", lambda t: t.days.cast("float64").median())


def _deal_conversion(q: Query) -> ir.Table:
    d = _deals(q)
    won = aggregate(q, d, "created_at", lambda t: t.won.fill_null(False).cast("int64").sum())
    created = aggregate(q, d, "created_at", lambda t: t.count())
    return ratio(q, won, created)


def _stage_ladder(q: Query) -> tuple[ir.Table, ir.Table]:
    """Stage entries without lost stages, and each stage with its place and the next one.

    A pipeline's order is read from the data: the mean position at which deals
    enter a stage (1 = the first stage they enter) orders the stages.
    """
    s = q.ws.deal_stages
    entries = s.filter(~s.stage.lower().re_search("lost"))
    placed = entries.mutate(
        pos=ibis.row_number().over(group_by=entries.deal_id, order_by=entries.entered_at)
    )
    ladder = placed.group_by("stage").aggregate(rank=placed.pos.mean())
    ladder = ladder.mutate(
        next_stage=ladder.stage.lead().over(order_by=[ladder.rank, ladder.stage]),
        first=ladder.rank == ladder.rank.min().over(),
        last=ladder.rank == ladder.rank.max().over(),
    )
    return entries, ladder


def _stage_conversion(q: Query) -> ir.Table:
    entries, ladder = _stage_ladder(q)
    later = entries.select(_deal=entries.deal_id, _stage=entries.stage)
    if q.by == "stage":
        step = entries.join(ladder, "stage").filter(lambda t: t.next_stage.notnull())
        target = step.next_stage
    else:
        # Without a split: deals entering the first stage that reached the last one.
        step = entries.join(ladder, "stage").filter(lambda t: t.first)
        last = ladder.filter(ladder.last).select(_last=ladder.stage)
        step = step.cross_join(last)
        target = step._last
    joined = step.left_join(later, (step.deal_id == later._deal) & (target == later._stage)).mutate(
        converted=lambda t: t._deal.notnull().cast("float64")
    )
    return aggregate(q, joined, "entered_at", lambda t: t.converted.mean())


_ROLLUP = "monthly figures pooled over the months of longer periods"

METRICS: tuple[Metric, ...] = (
    Metric(
        "funnel_conversion",
        "Funnel conversion",
        "sales & marketing",
        "ratio",
        "sessions that reached purchase ÷ sessions that reached visit, by period of the "
        "session's first event",
        "a session reaches a step when it has an event at that step or a later one; "
        "channel = the session's traffic channel (web_events.channel)",
        _funnel_conversion,
        dimensions=("channel",),
        additive=False,
        needs=("web_events",),
    ),
    Metric(
        "funnel_step_conversion",
        "Funnel step conversion",
        "sales & marketing",
        "ratio",
        "sessions that reached the step ÷ sessions that reached the step before it; "
        "the step's drop-off is 1 − this value",
        "steps: visit → product_view → add_to_cart → checkout → purchase; a session "
        "reaches a step when it has an event at that step or a later one",
        _funnel_step_conversion,
        dimensions=("channel",),
        additive=False,
        options=(
            Option(
                "step",
                "purchase",
                FUNNEL_STEPS[1:],
                "the step whose conversion from the previous step is measured",
            ),
        ),
        needs=("web_events",),
    ),
    Metric(
        "marketing_spend",
        "Marketing spend",
        "sales & marketing",
        "currency",
        "sum of marketing_spend.spend by the day of the spend",
        "spend days are calendar days as exported; channel = marketing_spend.channel",
        _marketing_spend,
        dimensions=_SPEND_DIMENSIONS,
        higher_is_better=None,
        needs=("marketing_spend",),
    ),
    Metric(
        "cac",
        "Customer acquisition cost",
        "sales & marketing",
        "currency",
        "marketing spend in the period ÷ new customers acquired through the same channel "
        "in the period; overall: all spend ÷ new customers of paid channels",
        "same-period CAC (no lag between spend and acquisition); a channel is paid when "
        "it has positive spend at any time; zero spend → no value (not 0); spend without "
        "new customers → no value (not infinity)",
        _cac,
        dimensions=_SPEND_DIMENSIONS,
        additive=False,
        higher_is_better=False,
        needs=("marketing_spend", "customers.acquisition_channel"),
    ),
    Metric(
        "roas",
        "Return on ad spend",
        "sales & marketing",
        "x",
        "net revenue (total − refunded) of sold orders placed in the period by customers "
        "acquired through the channel in the same period ÷ the channel's spend in the period",
        "same-period, channel-attributed (customers.acquisition_channel); later orders of "
        "those customers are not credited to the spend (at the total grain the period is "
        "the whole window, so repeat orders inside it count); overall: paid channels only",
        _roas,
        dimensions=_SPEND_DIMENSIONS,
        additive=False,
        needs=("marketing_spend", "customers.acquisition_channel", "orders"),
    ),
    Metric(
        "cac_payback_months",
        "CAC payback",
        "sales & marketing",
        "months",
        "CAC ÷ (ARPA × gross margin), with ARPA = monthly net revenue per buying customer "
        "of the channel (revenue ÷ customer-months with an order)",
        "CAC as in `cac`; gross margin from order-line costs unless the gross_margin "
        f"option assumes one; {_ROLLUP}; overall: customers of paid channels",
        _cac_payback_months,
        grains=("month", "quarter", "year", "total"),
        dimensions=_SPEND_DIMENSIONS,
        additive=False,
        higher_is_better=False,
        options=(_GROSS_MARGIN,),
        needs=("marketing_spend", "customers.acquisition_channel", "orders"),
    ),
    Metric(
        "ltv_to_cac",
        "LTV to CAC",
        "sales & marketing",
        "x",
        "LTV ÷ CAC, with LTV = ARPA × gross margin × lifetime and lifetime = "
        f"min(1 ÷ monthly customer churn, {LIFETIME_CAP_MONTHS}) months",
        "monthly churn = customers with an order in the previous month and none in this "
        "one ÷ customers with an order in the previous month (suits one-off purchases); "
        f"{LIFETIME_CAP_MONTHS}-month lifetime when churn is 0 (Stripe Billing); ARPA, "
        f"margin and CAC as in `cac_payback_months`; {_ROLLUP}",
        _ltv_to_cac,
        grains=("month", "quarter", "year", "total"),
        dimensions=_SPEND_DIMENSIONS,
        additive=False,
        options=(_GROSS_MARGIN,),
        needs=("marketing_spend", "customers.acquisition_channel", "orders"),
    ),
    Metric(
        "win_rate",
        "Win rate",
        "sales & marketing",
        "ratio",
        "deals won ÷ deals closed (won or lost) with closed_at in the period",
        "open deals (won is null) are left out; dimensions from the deal's customer",
        _win_rate,
        dimensions=_CUSTOMER_DIMS,
        additive=False,
        needs=("deals.closed_at",),
    ),
    Metric(
        "average_deal_size",
        "Average deal size",
        "sales & marketing",
        "currency",
        "mean amount of deals won with closed_at in the period",
        "won deals only; deals without an amount are left out",
        _average_deal_size,
        dimensions=_CUSTOMER_DIMS,
        additive=False,
        needs=("deals.closed_at",),
    ),
    Metric(
        "sales_cycle_days",
        "Sales cycle",
        "sales & marketing",
        "days",
        "median days from created_at to closed_at of deals won with closed_at in the period",
        "won deals only; the median (interpolated for an even count) resists outliers",
        _sales_cycle_days,
        dimensions=_CUSTOMER_DIMS,
        additive=False,
        higher_is_better=False,
        needs=("deals.closed_at",),
    ),
    Metric(
        "deal_conversion",
        "Deal conversion",
        "sales & marketing",
        "ratio",
        "deals created in the period that are won ÷ deals created in the period",
        "a cohort rate by created_at; open and lost deals count in the denominator, so "
        "recent periods rise as their deals close",
        _deal_conversion,
        dimensions=_CUSTOMER_DIMS,
        additive=False,
        needs=("deals",),
    ),
    Metric(
        "stage_conversion",
        "Stage-to-stage conversion",
        "sales & marketing",
        "ratio",
        "by stage: deals that entered the stage in the period and later entered the next "
        "stage ÷ deals that entered the stage in the period; without a split: from the "
        "first stage to the last (won)",
        "from the deal stage history (deal_stages); stage order = mean position at which "
        "deals enter each stage; lost stages are outcomes, not steps; recent periods rise "
        "as deals move on",
        _stage_conversion,
        dimensions=("stage",),
        additive=False,
        needs=("deal_stages",),
    ),
)
