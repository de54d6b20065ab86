"""The automation plan: ranked opportunities with their NPV ranges, and the roadmap.

The plan takes a few seconds (every opportunity is simulated against the
baseline), so the page computes it as a background job the first time per
data version and serves it from the cache afterwards. Only one computation
runs at a time: a second request waits for the first and reuses its result.
"""

from __future__ import annotations

import asyncio
import html
import threading
import weakref
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from smbgrowth.data.workspace import Workspace
from smbgrowth.jsonsafe import json_safe
from smbgrowth.web.common import render, runner_of, session_of
from smbgrowth.web.runner import Job, JobProgress, WorkspaceRunner

__all__ = ["router"]

router = APIRouter()

#: Monte Carlo runs per opportunity on the dashboard.
RUNS = 300
_KEY = ("plan", RUNS)
_locks: weakref.WeakKeyDictionary[WorkspaceRunner, threading.Lock] = weakref.WeakKeyDictionary()
_jobs: weakref.WeakKeyDictionary[WorkspaceRunner, dict[str, Job]] = weakref.WeakKeyDictionary()


def _compute(ws: Workspace) -> dict[str, Any]:
    from smbgrowth.plan.planner import make_plan

    plan = make_plan(ws, runs=RUNS, save=True)
    data: dict[str, Any] = plan.to_dict(cumulative=False)
    return data


def _lock(runner: WorkspaceRunner) -> threading.Lock:
    return _locks.setdefault(runner, threading.Lock())


def _plan_sync(runner: WorkspaceRunner) -> dict[str, Any]:
    """The plan of the current data version (computed once; callers queue on a lock)."""
    with _lock(runner):
        return asyncio.run(runner.cached(_KEY, _compute))


def _cached_now(runner: WorkspaceRunner) -> dict[str, Any] | None:
    """The plan if it is already computed for this data version (never computes it)."""
    hit: list[dict[str, Any]] = []

    def probe(ws: Workspace) -> dict[str, Any]:
        raise LookupError  # only called on a cache miss

    lock = _lock(runner)
    if not lock.acquire(blocking=False):
        return None
    try:
        hit.append(asyncio.run(runner.cached(_KEY, probe)))
    except LookupError:
        return None
    finally:
        lock.release()
    return hit[0]


def npv_figure(plan: dict[str, Any]) -> dict[str, Any] | None:
    """Each opportunity's NPV: the p10–p90 range with the median, best rank on top."""
    ranked = plan.get("opportunities") or []
    if not ranked:
        return None
    names = [f"{o['rank']}. {html.escape(str(o['name']))}" for o in ranked]
    p10 = [o["roi"]["npv"]["p10"] for o in ranked]
    p50 = [o["roi"]["npv"]["p50"] for o in ranked]
    p90 = [o["roi"]["npv"]["p90"] for o in ranked]
    currency = html.escape(str(plan.get("currency") or ""))
    figure: dict[str, Any] = json_safe(
        {
            "data": [
                {
                    "type": "scatter",
                    "mode": "markers",
                    "orientation": "h",
                    "x": p50,
                    "y": names,
                    "marker": {"size": 10, "color": "#2155c4"},
                    "error_x": {
                        "type": "data",
                        "symmetric": False,
                        "array": [hi - mid for hi, mid in zip(p90, p50, strict=True)],
                        "arrayminus": [mid - lo for lo, mid in zip(p10, p50, strict=True)],
                        "color": "#7a8494",
                        "thickness": 6,
                        "width": 0,
                    },
                    "name": "NPV p10 – median – p90",
                    "hovertemplate": "%{y}: median %{x:,.0f}<extra></extra>",
                }
            ],
            "layout": {
                "title": {"text": f"NPV over {plan.get('months')} months ({currency})"},
                "yaxis": {"autorange": "reversed", "automargin": True},
                "xaxis": {"zeroline": True, "zerolinecolor": "#b3261e"},
                "height": max(260, 40 * len(names) + 100),
                "showlegend": False,
            },
        }
    )
    return figure


def _view(plan: dict[str, Any]) -> dict[str, Any]:
    return {"plan": plan, "figure": npv_figure(plan)}


def _start(request: Request, runner: WorkspaceRunner) -> Job:
    """This user's plan job of this data version, started unless one is running or done."""
    user = session_of(request).username
    jobs = _jobs.setdefault(runner, {})
    current = f"{runner.version}:"
    for stale in [k for k in jobs if not k.startswith(current)]:
        del jobs[stale]
    key = current + user
    job = jobs.get(key)
    if job is not None and job.status != "failed":
        return job

    def work(progress: JobProgress) -> dict[str, Any]:
        progress(0.05, "simulating every opportunity against the baseline")
        plan = _plan_sync(runner)
        progress(0.95, "ranking")
        return _view(plan)

    job = runner.start_job("plan", user, work)
    jobs[key] = job
    return job


@router.get("/plan", response_class=HTMLResponse, include_in_schema=False)
async def plan_page(request: Request) -> HTMLResponse:
    """The plan if it is computed; otherwise a progress bar that turns into it."""
    runner = runner_of(request)
    plan = await asyncio.to_thread(_cached_now, runner)
    context: dict[str, Any] = {"title": "Automation plan", "job": None, "result": None}
    if plan is not None:
        context["result"] = _view(plan)
    else:
        context["job"] = _start(request, runner)
    return render(request, "interactive/plan.html", context)


@router.get("/api/plan", tags=["plan"])
async def api_plan(request: Request) -> dict[str, Any]:
    """The automation plan: needs, ranked opportunities with ROI ranges, and the roadmap."""
    return await asyncio.to_thread(_plan_sync, runner_of(request))
