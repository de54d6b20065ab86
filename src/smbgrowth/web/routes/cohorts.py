"""Cohorts: the retention triangle of each acquisition month (or quarter) as a heatmap."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MetricError
from smbgrowth.web.common import render, runner_of
from smbgrowth.web.runner import WorkspaceRunner

__all__ = ["router", "warm"]

router = APIRouter()


def _check(measure: str, grain: str) -> None:
    if measure not in ("customers", "revenue"):
        raise MetricError(f"the measure must be customers or revenue, not {measure!r}")
    if grain not in ("month", "quarter"):
        raise MetricError(f"cohorts are by month or quarter, not {grain!r}")


async def _cohorts(runner: WorkspaceRunner, measure: str, grain: str) -> dict[str, Any]:
    _check(measure, grain)

    def work(ws: Workspace) -> dict[str, Any]:
        from smbgrowth.metrics.cohorts import cohort_retention
        from smbgrowth.report.charts import cohort_heatmap_figure

        matrix = cohort_retention(ws, measure=measure, grain=grain)  # type: ignore[arg-type]
        figure = cohort_heatmap_figure(matrix)
        return {"data": matrix.to_dict(), "figure": figure}

    out: dict[str, Any] = await runner.cached(("cohorts", measure, grain), work)
    return out


@router.get("/cohorts", response_class=HTMLResponse, include_in_schema=False)
async def cohorts_page(
    request: Request, measure: str = "customers", grain: str = "month"
) -> HTMLResponse:
    found = await _cohorts(runner_of(request), measure, grain)
    data = found["data"]
    ages = max((len(c["values"]) for c in data["cohorts"]), default=0)
    template = (
        "analytics/_cohorts_result.html"
        if "hx-request" in request.headers
        else ("analytics/cohorts.html")
    )
    return render(
        request,
        template,
        {
            "title": "Cohorts",
            "data": data,
            "figure": found["figure"] if data["cohorts"] else None,
            "ages": list(range(ages)),
        },
    )


@router.get("/api/cohorts", tags=["customers"])
async def api_cohorts(
    request: Request,
    measure: str = Query("customers", description="customers (share still buying) or revenue."),
    grain: str = Query("month", description="month or quarter."),
) -> dict[str, Any]:
    """Cohort retention: ``{"measure", "grain", "cohorts": [{"cohort", "size", "values"}]}``,
    each cohort's share by age (0, 1, …), the same as ``smbgrowth cohorts --json``."""
    found = await _cohorts(runner_of(request), measure, grain)
    data: dict[str, Any] = found["data"]
    return data


async def warm(runner: WorkspaceRunner) -> None:
    """Compute the default heatmap before anyone asks."""
    await _cohorts(runner, "customers", "month")
