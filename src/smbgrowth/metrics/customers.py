"""Customers: do they stay, buy again, spend more?

Subscription metrics follow the anchors in ``shared/reference/saas-metrics.md``:

* A subscription is *active* at an instant ``t`` when ``started_at ≤ t``, it
  has not ended (``ended_at`` is null or ``> t``) and it is not in a trial
  (``trial_ends_at`` is null or ``≤ t``). Statuses are today's, so history is
  read from the dates; ``incomplete`` and ``incomplete_expired`` subscriptions
  never paid and never count, a ``trialing`` one without ``trial_ends_at`` is
  still in its trial, and a ``canceled`` one without ``ended_at`` ends at
  ``canceled_at``.
* A period runs from its first local instant ``t0`` (inclusive) to the first
  instant of the next period ``t1`` (exclusive), in the workspace time zone.
  *At period start* means at ``t0``, *at period end* means at ``t1`` — so a
  subscription ending exactly on a boundary is gone at the end of the period
  before it.
* MRR is Stripe's: the monthly value (``mrr``) of active subscriptions,
  trials excluded (free plans add 0).
* MRR movements are ChartMogul's, at the customer level: each customer's MRR
  at period start is compared with their MRR at period end, so a second
  subscription is expansion, cancelling one of two is contraction, and a
  customer who joins and leaves inside one period moves nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from smbgrowth.metrics.base import Grain, Metric, Option, Query, period_label, window_periods
from smbgrowth.metrics.common import aggregate, revenue_orders, with_customer_dims

__all__ = ["METRICS", "NEVER_ACTIVE_STATUSES"]

#: Subscription statuses that never paid, so never count as active.
NEVER_ACTIVE_STATUSES = ("incomplete", "incomplete_expired")

_SUBSCRIPTION_GRAINS: tuple[Grain, ...] = ("day", "week", "month", "quarter", "year")
_CUSTOMER_DIMS = ("segment", "channel", "country")

_TRUNCATE = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
_STEP = {
    "day": ibis.interval(days=1),
    "week": ibis.interval(days=7),
    "month": ibis.interval(months=1),
    "quarter": ibis.interval(months=3),
    "year": ibis.interval(years=1),
}


# -- building blocks ----------------------------------------------------------------------


def _spells(q: Query) -> ir.Table:
    """Each subscription's active spell in local wall-clock time: ``[active_from, active_to)``.

    Columns: ``customer_id``, ``plan``, ``mrr`` (0 when missing), ``active_from`` and
    ``active_to`` (null while still active). Spells that never begin are dropped.
    """
    s = q.ws.subscriptions
    status = s.status.fill_null("")
    s = s.filter(
        ~status.isin(NEVER_ACTIVE_STATUSES),
        ~((status == "trialing") & s.trial_ends_at.isnull()),
    )
    started = q.local(s.started_at)
    trial_end = q.local(s.trial_ends_at)
    ended = q.local(s.ended_at)
    canceled = q.local(s.canceled_at)
    end = ibis.coalesce(ended, ibis.ifelse(status == "canceled", canceled, ibis.null("timestamp")))
    spells = s.select(
        customer_id=s.customer_id,
        plan=s.plan.fill_null("(none)"),
        mrr=s.mrr.fill_null(0),
        active_from=ibis.greatest(started, ibis.coalesce(trial_end, started)),
        active_to=end,
    )
    return spells.filter(
        spells.active_from.notnull(),
        spells.active_to.isnull() | (spells.active_to > spells.active_from),
    )


def _calendar(q: Query, spells: ir.Table) -> ir.Table:
    """Every period from the first spell (or window start) to the last date seen (or window end).

    Columns: ``period``, ``t0`` (first local instant) and ``t1`` (first instant of the next
    period), as naive local wall-clock timestamps, so boundaries sit at local midnight.
    """
    grain = q.grain
    unit, step = _TRUNCATE[grain], _STEP[grain]
    lo: ir.Value = spells.active_from.min()
    hi: ir.Value = ibis.greatest(
        spells.active_from.max(), spells.active_to.max().fill_null(spells.active_from.max())
    )
    if q.start is not None:
        lo = ibis.least(lo, ibis.literal(q.start).cast("timestamp"))
    if q.end is not None:
        hi = ibis.greatest(hi, ibis.literal(q.end).cast("timestamp"))
    bounds = spells.aggregate(lo=lo.truncate(unit), hi=hi.truncate(unit))
    cal = bounds.select(t0=ibis.range(bounds.lo, bounds.hi + step, step).unnest())
    cal = cal.select(period=period_label(cal.t0, grain), t0=cal.t0, t1=cal.t0 + step)
    if q.start is not None:
        cal = cal.filter(cal.period >= window_periods(q.start, q.start, grain)[0])
    if q.end is not None:
        cal = cal.filter(cal.period <= window_periods(q.end, q.end, grain)[1])
    return cal


def _active_at(spells: ir.Table, t: ir.Value) -> ir.BooleanValue:
    cond: ir.BooleanValue = (spells.active_from <= t) & (
        spells.active_to.isnull() | (spells.active_to > t)
    )
    return cond


def _spell_periods(q: Query) -> ir.Table:
    """Spells crossed with the periods they touch (``active_from ≤ t1`` and not ended by ``t0``)."""
    sp = _spells(q)
    cal = _calendar(q, sp)
    joined = sp.join(
        cal,
        [sp.active_from <= cal.t1, sp.active_to.isnull() | (sp.active_to > cal.t0)],
    )
    return joined.mutate(
        on_start=_active_at(joined, joined.t0),
        on_end=_active_at(joined, joined.t1),
        began=(joined.active_from >= joined.t0) & (joined.active_from < joined.t1),
    )


def _customer_periods(q: Query) -> ir.Table:
    """One row per customer and period the customer's subscriptions touch.

    Columns: ``customer_id``, ``period``, ``mrr_start``, ``mrr_end`` (MRR at ``t0`` and
    ``t1``), ``active_start``, ``active_end`` (any active subscription, free or paid),
    ``began`` (a subscription became active in ``[t0, t1)``), ``paid_before`` (the
    customer had MRR > 0 at some instant before ``t0``) and the dimension ``q.by``.
    """
    sp = _spells(q)
    paid = sp.filter(sp.mrr > 0)
    first_paid = paid.group_by("customer_id").aggregate(first_paid=paid.active_from.min())
    rows = _spell_periods(q)
    zero = ibis.literal(0).cast(rows.mrr.type())
    per = rows.group_by(["customer_id", "period", "t0"]).aggregate(
        mrr_start=ibis.ifelse(rows.on_start, rows.mrr, zero).sum(),
        mrr_end=ibis.ifelse(rows.on_end, rows.mrr, zero).sum(),
        active_start=rows.on_start.any(),
        active_end=rows.on_end.any(),
        began=rows.began.any(),
    )
    per = per.left_join(first_paid, "customer_id").drop("customer_id_right")
    per = per.mutate(paid_before=per.first_paid.notnull() & (per.first_paid < per.t0))
    per = per.drop("first_paid", "t0")
    return with_customer_dims(q, per)


def _grouped(q: Query, table: ir.Table, value: Callable[[ir.Table], ir.Value]) -> ir.Table:
    return table.group_by(q.keys).aggregate(value=value)


def _float(value: ir.NumericValue) -> ir.FloatingValue:
    result: ir.FloatingValue = value.cast("float64")
    return result


# MRR movements of one customer-period row (ChartMogul, customer level).
def _new(t: ir.Table) -> ir.NumericValue:
    hit = (t.mrr_start == 0) & (t.mrr_end > 0) & ~t.paid_before
    return _float(ibis.ifelse(hit, t.mrr_end, 0))


def _reactivation(t: ir.Table) -> ir.NumericValue:
    hit = (t.mrr_start == 0) & (t.mrr_end > 0) & t.paid_before
    return _float(ibis.ifelse(hit, t.mrr_end, 0))


def _churned(t: ir.Table) -> ir.NumericValue:
    return _float(ibis.ifelse((t.mrr_start > 0) & (t.mrr_end == 0), t.mrr_start, 0))


def _expansion(t: ir.Table) -> ir.NumericValue:
    hit = (t.mrr_start > 0) & (t.mrr_end > t.mrr_start)
    return _float(ibis.ifelse(hit, t.mrr_end - t.mrr_start, 0))


def _contraction(t: ir.Table) -> ir.NumericValue:
    hit = (t.mrr_start > 0) & (t.mrr_end > 0) & (t.mrr_end < t.mrr_start)
    return _float(ibis.ifelse(hit, t.mrr_start - t.mrr_end, 0))


_MOVEMENTS: dict[str, Callable[[ir.Table], ir.NumericValue]] = {
    "new": _new,
    "expansion": _expansion,
    "contraction": _contraction,
    "churned": _churned,
    "reactivation": _reactivation,
}


# -- compute functions -------------------------------------------------------------------


def _mrr(q: Query) -> ir.Table:
    rows = _spell_periods(q)
    rows = with_customer_dims(q, rows)
    return _grouped(q, rows, lambda t: _float(ibis.ifelse(t.on_end, t.mrr, 0)).sum())


def _movement(kind: str) -> Callable[[Query], ir.Table]:
    move = _MOVEMENTS[kind]

    def compute(q: Query) -> ir.Table:
        return _grouped(q, _customer_periods(q), lambda t: move(t).sum())

    compute.__name__ = f"_mrr_{kind}"
    return compute


def _retention(net: bool) -> Callable[[Query], ir.Table]:
    def compute(q: Query) -> ir.Table:
        per = _customer_periods(q)
        sums = per.group_by(q.keys).aggregate(
            start=_float(per.mrr_start).sum(),
            lost=(_churned(per) + _contraction(per)).sum(),
            gained=(_expansion(per) + _reactivation(per)).sum(),
        )
        kept = sums.start - sums.lost + (sums.gained if net else 0)
        return sums.select(*q.keys, value=kept / sums.start.nullif(0))

    compute.__name__ = "_net_revenue_retention" if net else "_gross_revenue_retention"
    return compute


def _arpa(q: Query) -> ir.Table:
    per = _customer_periods(q)
    sums = per.group_by(q.keys).aggregate(
        mrr=_float(per.mrr_end).sum(),
        paying=(per.mrr_end > 0).sum(),
    )
    return sums.select(*q.keys, value=sums.mrr / _float(sums.paying).nullif(0))


def _customer_churn_rate(q: Query) -> ir.Table:
    per = _customer_periods(q)
    count_same = q.option("same_period", "exclude") == "count"
    plus_new = q.option("denominator", "start") == "start_plus_new"
    lost_from_start = per.active_start & ~per.active_end
    joined = ~per.active_start & per.began
    churned = lost_from_start | (joined & ~per.active_end) if count_same else lost_from_start
    if plus_new:
        base = per.active_start | (joined if count_same else joined & per.active_end)
    else:
        base = per.active_start
    sums = per.group_by(q.keys).aggregate(
        churned=churned.cast("int64").sum(), base=base.cast("int64").sum()
    )
    return sums.select(*q.keys, value=_float(sums.churned) / _float(sums.base).nullif(0))


def _repeat_purchase_rate(q: Query) -> ir.Table:
    o = revenue_orders(q)
    o = o.filter(o.customer_id.notnull())
    first = o.group_by("customer_id").aggregate(first_at=o.ordered_at.min())
    inside = o.filter(q.in_window(o.ordered_at))
    inside = inside.select("customer_id", period=q.period(inside.ordered_at))
    inside = inside.join(first, "customer_id")
    inside = inside.mutate(returning=q.period(inside.first_at) < inside.period)
    inside = with_customer_dims(q, inside)
    buyers = inside.group_by(["customer_id", *q.keys]).aggregate(returning=inside.returning.any())
    sums = buyers.group_by(q.keys).aggregate(
        returning=buyers.returning.cast("int64").sum(), buyers=buyers.count()
    )
    return sums.select(*q.keys, value=_float(sums.returning) / _float(sums.buyers).nullif(0))


def _csat(q: Query) -> ir.Table:
    t = q.ws.tickets
    t = with_customer_dims(q, t.filter(t.csat.notnull()))
    if q.option("measure", "mean") == "share_satisfied":
        return aggregate(q, t, "opened_at", lambda g: _float(g.csat >= 4).mean())
    return aggregate(q, t, "opened_at", lambda g: g.csat.mean())


# -- definitions -------------------------------------------------------------------------

_ACTIVE = (
    "active = started_at ≤ t < ended_at (or no end) and out of trial (trial_ends_at ≤ t); "
    "start = first instant of the period, end = first instant of the next (local time)"
)
_MOVEMENT_CONVENTION = (
    "ChartMogul customer-level movements: each customer's MRR at period start vs at period "
    "end; joining and leaving inside one period moves nothing; "
    "mrr_end − mrr_start = new + expansion + reactivation − contraction − churned"
)


def _movement_metric(kind: str, name: str, formula: str, better: bool) -> Metric:
    return Metric(
        f"mrr_{kind}",
        name,
        "customers",
        "currency",
        formula,
        _MOVEMENT_CONVENTION,
        _movement(kind),
        grains=_SUBSCRIPTION_GRAINS,
        dimensions=_CUSTOMER_DIMS,
        higher_is_better=better,
        needs=("subscriptions",),
    )


METRICS: tuple[Metric, ...] = (
    Metric(
        "repeat_purchase_rate",
        "Repeat purchase rate",
        "customers",
        "ratio",
        "customers with a sold order in the period whose first sold order was in an earlier "
        "period ÷ customers with a sold order in the period",
        "sold = completed, partially refunded or refunded orders; the first order counts over "
        "all history, so two first orders in one period are not yet a repeat",
        _repeat_purchase_rate,
        grains=_SUBSCRIPTION_GRAINS,
        dimensions=_CUSTOMER_DIMS,
        additive=False,
        needs=("orders.customer_id",),
    ),
    Metric(
        "customer_churn_rate",
        "Customer churn rate",
        "customers",
        "ratio",
        "subscribers active at period start with no active subscription at period end ÷ "
        "subscribers active at period start",
        "ChartMogul by default (denominator=start, same_period=exclude; churned-and-"
        "reactivated customers are not churned); " + _ACTIVE,
        _customer_churn_rate,
        grains=_SUBSCRIPTION_GRAINS,
        dimensions=_CUSTOMER_DIMS,
        additive=False,
        higher_is_better=False,
        options=(
            Option(
                "denominator",
                "start",
                ("start", "start_plus_new"),
                "start: customers active at period start (ChartMogul, Baremetrics); "
                "start_plus_new: plus customers who subscribed during the period (Stripe)",
            ),
            Option(
                "same_period",
                "exclude",
                ("exclude", "count"),
                "customers who subscribe and leave inside one period: exclude from numerator "
                "and denominator (ChartMogul, ProfitWell) or count them as churned (Baremetrics)",
            ),
        ),
        needs=("subscriptions",),
    ),
    Metric(
        "mrr",
        "Monthly recurring revenue",
        "customers",
        "currency",
        "Σ mrr of subscriptions active at period end",
        "Stripe: monthly-normalised value of paying (active, past_due) subscriptions, trials "
        "excluded, free plans add 0; " + _ACTIVE,
        _mrr,
        grains=_SUBSCRIPTION_GRAINS,
        dimensions=(*_CUSTOMER_DIMS, "plan"),
        needs=("subscriptions",),
    ),
    _movement_metric(
        "new",
        "New MRR",
        "MRR at period end of customers with 0 at start who never had MRR before",
        True,
    ),
    _movement_metric(
        "expansion",
        "Expansion MRR",
        "Σ (end − start) over customers whose MRR rose from a non-zero start",
        True,
    ),
    _movement_metric(
        "contraction",
        "Contraction MRR",
        "Σ (start − end) over customers whose MRR fell but stayed above 0",
        False,
    ),
    _movement_metric(
        "churned",
        "Churned MRR",
        "MRR at period start of customers with 0 MRR at period end",
        False,
    ),
    _movement_metric(
        "reactivation",
        "Reactivation MRR",
        "MRR at period end of customers with 0 at start who had MRR at some earlier time",
        True,
    ),
    Metric(
        "gross_revenue_retention",
        "Gross revenue retention",
        "customers",
        "ratio",
        "(MRR at start − churned − contraction) ÷ MRR at start",
        "1 − ChartMogul gross MRR churn rate; movements as in mrr_churned and mrr_contraction",
        _retention(net=False),
        grains=_SUBSCRIPTION_GRAINS,
        dimensions=_CUSTOMER_DIMS,
        additive=False,
        needs=("subscriptions",),
    ),
    Metric(
        "net_revenue_retention",
        "Net revenue retention",
        "customers",
        "ratio",
        "(MRR at start − churned − contraction + expansion + reactivation) ÷ MRR at start",
        "1 − ChartMogul net MRR churn rate (reactivation counts as retained, new MRR does "
        "not); a per-period rate, not ChartMogul's sign-up-cohort NRR curve",
        _retention(net=True),
        grains=_SUBSCRIPTION_GRAINS,
        dimensions=_CUSTOMER_DIMS,
        additive=False,
        needs=("subscriptions",),
    ),
    Metric(
        "arpa",
        "Average revenue per account",
        "customers",
        "currency",
        "MRR at period end ÷ customers with MRR > 0 at period end",
        "ChartMogul ARPA (Baremetrics and ProfitWell ARPU, Stripe ARPS at one subscription "
        "per customer); " + _ACTIVE,
        _arpa,
        grains=_SUBSCRIPTION_GRAINS,
        dimensions=_CUSTOMER_DIMS,
        additive=False,
        needs=("subscriptions",),
    ),
    Metric(
        "csat",
        "Customer satisfaction",
        "customers",
        "score",
        "mean csat (1–5) of tickets opened in the period; or the share rated 4 or 5",
        "tickets without a rating are left out; measure=share_satisfied is the CSAT% "
        "convention (4 and 5 = satisfied)",
        _csat,
        dimensions=_CUSTOMER_DIMS,
        additive=False,
        options=(
            Option(
                "measure",
                "mean",
                ("mean", "share_satisfied"),
                "mean: average score; share_satisfied: share of rated tickets scored ≥ 4",
            ),
        ),
        needs=("tickets.csat",),
    ),
)
