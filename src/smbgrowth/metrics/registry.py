"""The metric registry: every metric by id, and computing one for a workspace."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MetricError
from smbgrowth.metrics import customers, demand, finance, operations, sales
from smbgrowth.metrics.base import (
    DIMENSIONS,
    GRAINS,
    Grain,
    Metric,
    MetricResult,
    Query,
    period_range,
    window_periods,
)

__all__ = [
    "METRICS",
    "compute_all",
    "compute_metric",
    "get_metric",
    "list_metrics",
    "metric_needs",
    "missing_inputs",
    "registry_markdown",
]

METRICS: dict[str, Metric] = {
    m.id: m for module in (demand, sales, operations, customers, finance) for m in module.METRICS
}


def get_metric(metric_id: str) -> Metric:
    """Return the metric called ``metric_id`` or raise MetricError naming close matches."""
    try:
        return METRICS[metric_id]
    except KeyError:
        close = [m for m in METRICS if metric_id.split("_")[0] in m][:8] or list(METRICS)[:8]
        raise MetricError(
            f"unknown metric {metric_id!r}; did you mean {', '.join(close)}? "
            "(`smbgrowth kpis --list` shows them all)"
        ) from None


def list_metrics(driver: str | None = None) -> list[Metric]:
    """All metrics, in driver order, optionally of one driver."""
    return [m for m in METRICS.values() if driver is None or m.driver == driver]


def _has_input(ws: Workspace, need: str) -> bool:
    """Whether one ``table`` or ``table.column`` requirement holds in the workspace."""
    table, _, column = need.partition(".")
    t = ws.table(table)
    if not column:
        return bool(t.count().execute() > 0)
    if column not in t.columns:
        return False
    return bool(t[column].notnull().any().execute())


def _need_text(need: str) -> str:
    """``orders.fulfilled_at`` → ``orders with fulfilled_at``; alternatives joined by "or"."""
    words = []
    for part in need.split("|"):
        table, _, column = part.partition(".")
        words.append(f"{table} with {column}" if column else table)
    return " or ".join(words)


def missing_inputs(ws: Workspace, metric_id: str) -> list[str]:
    """The data a metric needs that the workspace lacks, in words (empty when it has all).

    Each entry names what to import: ``expenses`` (the table is empty) or
    ``tickets with first_response_at`` (no row has a value in that column).
    """
    metric = get_metric(metric_id)
    missing = []
    for need in metric.needs:
        if not any(_has_input(ws, option) for option in need.split("|")):
            missing.append(_need_text(need))
    return missing


def metric_needs(ws: Workspace, metric_id: str) -> str | None:
    """What to import before ``metric_id`` can be computed, or None when it can be.

    The text completes "not available: needs …", e.g. ``expenses`` or
    ``marketing_spend and customers with acquisition_channel``.
    """
    missing = missing_inputs(ws, metric_id)
    return " and ".join(missing) if missing else None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def compute_metric(
    ws: Workspace,
    metric_id: str,
    *,
    grain: Grain = "month",
    by: str | None = None,
    start: date | None = None,
    end: date | None = None,
    options: Mapping[str, str] | None = None,
) -> MetricResult:
    """Compute a metric per period (and dimension) over an optional date window.

    Periods are in the workspace's time zone. For additive metrics, empty periods
    between the first and last (or the window's bounds) are filled with 0.
    """
    metric = get_metric(metric_id)
    if grain not in GRAINS:
        raise MetricError(f"unknown grain {grain!r}; choose one of {', '.join(GRAINS)}")
    if grain not in metric.grains:
        raise MetricError(
            f"{metric.id} cannot be computed by {grain}; choose one of {', '.join(metric.grains)}"
        )
    if by is not None and by not in metric.dimensions:
        known = ", ".join(metric.dimensions) or "none"
        what = "unknown dimension" if by not in DIMENSIONS else "dimension not available for it"
        raise MetricError(f"{metric.id}: {what} {by!r}; its dimensions are: {known}")
    opts = dict(options or {})
    for name, value in opts.items():
        option = next((o for o in metric.options if o.name == name), None)
        if option is None:
            raise MetricError(f"{metric.id} has no option {name!r}")
        if value not in option.choices:
            raise MetricError(
                f"{metric.id}: option {name} must be one of {', '.join(option.choices)}"
            )
    if start and end and start > end:
        raise MetricError(f"--from {start} is after --to {end}")
    query = Query(ws, grain=grain, by=by, start=start, end=end, options=opts)
    frame = metric.compute(query).execute()
    keys = query.keys
    frame = frame[[*keys, "value"]].copy()
    frame["value"] = [_plain(v) for v in frame["value"]]
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    if grain != "total":
        frame = _fill_periods(frame, query, metric)
    frame = frame.sort_values(keys).reset_index(drop=True) if keys else frame
    return MetricResult(metric, grain, by, frame)


def _fill_periods(frame: pd.DataFrame, q: Query, metric: Metric) -> pd.DataFrame:
    present = frame["period"].dropna()
    if present.empty and not (q.start and q.end):
        return frame
    first, last = (present.min(), present.max()) if not present.empty else (None, None)
    if q.start and q.end:
        first, last = window_periods(q.start, q.end, q.grain)
    elif q.start:
        first = window_periods(q.start, q.start, q.grain)[0]
    elif q.end:
        last = window_periods(q.end, q.end, q.grain)[1]
    assert first is not None and last is not None
    periods = period_range(str(first), str(last), q.grain)
    fill = 0.0 if metric.additive else float("nan")
    if q.by:
        groups = frame[q.by].dropna().unique().tolist()
        full = pd.MultiIndex.from_product([periods, groups], names=["period", q.by])
        out = frame.set_index(["period", q.by]).reindex(full)
    else:
        out = frame.set_index("period").reindex(pd.Index(periods, name="period"))
    out["value"] = out["value"].fillna(fill) if metric.additive else out["value"]
    return out.reset_index()


def compute_all(
    ws: Workspace,
    *,
    grain: Grain = "month",
    start: date | None = None,
    end: date | None = None,
    metric_ids: list[str] | None = None,
) -> dict[str, MetricResult]:
    """Every metric that allows ``grain`` (or those named), by id, with default options.

    Metrics the workspace lacks the data for (they raise MetricError) are left out.
    """
    ids = metric_ids if metric_ids is not None else list(METRICS)
    results = {}
    for metric_id in ids:
        if grain not in get_metric(metric_id).grains:
            continue
        try:
            results[metric_id] = compute_metric(ws, metric_id, grain=grain, start=start, end=end)
        except MetricError:
            continue
    return results


def registry_markdown() -> str:
    """The registry as a Markdown reference (docs/metrics.md is this text)."""
    from smbgrowth.metrics.base import DRIVERS

    lines = [
        "# Metrics",
        "",
        "Generated from the metric registry (`smbgrowth kpis --list`); do not edit by hand.",
        "Periods are in the workspace's time zone. Options are conventions: `name=value`,",
        "default first.",
        "",
    ]
    for driver in DRIVERS:
        lines += [f"## {driver}", ""]
        for m in list_metrics(driver):
            lines.append(f"### `{m.id}` — {m.name} ({m.unit})")
            lines.append("")
            lines.append(f"- **Formula:** {m.formula}")
            lines.append(f"- **Convention:** {m.convention}")
            lines.append(f"- **Grains:** {', '.join(m.grains)}")
            better = {True: "higher", False: "lower", None: "neither way"}
            lines.append(f"- **Better:** {better[m.higher_is_better]}")
            if m.needs:
                needs = ", ".join(_need_text(n) for n in m.needs)
                lines.append(f"- **Needs:** {needs}")
            if m.dimensions:
                lines.append(f"- **Dimensions:** {', '.join(m.dimensions)}")
            for o in m.options:
                choices = ", ".join([o.default, *(c for c in o.choices if c != o.default)])
                lines.append(f"- **Option `{o.name}`:** {choices} — {o.help}")
            lines.append("")
    return "\n".join(lines)
