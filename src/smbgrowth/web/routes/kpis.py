"""KPI explorer: any registry metric by period and dimension, as a chart and a table."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MetricError, SmbGrowthError
from smbgrowth.metrics.base import GRAINS
from smbgrowth.metrics.registry import compute_metric, get_metric, list_metrics
from smbgrowth.web.common import render, runner_of

__all__ = ["router"]

router = APIRouter()

#: Lines drawn at most; the rest are summed into "other" (additive metrics) or left out.
TOP_SERIES = 8
#: Periods shown in the page's table at most (the API returns them all).
TABLE_PERIODS = 400


def _date(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise MetricError(f"{name} {value!r} is not a date like 2025-01-31") from None


def _options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise MetricError(f"option {pair!r} is not NAME=VALUE")
        options[name] = value
    return options


def _grain(grain: str) -> Any:
    if grain not in GRAINS:
        raise MetricError(f"unknown grain {grain!r}; choose one of {', '.join(GRAINS)}")
    return grain


def _compute(
    metric: str,
    grain: str,
    by: str | None,
    start: date | None,
    end: date | None,
    options: dict[str, str],
) -> Any:
    def work(ws: Workspace) -> dict[str, Any]:
        result = compute_metric(
            ws, metric, grain=_grain(grain), by=by, start=start, end=end, options=options
        )
        data: dict[str, Any] = result.to_dict()
        return data

    return work


async def metric_rows(
    request: Request,
    metric: str,
    grain: str,
    by: str | None,
    start: date | None,
    end: date | None,
    options: dict[str, str],
) -> dict[str, Any]:
    """``compute_metric(...).to_dict()``, cached per data version and arguments."""
    key = ("kpi", metric, grain, by, start, end, tuple(sorted(options.items())))
    data: dict[str, Any] = await runner_of(request).cached(
        key, _compute(metric, grain, by, start, end, options)
    )
    return data


def _series(data: dict[str, Any], additive: bool) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Periods and one series per dimension value: the top ones, the rest as "other"."""
    rows = data["rows"]
    by = data.get("by")
    periods = list(dict.fromkeys(str(r.get("period", "total")) for r in rows))
    series: dict[str, dict[str, Any]] = {}
    for r in rows:
        name = str(r[by]) if by else data["metric"]
        series.setdefault(name, {})[str(r.get("period", "total"))] = r["value"]
    if by and len(series) > TOP_SERIES:

        def size(values: dict[str, Any]) -> float:
            return float(sum(abs(v) for v in values.values() if v is not None))

        ranked = sorted(series, key=lambda n: size(series[n]), reverse=True)
        kept = {n: series[n] for n in ranked[:TOP_SERIES]}
        if additive:
            other: dict[str, Any] = {}
            for n in ranked[TOP_SERIES:]:
                for p, v in series[n].items():
                    if v is not None:
                        other[p] = (other.get(p) or 0.0) + v
            kept["other"] = other
        series = kept
    return periods, series


def _figure(
    title: str, unit: str, periods: list[str], series: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    if not periods:
        return None
    tick = {"ratio": ".0%", "currency": ",.0f"}.get(unit, ",.4~g")
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers" if len(periods) <= 60 else "lines",
                "name": html.escape(name),
                "x": [html.escape(p) for p in periods],
                "y": [values.get(p) for p in periods],
            }
            for name, values in series.items()
        ],
        "layout": {
            "title": {"text": html.escape(title)},
            "xaxis": {"type": "category", "automargin": True},
            "yaxis": {"tickformat": tick, "automargin": True},
            "legend": {"orientation": "h", "y": -0.2},
            "hovermode": "x unified",
        },
    }


def _explorer(
    metric_id: str, grain: str, by: str | None, start: str | None, end: str | None
) -> dict[str, Any]:
    """The form's state: the chosen metric, and the grain and dimension it allows."""
    metric = get_metric(metric_id)
    _grain(grain)
    # The metric changed in the form: keep the grain and dimension only if it has them.
    if grain not in metric.grains:
        grain = "month" if "month" in metric.grains else metric.grains[0]
    if not by or by not in metric.dimensions:
        by = None
    return {
        "metric": metric.describe(),
        "grain": grain,
        "by": by,
        "start": start or "",
        "end": end or "",
        "grains": list(metric.grains),
    }


@router.get("/kpis", response_class=HTMLResponse, include_in_schema=False)
async def kpis_page(
    request: Request,
    metric: str = "revenue_net",
    grain: str = "month",
    by: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> HTMLResponse:
    form = _explorer(metric, grain, by, start, end)
    described = form["metric"]
    # The metric's options come as opt_NAME=VALUE; only its own, only known choices.
    options = {}
    for o in described["options"]:
        value = request.query_params.get(f"opt_{o['name']}")
        if value and value in o["choices"] and value != o["default"]:
            options[o["name"]] = value
    form["options"] = options
    fragment = "hx-request" in request.headers
    context: dict[str, Any] = {
        "title": "KPIs",
        "form": form,
        "metrics": [m.describe() for m in list_metrics()],
        "error": None,
        "figure": None,
        "table": None,
    }
    try:
        data = await metric_rows(
            request,
            described["id"],
            form["grain"],
            form["by"],
            _date(start, "from"),
            _date(end, "to"),
            options,
        )
    except SmbGrowthError as exc:
        if not fragment:
            raise
        # An htmx swap shows the problem in place of the chart (4xx is not swapped).
        context["error"] = str(exc)
    else:
        periods, series = _series(data, bool(described["additive"]))
        title = f"{described['name']} by {form['grain']}" + (
            f" and {form['by']}" if form["by"] else ""
        )
        context["figure"] = _figure(title, described["unit"], periods, series)
        context["table"] = {
            "columns": list(series),
            "rows": [
                (p, [series[n].get(p) for n in series]) for p in reversed(periods[-TABLE_PERIODS:])
            ],
            "more": max(len(periods) - TABLE_PERIODS, 0),
            "values": len(data["rows"]),
        }
    template = "analytics/_kpi_result.html" if fragment else "analytics/kpis.html"
    return render(request, template, context)


@router.get("/api/metrics", tags=["KPIs"])
async def api_metrics() -> dict[str, Any]:
    """Every metric in the registry: id, name, driver, unit, formula, convention, grains,
    dimensions and options."""
    return {"metrics": [m.describe() for m in list_metrics()]}


@router.get("/api/kpis", tags=["KPIs"])
async def api_kpis(
    request: Request,
    metric: str = Query(..., description="Metric id (see /api/metrics)."),
    grain: str = Query("month", description="day, week, month, quarter, year or total."),
    by: str | None = Query(None, description="A dimension of the metric, e.g. channel."),
    start: str | None = Query(None, description="First day, YYYY-MM-DD."),
    end: str | None = Query(None, description="Last day, YYYY-MM-DD."),
    option: list[str] = Query([], description="A metric convention, NAME=VALUE; repeat."),
) -> dict[str, Any]:
    """A metric by period (and dimension): ``{"metric", "unit", "grain", "by"?, "rows"}``,
    the same as ``smbgrowth kpis --json``."""
    return await metric_rows(
        request,
        metric,
        grain,
        by or None,
        _date(start, "start"),
        _date(end, "end"),
        _options(option),
    )
