"""Forecast and cash: the revenue forecast with intervals and the 13-week cash projection."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import SmbGrowthError
from smbgrowth.web.common import render, runner_of
from smbgrowth.web.runner import WorkspaceRunner

__all__ = ["router", "warm"]

router = APIRouter()

#: The page's forecast: net revenue by month, six months ahead (fast; the CLI does more).
FORECAST_METRIC = "revenue_net"
FORECAST_GRAIN = "month"
FORECAST_HORIZON = 6
#: The cash view: 13 weeks from the stored balance, with a fixed seed (same answer each time).
CASH_WEEKS = 13
CASH_SEED = 0


async def _forecast(runner: WorkspaceRunner, metric: str, horizon: int) -> dict[str, Any]:
    def work(ws: Workspace) -> dict[str, Any]:
        from smbgrowth.metrics.registry import get_metric
        from smbgrowth.models.forecast import forecast_metric
        from smbgrowth.report.charts import forecast_figure

        result = forecast_metric(ws, metric, grain=FORECAST_GRAIN, horizon=horizon)
        data: dict[str, Any] = result.to_dict()
        data["currency"] = ws.reporting_currency
        data["name"] = get_metric(metric).name
        title = f"{data['name']} by {FORECAST_GRAIN}, next {horizon} months"
        figures = [forecast_figure(s, title=title, unit=data["unit"]) for s in data["series"]]
        return {"data": data, "figures": figures}

    out: dict[str, Any] = await runner.cached(("forecast", metric, horizon), work)
    return out


async def _cash(runner: WorkspaceRunner) -> dict[str, Any]:
    def work(ws: Workspace) -> dict[str, Any]:
        from smbgrowth.models.cashflow import opening_balance, project_cash
        from smbgrowth.report.charts import cash_paths_figure

        balance = opening_balance(ws)
        projection = project_cash(
            ws, balance.amount, weeks=CASH_WEEKS, as_of=balance.as_of, seed=CASH_SEED
        )
        data: dict[str, Any] = projection.to_dict()
        return {"data": data, "figure": cash_paths_figure(data)}

    out: dict[str, Any] = await runner.cached(("cash", CASH_WEEKS, CASH_SEED), work)
    return out


@router.get("/forecast", response_class=HTMLResponse, include_in_schema=False)
async def forecast_page(request: Request) -> HTMLResponse:
    context: dict[str, Any] = {"title": "Forecast & cash", "forecast": None, "cash": None}
    notes = []
    try:
        context["forecast"] = await _forecast(runner_of(request), FORECAST_METRIC, FORECAST_HORIZON)
    except SmbGrowthError as exc:
        notes.append(f"forecast: {exc}")
    try:
        context["cash"] = await _cash(runner_of(request))
    except SmbGrowthError as exc:
        notes.append(f"cash: {exc}")
    context["notes"] = notes
    return render(request, "analytics/forecast.html", context)


@router.get("/api/forecast", tags=["forecasts"])
async def api_forecast(
    request: Request,
    metric: str = Query(FORECAST_METRIC, description="Registry metric to forecast."),
    horizon: int = Query(FORECAST_HORIZON, ge=1, le=24, description="Months ahead."),
) -> dict[str, Any]:
    """A metric's monthly forecast with 80 % and 95 % intervals, the model chosen by backtest,
    the backtest scores and the actuals (as ``smbgrowth forecast --json``)."""
    data: dict[str, Any] = (await _forecast(runner_of(request), metric, horizon))["data"]
    return data


@router.get("/api/cash", tags=["forecasts"])
async def api_cash(request: Request) -> dict[str, Any]:
    """The 13-week cash projection from the stored bank balance: balance p5–p95 by week,
    flows, the runway, the chance of running out and what drives the low point."""
    data: dict[str, Any] = (await _cash(runner_of(request)))["data"]
    return data


async def warm(runner: WorkspaceRunner) -> None:
    """Compute what the page shows, before anyone asks (after start and after each import)."""
    await _forecast(runner, FORECAST_METRIC, FORECAST_HORIZON)
    await _cash(runner)
