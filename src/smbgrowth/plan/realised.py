"""What an automation really earned: its lift over the holdout, the hours it saved, its ROI.

A workflow with a holdout share is an experiment that runs by itself: every
customer it triggers for is either held out (by the stable hash of
:func:`smbgrowth.automation.engine.in_holdout`) or treated. :func:`realised_roi`
takes each customer's first run, looks at the customer's sold orders in the
``window_days`` after it, compares the treated customers with the held-out ones
(:func:`smbgrowth.models.experiments.analysis.analyze_experiment`), and turns
the revenue lift, the effects the workflow performed (e-mails, tasks, posts…)
and its cost into a realised net benefit and ROI — and, given the plan's
quantiles, says whether the result is below, within or above what was planned.

Only runs whose window has fully elapsed count (the customer's outcome is
complete); the lift, the labour saved and the cost are all measured over those
runs, so the ROI compares like with like.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pandas as pd

from smbgrowth.automation.store import AutomationStore, RunRecord
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError, DataError, SmbGrowthError, WorkflowError
from smbgrowth.jsonsafe import json_safe
from smbgrowth.metrics.common import REVENUE_STATUSES
from smbgrowth.models.experiments.analysis import ExperimentResult, analyze_experiment
from smbgrowth.models.experiments.data import Metric

__all__ = ["EFFECT_ACTIONS", "METRICS", "RealisedLift", "RealisedROI", "realised_roi"]

#: The outcomes a run is judged on: any sold order in the window, and its net revenue.
METRICS: tuple[str, ...] = ("converted", "revenue")

#: Audit actions that record an effect the workflow performed (what a person would have done).
EFFECT_ACTIONS: tuple[str, ...] = (
    "automation.email_sent",
    "automation.step",
    "automation.webhook",
    "automation.chat",
    "automation.effect",
)

ALPHA = 0.05
DAYS_PER_MONTH = 365.25 / 12
HOLDOUT, AUTOMATION = "holdout", "automation"

Position = Literal["below", "within", "above"]


@dataclass(frozen=True)
class RealisedLift:
    """Treated customers against held-out ones on one outcome (``ci`` at 95 %)."""

    metric: str
    holdout_mean: float
    automation_mean: float
    abs_lift: float
    rel_lift: float
    ci: tuple[float, float]
    rel_ci: tuple[float, float]
    p_value: float
    verdict: Literal["better", "worse", "inconclusive"]


@dataclass(frozen=True)
class RealisedROI:
    """The realised effect, labour saved, cost and ROI of one workflow (see the module doc).

    Money is in the workspace's reporting currency. ``lift`` is on the target
    ``metric`` and ``other_lift`` on the other outcome. ``incremental_value`` is
    the revenue lift per treated customer × treated customers × ``margin``;
    ``labour_value`` is ``hours_saved`` × hourly cost; ``cost`` is setup plus the
    monthly cost over ``months`` (first to last counted run, at least 1).
    ``roi`` is ``net_benefit / cost`` (None without cost). ``planned_position``
    places ``monthly_net_benefit`` against the plan's p10–p90 range.
    """

    workflow: str
    metric: str
    window_days: int
    as_of: datetime
    currency: str
    holdout_share: float
    units: dict[str, int]
    runs_counted: int
    runs_left_out: int
    units_left_out: int
    period_start: datetime
    period_end: datetime
    months: float
    lift: RealisedLift
    other_lift: RealisedLift
    treated_units: int
    margin: float
    margin_source: Literal["given", "workspace", "assumed"]
    incremental_value: float
    actions: int
    actions_by_kind: dict[str, int]
    minutes_per_action: float
    hours_saved: float
    hourly_cost: float
    labour_value: float
    setup_cost: float
    monthly_cost: float
    cost: float
    net_benefit: float
    monthly_net_benefit: float
    roi: float | None
    planned: dict[str, float] | None
    planned_position: Position | None
    notes: tuple[str, ...] = ()
    experiment: ExperimentResult | None = field(default=None, repr=False, compare=False)

    @property
    def summary(self) -> str:
        """One sentence: the lift, what it was worth, the ROI and how it compares with the plan."""
        cur = self.currency
        lift = _lift_phrase(self.lift, self.window_days, cur)
        held = self.units.get(HOLDOUT, 0)
        roi = "" if self.roi is None else f", ROI {self.roi:.1f}×"
        sentence = (
            f"{self.workflow}: {lift} for {self.treated_units:,} customers against "
            f"{held:,} held out; incremental value {_money(self.incremental_value, cur)}"
            f" plus {self.hours_saved:,.1f} hours saved ({_money(self.labour_value, cur)})"
            f" against a cost of {_money(self.cost, cur)} over {self.months:.1f} months"
            f" gives a net benefit of {_money(self.monthly_net_benefit, cur)} a month{roi}"
        )
        if self.planned is not None and self.planned_position is not None:
            p = self.planned
            sentence += (
                f", {self.planned_position} the planned range ({_money(p['p10'], cur)} to "
                f"{_money(p['p90'], cur)} a month, median {_money(p['p50'], cur)})"
            )
        return sentence + "."

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-safe values (the experiment as its own documented form)."""
        out: dict[str, Any] = {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in ("lift", "other_lift", "experiment", "notes")
        }
        out["lift"] = _lift_dict(self.lift)
        out["other_lift"] = _lift_dict(self.other_lift)
        out["notes"] = list(self.notes)
        out["summary"] = self.summary
        out["experiment"] = None if self.experiment is None else self.experiment.to_dict()
        out["as_of"] = self.as_of.isoformat()
        out["period_start"] = self.period_start.isoformat()
        out["period_end"] = self.period_end.isoformat()
        cleaned: dict[str, Any] = json_safe(out)
        return cleaned


def _lift_dict(lift: RealisedLift) -> dict[str, Any]:
    return {
        "metric": lift.metric,
        "holdout_mean": lift.holdout_mean,
        "automation_mean": lift.automation_mean,
        "abs_lift": lift.abs_lift,
        "rel_lift": lift.rel_lift,
        "ci": list(lift.ci),
        "rel_ci": list(lift.rel_ci),
        "p_value": lift.p_value,
        "verdict": lift.verdict,
    }


def _money(value: float, currency: str) -> str:
    return f"{value:,.0f} {currency}"


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.2g}"


def _lift_phrase(lift: RealisedLift, window_days: int, currency: str) -> str:
    lo, hi = lift.ci
    if lift.metric == "converted":
        what = (
            f"{lift.abs_lift * 100:+.1f} points of customers ordering within {window_days} days"
            f" (95 % CI {lo * 100:+.1f} to {hi * 100:+.1f}, {_p(lift.p_value)}, {lift.verdict})"
        )
    else:
        what = (
            f"{lift.abs_lift:+,.2f} {currency} of revenue per customer within {window_days} days"
            f" (95 % CI {lo:+,.2f} to {hi:+,.2f}, {_p(lift.p_value)}, {lift.verdict})"
        )
    return what


def _utc(value: Any) -> datetime:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    moment: datetime = stamp.to_pydatetime()
    return moment


def _check_options(
    metric: str,
    window_days: int,
    minutes_per_action: float,
    hourly_cost: float,
    monthly_cost: float,
    setup_cost: float,
    margin: float | None,
) -> None:
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    if window_days < 1:
        raise ConfigError(f"window_days {window_days} must be at least 1 (30 is usual)")
    for name, value in (
        ("minutes_per_action", minutes_per_action),
        ("hourly_cost", hourly_cost),
        ("monthly_cost", monthly_cost),
        ("setup_cost", setup_cost),
    ):
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{name} {value} must be a number of at least 0")
    if margin is not None and not 0 < margin <= 1:
        raise ConfigError(f"margin {margin} must be a share between 0 and 1 (0.4 for 40 %)")


def _check_planned(planned: Mapping[str, float] | None) -> dict[str, float] | None:
    if planned is None:
        return None
    missing = [q for q in ("p10", "p50", "p90") if q not in planned]
    if missing:
        raise ConfigError(
            "the planned monthly net benefit needs quantiles p10, p50 and p90; "
            f"missing {missing[0]}"
        )
    plan = {q: float(planned[q]) for q in ("p10", "p50", "p90")}
    if not plan["p10"] <= plan["p50"] <= plan["p90"]:
        raise ConfigError(
            f"planned quantiles must satisfy p10 ≤ p50 ≤ p90, got {plan['p10']:g}, "
            f"{plan['p50']:g}, {plan['p90']:g}"
        )
    return plan


def _last_order_time(ws: Workspace) -> datetime:
    rows = ws.duck.execute("SELECT max(ordered_at) FROM orders").fetchall()
    if not rows or rows[0][0] is None:
        raise DataError("the workspace has no orders; import orders to measure what a run led to")
    return _utc(rows[0][0])


def _shares(store: AutomationStore, workflow: str, versions: set[str]) -> dict[str, float]:
    """Holdout share of each version the runs executed (the current one if a version is gone)."""
    current = store.workflow(workflow)
    shares: dict[str, float] = {}
    for version in versions:
        try:
            shares[version] = float(store.workflow(workflow, version).settings.holdout)
        except WorkflowError:
            shares[version] = float(current.settings.holdout)
    return shares


def _outcomes(ws: Workspace, units: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """Per unit: 1 if it bought in (start, start + window], and its net revenue there."""
    name = "_realised_units"
    statuses = ", ".join(f"'{s}'" for s in REVENUE_STATUSES)
    ws.duck.register(name, units[["customer_id", "arm", "started_at"]])
    try:
        frame = ws.duck.execute(
            f"""
            SELECT u.customer_id, u.arm,
                   CAST(count(o.order_id) > 0 AS INTEGER) AS converted,
                   coalesce(sum(CAST(o.total AS DOUBLE)
                                - coalesce(CAST(o.refunded AS DOUBLE), 0)), 0.0) AS revenue
            FROM {name} u
            LEFT JOIN orders o
              ON o.customer_id = u.customer_id
             AND o.status IN ({statuses})
             AND o.ordered_at > u.started_at
             AND o.ordered_at <= u.started_at + to_days(CAST(? AS INTEGER))
            GROUP BY u.customer_id, u.arm
            """,
            [window_days],
        ).df()
    finally:
        ws.duck.unregister(name)
    return frame


def _effects(store: AutomationStore, workflow: str, run_ids: set[str]) -> Counter[str]:
    """Effects the workflow's counted runs performed, by kind, from the audit log."""
    # Webhook and chat entries carry the run id but not the workflow, so join on the run.
    placeholders = ", ".join("?" for _ in EFFECT_ACTIONS)
    rows = store.con.execute(
        f"""SELECT a.action, a.detail FROM audit_log a
            JOIN automation_runs r ON r.run_id = json_extract(a.detail, '$.run_id')
            WHERE r.workflow = ? AND a.action IN ({placeholders})""",
        (workflow, *EFFECT_ACTIONS),
    ).fetchall()
    counts: Counter[str] = Counter()
    for row in rows:
        detail = json.loads(row["detail"])
        if detail.get("run_id") not in run_ids:
            continue
        kind = _effect_kind(str(row["action"]), detail)
        if kind is not None:
            counts[kind] += 1
    return counts


def _effect_kind(action: str, detail: dict[str, Any]) -> str | None:
    """What a person would have done for this audit entry; None when nothing was done."""
    if action == "automation.email_sent":
        return "email"
    if action in ("automation.webhook", "automation.chat"):
        status = detail.get("status")
        if isinstance(status, int) and status >= 400:
            return None
        return "webhook" if action == "automation.webhook" else "chat message"
    if action == "automation.effect":
        return str(detail.get("kind") or "effect")
    result = detail.get("result")
    if not isinstance(result, dict):
        return "step"
    if "task_created" in result:
        return "task" if result["task_created"] else None
    if "queued" in result:
        return "social post" if result["queued"] else None
    if "tags" in result:
        return "tag"
    if "updated" in result:
        return "customer update"
    return "step"


def _workspace_margin(ws: Workspace) -> float | None:
    from smbgrowth.metrics.registry import compute_metric

    try:
        frame = compute_metric(ws, "gross_margin", grain="total").frame
    except SmbGrowthError:
        return None
    if frame.empty:
        return None
    value = float(frame["value"].iloc[0])
    return value if math.isfinite(value) and 0 < value <= 1 else None


def _realised_lift(result: ExperimentResult, metric: str) -> RealisedLift:
    c = result.comparison(metric, AUTOMATION)
    means = {v.variant: v.mean for v in result.metric(metric).variants}
    return RealisedLift(
        metric=metric,
        holdout_mean=means[HOLDOUT],
        automation_mean=means[AUTOMATION],
        abs_lift=c.abs_lift,
        rel_lift=c.rel_lift,
        ci=c.ci,
        rel_ci=c.rel_ci,
        p_value=c.p_value,
        verdict=c.verdict,
    )


def _first_runs(runs: list[RunRecord]) -> pd.DataFrame:
    """One row per customer: the first run, which decides the customer's arm."""
    frame = pd.DataFrame(
        {
            "run_id": [r.run_id for r in runs],
            "customer_id": [r.subject for r in runs],
            "version": [r.version for r in runs],
            "holdout": [r.holdout for r in runs],
            "started_at": pd.to_datetime([r.started_at for r in runs], utc=True, format="ISO8601"),
        }
    )
    frame = frame.dropna(subset=["customer_id"]).sort_values(["started_at", "run_id"])
    first = frame.drop_duplicates("customer_id", keep="first").copy()
    first["arm"] = first["holdout"].map({True: HOLDOUT, False: AUTOMATION})
    return first.reset_index(drop=True)


def realised_roi(
    ws: Workspace,
    workflow: str,
    *,
    window_days: int = 30,
    metric: str = "converted",
    minutes_per_action: float = 5.0,
    hourly_cost: float = 30.0,
    monthly_cost: float = 0.0,
    setup_cost: float = 0.0,
    margin: float | None = None,
    planned: Mapping[str, float] | None = None,
    as_of: datetime | None = None,
) -> RealisedROI:
    """Return what a workflow realised: its lift over the holdout, hours saved, net benefit, ROI.

    Parameters
    ----------
    ws:
        The open workspace (its orders are the outcomes; its ``ops.sqlite`` the runs).
    workflow:
        The workflow's name; it needs a holdout share and runs.
    window_days:
        Days after a customer's first run in which an order counts.
    metric:
        ``converted`` (any sold order in the window) or ``revenue`` (its net revenue).
    minutes_per_action, hourly_cost:
        What each effect (e-mail, task, post, webhook…) would have taken a person.
    monthly_cost, setup_cost:
        The workflow's running and one-off cost.
    margin:
        Share of incremental revenue that is profit; default the workspace's
        gross margin from order-line costs, else 100 % (and a note says so).
    planned:
        The plan's quantiles ``p10``, ``p50``, ``p90`` of monthly net benefit.
    as_of:
        The day the measurement is made; default the last order in the workspace.
    """
    _check_options(
        metric, window_days, minutes_per_action, hourly_cost, monthly_cost, setup_cost, margin
    )
    plan = _check_planned(planned)
    notes: list[str] = []
    with AutomationStore(ws.path) as store:
        runs = store.runs(workflow, limit=2**62)
        if not runs:
            store.workflow(workflow)  # an unknown name raises with the known ones
            raise WorkflowError(f"workflow {workflow!r} has no runs yet; nothing to measure")
        first = _first_runs(runs)
        if first.empty:
            raise WorkflowError(
                f"the runs of workflow {workflow!r} have no customer; only runs for a customer "
                "can be compared with the holdout"
            )
        shares = _shares(store, workflow, set(first["version"]))
        if all(s <= 0 for s in shares.values()) and not first["holdout"].any():
            raise WorkflowError(
                f"workflow {workflow!r} holds nobody out, so its effect cannot be measured; "
                "enable a holdout share in the workflow's settings (e.g. holdout: 10%)"
            )
        moment = _last_order_time(ws) if as_of is None else _utc(as_of)
        cutoff = pd.Timestamp(moment - timedelta(days=window_days))
        counted = first[first["started_at"] <= cutoff].copy()
        all_runs = pd.to_datetime([r.started_at for r in runs], utc=True, format="ISO8601")
        counted_runs = {r.run_id for r, at in zip(runs, all_runs, strict=True) if at <= cutoff}
        if counted.empty:
            raise WorkflowError(
                f"none of the {len(runs):,} runs of workflow {workflow!r} started "
                f"{window_days} days before {moment.date()}, so no outcome is complete yet; "
                "wait, or measure with a shorter window"
            )
        units_left_out = len(first) - len(counted)
        if units_left_out:
            notes.append(
                f"{units_left_out:,} customers whose {window_days}-day window has not ended by "
                f"{moment.date()} are left out"
            )
        held = int((counted["arm"] == HOLDOUT).sum())
        if held == 0:
            raise WorkflowError(
                f"workflow {workflow!r} has no held-out customer yet among the {len(counted):,} "
                "whose window has ended; wait for more runs before measuring"
            )
        if held == len(counted):
            raise WorkflowError(
                f"every customer of workflow {workflow!r} whose window has ended was held out; "
                "there is nothing to compare yet"
            )
        effects = _effects(store, workflow, counted_runs)

    share = float(counted["version"].map(shares).mean())
    share = min(max(share, 1e-6), 1 - 1e-6)
    outcomes = _outcomes(ws, counted, window_days)
    other = next(m for m in METRICS if m != metric)
    result = analyze_experiment(
        outcomes,
        unit="customer_id",
        variant="arm",
        metrics=[_metric(metric), _metric(other)],
        control=HOLDOUT,
        expected_split={HOLDOUT: share, AUTOMATION: 1 - share},
        alpha=ALPHA,
        # The decision is on the target metric; the other is reported beside it.
        correction="none",
        unit_noun="customers",
    )
    lift = _realised_lift(result, metric)
    other_lift = _realised_lift(result, other)
    revenue_lift = lift if metric == "revenue" else other_lift

    source: Literal["given", "workspace", "assumed"]
    if margin is not None:
        used_margin, source = float(margin), "given"
    else:
        found = _workspace_margin(ws)
        if found is None:
            used_margin, source = 1.0, "assumed"
            notes.append(
                "no gross margin in the workspace (no order-line costs): incremental value is "
                "incremental revenue; pass a margin for incremental profit"
            )
        else:
            used_margin, source = found, "workspace"

    treated = int(result.units.get(AUTOMATION, 0))
    incremental = revenue_lift.abs_lift * treated * used_margin
    actions = int(sum(effects.values()))
    hours = actions * minutes_per_action / 60.0
    labour = hours * hourly_cost
    starts = sorted(at for r, at in zip(runs, all_runs, strict=True) if r.run_id in counted_runs)
    period_start, period_end = _utc(starts[0]), _utc(starts[-1])
    months = max((period_end - period_start).total_seconds() / 86400 / DAYS_PER_MONTH, 1.0)
    cost = setup_cost + monthly_cost * months
    net = incremental + labour - cost
    monthly_net = net / months
    position: Position | None = None
    if plan is not None:
        if monthly_net < plan["p10"]:
            position = "below"
        elif monthly_net > plan["p90"]:
            position = "above"
        else:
            position = "within"
    return RealisedROI(
        workflow=workflow,
        metric=metric,
        window_days=window_days,
        as_of=moment,
        currency=ws.reporting_currency,
        holdout_share=share,
        units=dict(result.units),
        runs_counted=len(counted_runs),
        runs_left_out=len(runs) - len(counted_runs),
        units_left_out=units_left_out,
        period_start=period_start,
        period_end=period_end,
        months=months,
        lift=lift,
        other_lift=other_lift,
        treated_units=treated,
        margin=used_margin,
        margin_source=source,
        incremental_value=incremental,
        actions=actions,
        actions_by_kind=dict(sorted(effects.items())),
        minutes_per_action=minutes_per_action,
        hours_saved=hours,
        hourly_cost=hourly_cost,
        labour_value=labour,
        setup_cost=setup_cost,
        monthly_cost=monthly_cost,
        cost=cost,
        net_benefit=net,
        monthly_net_benefit=monthly_net,
        roi=net / cost if cost > 0 else None,
        planned=plan,
        planned_position=position,
        notes=tuple(notes + list(result.notes)),
        experiment=result,
    )


def _metric(name: str) -> Metric:
    if name == "converted":
        return Metric("converted", kind="binomial", phrase="placed an order")
    return Metric("revenue", kind="continuous")
