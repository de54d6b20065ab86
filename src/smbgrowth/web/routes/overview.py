"""Overview: the scorecard by driver, the lifecycle stage with its evidence, revenue at a glance."""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import SmbGrowthError
from smbgrowth.web.common import render, runner_of
from smbgrowth.web.runner import WorkspaceRunner

__all__ = ["router", "warm"]

router = APIRouter()


def _overview(ws: Workspace) -> dict[str, Any]:
    from smbgrowth.metrics.registry import compute_metric
    from smbgrowth.metrics.scorecard import driver_scorecard
    from smbgrowth.models.lifecycle import judge_stage

    out: dict[str, Any] = {"scorecard": None, "stage": None, "revenue": None, "notes": []}
    try:
        out["scorecard"] = driver_scorecard(ws).to_dict()
    except SmbGrowthError as exc:
        out["notes"].append(str(exc))
    try:
        out["stage"] = judge_stage(ws).to_dict()
    except SmbGrowthError as exc:
        out["notes"].append(f"stage not judged: {exc}")
    try:
        series = compute_metric(ws, "revenue_net", grain="month").series().tail(36)
        out["revenue"] = {"x": [str(p) for p in series.index], "y": series.tolist()}
    except SmbGrowthError:
        pass
    out["currency"] = ws.reporting_currency
    return out


def _revenue_figure(revenue: dict[str, Any] | None, currency: str) -> dict[str, Any] | None:
    if not revenue:
        return None
    return {
        "data": [{"type": "scatter", "mode": "lines+markers", "name": "net revenue", **revenue}],
        "layout": {
            "title": {"text": f"Net revenue by month ({html.escape(currency)})"},
            "yaxis": {"rangemode": "tozero"},
        },
    }


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def overview_page(request: Request) -> HTMLResponse:
    data = await runner_of(request).cached(("overview",), _overview)
    return render(
        request,
        "overview.html",
        {
            "title": "Overview",
            "data": data,
            "revenue_figure": _revenue_figure(data["revenue"], data["currency"]),
        },
    )


@router.get("/api/scorecard", tags=["KPIs"])
async def api_scorecard(request: Request) -> dict[str, Any]:
    """The scorecard: each driver's headline metrics now, a month and a year ago, with trends."""
    data = await runner_of(request).cached(("overview",), _overview)
    if data["scorecard"] is None:
        raise SmbGrowthError(data["notes"][0] if data["notes"] else "no scorecard yet")
    scorecard: dict[str, Any] = data["scorecard"]
    return scorecard


@router.get("/api/stage", tags=["KPIs"])
async def api_stage(request: Request) -> dict[str, Any]:
    """The lifecycle stage with its confidence and evidence."""
    data = await runner_of(request).cached(("overview",), _overview)
    if data["stage"] is None:
        raise SmbGrowthError(data["notes"][-1] if data["notes"] else "no stage yet")
    stage: dict[str, Any] = data["stage"]
    return stage


async def warm(runner: WorkspaceRunner) -> None:
    """Compute the overview before anyone asks."""
    await runner.cached(("overview",), _overview)
