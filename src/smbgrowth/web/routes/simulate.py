"""What-if simulator: move the levers, see revenue, customers and cash against the baseline.

Every change of the form starts a background job that calibrates the growth
model once per data version (cached), runs the baseline and the what-if
scenario in one Monte Carlo batch (common random numbers, seed 0) and renders
fan charts, the binding constraints and the differences from the baseline.
Simulating changes nothing, so every role may do it.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import pydantic
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from smbgrowth.data.workspace import Workspace
from smbgrowth.jsonsafe import json_safe
from smbgrowth.web.common import render, runner_of, session_of
from smbgrowth.web.runner import Job, JobProgress, WorkspaceRunner

__all__ = ["Levers", "router", "scenario_mapping"]

router = APIRouter()
T = TypeVar("T")

#: The fan charts of the result: (trajectory column, title).
FANS = (("revenue", "Revenue a month"), ("customers", "Customers"), ("cash", "Cash"))
_COLOURS = {
    "baseline": ("#7a8494", "rgba(122,132,148,0.22)"),
    "what-if": ("#2155c4", "rgba(33,85,196,0.22)"),
}


class Levers(BaseModel):
    """The what-if levers, as the form and the JSON API take them (percent as numbers)."""

    model_config = ConfigDict(extra="forbid")

    spend_change: float = Field(default=0, ge=-50, le=100, description="Paid spend change, %.")
    hires: int = Field(default=0, ge=0, le=5, description="People hired from month 1.")
    price_change: float = Field(default=0, ge=-20, le=20, description="Price change, %.")
    automation_gain: float = Field(
        default=0, ge=0, le=100, description="Capacity an automation adds at full adoption, %."
    )
    automation_monthly_cost: float = Field(default=0, ge=0, le=1_000_000)
    automation_setup_cost: float = Field(default=0, ge=0, le=10_000_000)
    months: int = Field(default=24, ge=12, le=36)
    runs: int = Field(default=500, ge=200, le=2000)


def scenario_mapping(levers: Levers) -> dict[str, Any]:
    """The scenario (see :mod:`smbgrowth.dynamics.scenarios`) the levers describe."""
    data: dict[str, Any] = {"name": "what-if", "description": "The levers set on the dashboard."}
    if levers.spend_change:
        data["marketing"] = {"change": levers.spend_change / 100}
    if levers.hires:
        data["hire"] = {"people": levers.hires}
    if levers.price_change:
        data["price"] = {"change": levers.price_change / 100}
    if levers.automation_gain or levers.automation_monthly_cost or levers.automation_setup_cost:
        data["automation"] = {
            "name": "automation",
            "capacity_gain": levers.automation_gain / 100,
            "monthly_cost": levers.automation_monthly_cost,
            "setup_cost": levers.automation_setup_cost,
        }
    return data


def _cached_sync(runner: WorkspaceRunner, key: Hashable, fn: Callable[[Workspace], T]) -> T:
    """:meth:`WorkspaceRunner.cached` from a job thread (no event loop runs there)."""
    return asyncio.run(runner.cached(key, fn))


def _calibrate(ws: Workspace) -> Any:
    from smbgrowth.dynamics.calibration import calibrate_workspace

    return calibrate_workspace(ws)


def _fan_figure(
    fans: list[tuple[str, list[dict[str, Any]]]], key: str, title: str, currency: str
) -> dict[str, Any]:
    """Baseline and what-if: the p10–p90 band and the median line of one variable."""
    traces: list[dict[str, Any]] = []
    for name, rows in fans:
        line, band = _COLOURS.get(name, _COLOURS["what-if"])
        x = [r["month"] for r in rows]
        label = html.escape(name)
        traces.append({"type": "scatter", "x": x, "y": [r[f"{key}_p10"] for r in rows],
                       "mode": "lines", "line": {"width": 0}, "showlegend": False,
                       "hoverinfo": "skip", "name": f"{label} p10"})  # fmt: skip
        traces.append({"type": "scatter", "x": x, "y": [r[f"{key}_p90"] for r in rows],
                       "mode": "lines", "line": {"width": 0}, "fill": "tonexty",
                       "fillcolor": band, "name": f"{label} p10–p90"})  # fmt: skip
        traces.append({"type": "scatter", "x": x, "y": [r[f"{key}_p50"] for r in rows],
                       "mode": "lines", "line": {"color": line, "width": 2},
                       "name": f"{label} median"})  # fmt: skip
    unit = f" ({html.escape(currency)})" if key != "customers" and currency else ""
    return {
        "data": traces,
        "layout": {
            "title": {"text": f"{html.escape(title)}{unit}"},
            "legend": {"orientation": "h", "y": -0.2},
            "hovermode": "x unified",
        },
    }


def _simulate(
    runner: WorkspaceRunner, levers: Levers, currency: str
) -> Callable[[JobProgress], dict[str, Any]]:
    """The job: calibrate (cached), simulate baseline and what-if, build the charts."""

    def work(progress: JobProgress) -> dict[str, Any]:
        from smbgrowth.dynamics.projection import simulate_business
        from smbgrowth.dynamics.scenarios import scenario_from_mapping

        progress(0.02, "calibrating the growth model")
        calibration = _cached_sync(runner, ("calibration",), _calibrate)
        progress(0.1, "calibrated")
        scenario = scenario_from_mapping(scenario_mapping(levers), "what-if")
        progress(0.3, f"simulating {levers.runs} runs over {levers.months} months")
        result = simulate_business(
            calibration,
            [scenario],
            months=levers.months,
            runs=levers.runs,
            seed=0,
            explain=True,
        )
        progress(0.9, "drawing the charts")
        simulation: dict[str, Any] = json_safe(result.to_dict(fan=True))
        fans = [(str(o["name"]), list(o["fan"])) for o in simulation["scenarios"]]
        figures = {key: _fan_figure(fans, key, title, currency) for key, title in FANS}
        progress(1.0, "done")
        return {
            "levers": levers.model_dump(),
            "currency": currency,
            "simulation": simulation,
            "baseline": simulation["scenarios"][0],
            "scenario": simulation["scenarios"][1],
            "figures": json_safe(figures),
        }

    return work


async def _start(request: Request, levers: Levers) -> Job:
    runner = runner_of(request)
    currency = await runner.cached(("currency",), lambda ws: str(ws.reporting_currency))
    return runner.start_job(
        "simulation", session_of(request).username, _simulate(runner, levers, currency)
    )


def _one_line(exc: pydantic.ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'invalid value')}"


@router.get("/simulate", response_class=HTMLResponse, include_in_schema=False)
async def simulate_page(request: Request) -> HTMLResponse:
    """The levers; the form runs the simulation as soon as the page loads and on every change."""
    return render(
        request,
        "interactive/simulate.html",
        {"title": "What-if", "levers": Levers()},
    )


@router.post("/simulate", response_class=HTMLResponse, include_in_schema=False)
async def simulate_form(request: Request) -> HTMLResponse:
    """Start a simulation from the form; answers the job's progress fragment."""
    form = await request.form()
    values = {k: v for k, v in form.items() if k in Levers.model_fields and v != ""}
    try:
        levers = Levers.model_validate(values)
    except pydantic.ValidationError as exc:
        return render(
            request, "interactive/form_error.html", {"message": _one_line(exc)}, status_code=422
        )
    job = await _start(request, levers)
    return render(request, "jobs/progress.html", {"job": job})


@router.post("/api/simulate", tags=["simulation"])
async def api_simulate(request: Request, levers: Levers) -> dict[str, str]:
    """Start a what-if simulation.

    Poll ``/api/jobs/{job}``, then read the result at ``/api/simulations/{job}``.
    """
    job = await _start(request, levers)
    return {"job": job.id}


@router.get("/api/simulations/{job_id}", tags=["simulation"])
async def api_simulation(request: Request, job_id: str) -> dict[str, Any]:
    """A finished simulation: baseline and what-if outcomes with their fan charts."""
    job = runner_of(request).job(job_id)
    session = session_of(request)
    if (
        job is None
        or job.kind != "simulation"
        or (job.owner != session.username and session.role != "owner")
    ):
        raise HTTPException(status_code=404, detail="no such simulation")
    if job.status == "failed":
        raise HTTPException(status_code=409, detail=f"the simulation failed: {job.error}")
    if job.status != "done":
        raise HTTPException(status_code=409, detail=f"the simulation is still {job.status}")
    simulation: dict[str, Any] = job.result["simulation"]
    return simulation
