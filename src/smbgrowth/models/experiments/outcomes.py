"""Experiments stored in the workspace: assignments joined to what each unit did afterwards.

The ``experiments`` table says which unit saw which variant and when. The
outcome of a unit is read from the business's own tables, counted from its
assignment for ``window_days``:

=================  ===========  ==========================================================
metric             kind         per unit
=================  ===========  ==========================================================
``converted``      binomial     placed at least one sold order
``orders``         count        sold orders (completed, partially refunded or refunded)
``revenue``        continuous   net revenue: Σ (total − refunded) of those orders
``aov``            ratio        revenue / orders (delta method)
``reached:STEP``   binomial     has a web event at funnel step STEP (e.g. ``reached:purchase``)
``events:STEP``    count        web events at step STEP
=================  ===========  ==========================================================

Order metrics need customer units; event metrics work for customer and
session units. For customer units the same metric over the ``pre_days``
before assignment is the CUPED covariate, so a customer's habits no longer
blur the comparison. All joins are Ibis expressions over the workspace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import DataError, ModelError
from smbgrowth.metrics.common import REVENUE_STATUSES
from smbgrowth.models.experiments.analysis import ExperimentResult, analyze_experiment
from smbgrowth.models.experiments.data import Metric

__all__ = [
    "WORKSPACE_METRICS",
    "analyze_workspace_experiment",
    "experiment_units",
    "list_experiments",
]

WORKSPACE_METRICS: dict[str, str] = {
    "converted": "placed at least one sold order in the window",
    "orders": "sold orders in the window",
    "revenue": "net revenue (total − refunded) of sold orders in the window",
    "aov": "revenue per order (ratio of the two sums)",
    "reached:STEP": "reached funnel step STEP in the window (web events)",
    "events:STEP": "web events at step STEP in the window",
}

_ORDER_METRICS = ("converted", "orders", "revenue", "aov")


def list_experiments(ws: Workspace) -> pd.DataFrame:
    """Return one row per experiment: unit type, variants, units and assignment period."""
    e = ws.experiments
    summary = (
        e.group_by("experiment_id")
        .aggregate(
            unit_type=e.unit_type.fill_null("customer").max(),
            variants=e.variant.nunique(),
            units=e.unit_id.count(),
            first_assigned=e.assigned_at.min(),
            last_assigned=e.assigned_at.max(),
        )
        .order_by("experiment_id")
    )
    frame: pd.DataFrame = summary.to_pandas()
    return frame


def _assignments(ws: Workspace, experiment_id: str) -> tuple[ir.Table, str]:
    e = ws.experiments
    e = e.filter(e.experiment_id == experiment_id)
    types = e.select(t=e.unit_type.fill_null("customer")).distinct().to_pandas()["t"].tolist()
    if not types:
        known = list_experiments(ws)["experiment_id"].tolist()
        raise DataError(
            f"no experiment {experiment_id!r} in the workspace; "
            + (f"the experiments are: {', '.join(known)}" if known else "import one first")
        )
    if len(types) > 1:
        raise DataError(
            f"experiment {experiment_id!r} mixes unit types ({', '.join(sorted(types))}); "
            "a test randomises one kind of unit"
        )
    unit_type = str(types[0]).lower()
    if unit_type not in ("customer", "session"):
        raise DataError(
            f"experiment {experiment_id!r} has unit type {unit_type!r}; use customer or session"
        )
    return e.select("unit_id", "variant", "assigned_at", "covariate"), unit_type


def _parse(name: str, unit_type: str) -> tuple[str, str | None]:
    base, _, step = name.partition(":")
    if base in _ORDER_METRICS and not step:
        if unit_type != "customer":
            raise ModelError(
                f"metric {name} needs customer units; this experiment randomises {unit_type}s "
                "(use reached:STEP or events:STEP)"
            )
        return base, None
    if base in ("reached", "events") and step:
        return base, step
    raise ModelError(
        f"unknown workspace metric {name!r}; choose from: {', '.join(WORKSPACE_METRICS)}"
    )


def _order_outcomes(ws: Workspace, units: ir.Table, start: str, end: str, prefix: str) -> ir.Table:
    o = ws.orders
    o = o.filter(o.status.isin(REVENUE_STATUSES), o.customer_id.notnull())
    o = o.select(
        _c=o.customer_id,
        _t=o.ordered_at,
        _id=o.order_id,
        _net=(o.total - o.refunded.fill_null(0)).cast("float64"),
    )
    j = units.left_join(o, [units.unit_id == o._c, o._t >= units[start], o._t < units[end]])
    return j.group_by("unit_id").aggregate(
        **{
            f"{prefix}orders": j._id.count(),
            f"{prefix}revenue": j._net.sum().fill_null(0.0),
        }
    )


def _event_outcomes(
    ws: Workspace, units: ir.Table, unit_type: str, step: str, start: str, end: str, name: str
) -> ir.Table:
    w = ws.web_events
    key = w.session_id if unit_type == "session" else w.customer_id
    w = w.filter(w.step == step).select(_k=key, _t=w.occurred_at)
    j = units.left_join(w, [units.unit_id == w._k, w._t >= units[start], w._t < units[end]])
    return j.group_by("unit_id").aggregate(**{name: j._t.count()})


def experiment_units(
    ws: Workspace,
    experiment_id: str,
    metrics: Sequence[str] = ("converted", "revenue"),
    *,
    window_days: float | None = None,
    pre_days: float | None = None,
) -> tuple[pd.DataFrame, list[Metric], str]:
    """Return one row per assigned unit with its outcomes, the metric specs and the unit type.

    ``window_days`` defaults to 30 for customers and 1 for sessions (a visit
    is over within a day); it is kept in ``frame.attrs["window_days"]``.
    ``pre_days`` (customer units only; default: the window length) is the
    pre-period whose value of each metric becomes its CUPED covariate, unless
    the table's ``covariate`` column is filled (then that is used for every
    metric). Pass ``pre_days=0`` to turn CUPED off.
    """
    units, unit_type = _assignments(ws, experiment_id)
    if window_days is None:
        window_days = 1.0 if unit_type == "session" else 30.0
    if window_days <= 0:
        raise ModelError(f"window of {window_days} days must be positive")
    parsed = [(m, *_parse(m, unit_type)) for m in dict.fromkeys(metrics)]
    window = ibis.interval(seconds=round(window_days * 86_400))
    units = units.mutate(_end=units.assigned_at + window)
    has_cov_column = bool(units.covariate.notnull().any().to_pandas())
    pre = window_days if pre_days is None else pre_days
    use_pre = unit_type == "customer" and pre > 0 and not has_cov_column
    if use_pre:
        units = units.mutate(_pre=units.assigned_at - ibis.interval(seconds=round(pre * 86_400)))

    frame = units.select("unit_id", "variant", "assigned_at", "covariate")
    parts: list[ir.Table] = []
    if any(b in _ORDER_METRICS for _, b, _ in parsed):
        parts.append(_order_outcomes(ws, units, "assigned_at", "_end", ""))
        if use_pre:
            parts.append(_order_outcomes(ws, units, "_pre", "assigned_at", "pre_"))
    for name, _, step in parsed:
        if step is not None:
            parts.append(_event_outcomes(ws, units, unit_type, step, "assigned_at", "_end", name))
            if use_pre:
                parts.append(
                    _event_outcomes(
                        ws, units, unit_type, step, "_pre", "assigned_at", f"pre_{name}"
                    )
                )
    for part in parts:
        frame = frame.left_join(part, frame.unit_id == part.unit_id).drop("unit_id_right")
    out: pd.DataFrame = frame.to_pandas()
    out.attrs["window_days"] = window_days
    specs: list[Metric] = []
    for name, base, step in parsed:
        if base == "converted":
            out["converted"] = (out["orders"].fillna(0) > 0).astype("int64")
            if use_pre:
                out["pre_converted"] = (out["pre_orders"].fillna(0) > 0).astype("int64")
            specs.append(
                Metric(
                    "converted",
                    kind="binomial",
                    phrase="placed an order",
                    covariate=_cov(use_pre, "pre_converted", has_cov_column),
                )
            )
        elif base == "aov":
            specs.append(Metric("revenue", denominator="orders", name="aov", kind="ratio"))
        elif step is not None:
            kind: Any = "binomial" if base == "reached" else "count"
            if base == "reached":
                out[name] = (out[name].fillna(0) > 0).astype("int64")
                if use_pre:
                    out[f"pre_{name}"] = (out[f"pre_{name}"].fillna(0) > 0).astype("int64")
            specs.append(
                Metric(
                    name,
                    kind=kind,
                    covariate=_cov(use_pre, f"pre_{name}", has_cov_column),
                    phrase=f"reached {step}" if base == "reached" else None,
                )
            )
        else:
            kind = "count" if base == "orders" else "continuous"
            specs.append(
                Metric(base, kind=kind, covariate=_cov(use_pre, f"pre_{base}", has_cov_column))
            )
    return out, specs, unit_type


def _cov(use_pre: bool, column: str, has_cov_column: bool) -> str | None:
    if has_cov_column:
        return "covariate"
    return column if use_pre else None


def analyze_workspace_experiment(
    ws: Workspace,
    experiment_id: str,
    metrics: Sequence[str] = ("converted", "revenue"),
    *,
    guardrails: Sequence[str] = (),
    window_days: float | None = None,
    pre_days: float | None = None,
    **options: Any,
) -> ExperimentResult:
    """Analyse an experiment of the workspace on metrics read from its own tables.

    ``options`` are those of :func:`analyze_experiment` (method, alpha,
    correction, control, lower_is_better, cap, expected_split, …).
    """
    frame, specs, unit_type = experiment_units(
        ws,
        experiment_id,
        [*metrics, *guardrails],
        window_days=window_days,
        pre_days=pre_days,
    )
    goal_names = set(dict.fromkeys(metrics))
    goal_specs = [
        s
        for s, name in zip(specs, dict.fromkeys([*metrics, *guardrails]), strict=True)
        if name in goal_names
    ]
    guard_specs = [s for s in specs if s not in goal_specs]
    options.setdefault("unit_noun", "sessions" if unit_type == "session" else "customers")
    result = analyze_experiment(
        frame,
        unit="unit_id",
        variant="variant",
        metrics=goal_specs,
        guardrails=guard_specs,
        **options,
    )
    window_days = float(frame.attrs["window_days"])
    last = _last_activity(ws)
    if last is not None:
        assigned = pd.to_datetime(frame["assigned_at"], utc=True)
        partial = int((assigned + pd.Timedelta(days=window_days) > last).sum())
        if partial:
            result.notes.append(
                f"{partial:,} {result.unit_noun} were assigned less than {window_days:g} "
                f"day{'' if window_days == 1 else 's'} "
                "before the latest data; their outcomes are partial (equally in every variant)"
            )
    return result


def _last_activity(ws: Workspace) -> dt.datetime | None:
    o = ws.orders
    w = ws.web_events
    values = [o.ordered_at.max().to_pandas(), w.occurred_at.max().to_pandas()]
    stamps = [pd.Timestamp(v) for v in values if v is not None and not pd.isna(v)]
    if not stamps:
        return None
    latest = max(stamps)
    return latest.tz_localize("UTC") if latest.tzinfo is None else latest
