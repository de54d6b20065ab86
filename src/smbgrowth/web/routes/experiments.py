"""Experiments: the workspace's A/B tests and, for one, its analysis and plain-language readout."""

from __future__ import annotations

import warnings
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import SmbGrowthWarning
from smbgrowth.jsonsafe import json_safe
from smbgrowth.web.common import render, runner_of

__all__ = ["default_metrics", "router"]

router = APIRouter()


def default_metrics(unit_type: str) -> list[str]:
    """The metrics an experiment is read on by default (as ``smbgrowth demo`` does)."""
    return ["reached:purchase"] if unit_type == "session" else ["converted", "revenue"]


def _list(ws: Workspace) -> list[dict[str, Any]]:
    from smbgrowth.models.experiments import list_experiments

    rows: list[dict[str, Any]] = json_safe(list_experiments(ws).to_dict("records"))
    for row in rows:
        row["experiment_id"] = str(row["experiment_id"])
        row["default_metrics"] = default_metrics(str(row["unit_type"]))
    return rows


async def _experiments(request: Request) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await runner_of(request).cached(("experiments",), _list)
    return rows


async def _analysis(
    request: Request, experiment_id: str, metrics: list[str] | None
) -> dict[str, Any]:
    def work(ws: Workspace) -> dict[str, Any]:
        from smbgrowth.models.experiments import analyze_workspace_experiment
        from smbgrowth.report.charts import experiment_lift_figure

        chosen = metrics
        if not chosen:
            known = {r["experiment_id"]: r for r in _list(ws)}
            unit_type = str(known[experiment_id]["unit_type"]) if experiment_id in known else ""
            chosen = default_metrics(unit_type)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SmbGrowthWarning)
            result = analyze_workspace_experiment(ws, experiment_id, chosen)
        data = result.to_dict()
        data["experiment"] = experiment_id
        data["warnings"] = [
            str(w.message) for w in caught if issubclass(w.category, SmbGrowthWarning)
        ]
        table = json_safe(result.table().to_dict("records"))
        comparisons = [c for m in data["metrics"] for c in m["comparisons"]]
        figure = experiment_lift_figure(comparisons, title=f"Lift vs {result.control}")
        return {"data": data, "table": table, "figure": figure if comparisons else None}

    key = ("experiment", experiment_id, tuple(metrics or ()))
    out: dict[str, Any] = await runner_of(request).cached(key, work)
    return out


@router.get("/experiments", response_class=HTMLResponse, include_in_schema=False)
async def experiments_page(request: Request) -> HTMLResponse:
    return render(
        request,
        "analytics/experiments.html",
        {"title": "Experiments", "experiments": await _experiments(request), "chosen": None},
    )


@router.get("/experiments/{experiment_id}", response_class=HTMLResponse, include_in_schema=False)
async def experiment_page(request: Request, experiment_id: str) -> HTMLResponse:
    found = await _analysis(request, experiment_id, None)
    return render(
        request,
        "analytics/experiments.html",
        {
            "title": f"Experiment {experiment_id}",
            "experiments": await _experiments(request),
            "chosen": experiment_id,
            **found,
        },
    )


@router.get("/api/experiments", tags=["experiments"])
async def api_experiments(request: Request) -> dict[str, Any]:
    """The workspace's experiments: unit type, variants, units, assignment period and the
    metrics each is read on by default."""
    return {"experiments": await _experiments(request)}


@router.get("/api/experiments/{experiment_id}", tags=["experiments"])
async def api_experiment(
    request: Request,
    experiment_id: str,
    metric: list[str] = Query(
        [],
        description="Metric to read (converted, revenue, orders, reached:STEP…); repeat. "
        "Default: reached:purchase for session tests, converted and revenue otherwise.",
    ),
) -> dict[str, Any]:
    """An experiment's analysis: per metric and variant the lift with its interval, p-value,
    chance to win and verdict; the sample-ratio check, the recommendation and the readout."""
    data: dict[str, Any] = (await _analysis(request, experiment_id, metric or None))["data"]
    return data
