"""Automation: workflows and their runs, the approvals queue, the audit log.

The automation tables live in the workspace's SQLite file; each request opens
its own :class:`~smbgrowth.automation.store.AutomationStore` in a worker
thread and closes it again. Everyone reads; analysts and owners approve or
reject waiting steps (the decision goes to the running workflow through
DBOS); only owners enable or disable workflows. Enabling accepts a stored
workflow or the name of a shipped playbook, never a file path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from smbgrowth.automation.store import AutomationStore
from smbgrowth.errors import SmbGrowthError, WorkflowError
from smbgrowth.web.common import render, require, runner_of
from smbgrowth.web.users import Session

__all__ = ["router"]

router = APIRouter()
T = TypeVar("T")


def _path(request: Request) -> Path:
    path = request.app.state.workspace
    assert isinstance(path, Path)
    return path


async def _with_store(request: Request, fn: Callable[[AutomationStore], T]) -> T:
    """``fn(store)`` in a worker thread, with a store opened and closed for it."""
    path = _path(request)

    def run() -> T:
        with AutomationStore(path) as store:
            return fn(store)

    return await asyncio.to_thread(run)


def _workflows(store: AutomationStore) -> list[dict[str, Any]]:
    return store.workflows()


def _runs(store: AutomationStore) -> list[dict[str, Any]]:
    return [dict(vars(r)) for r in store.runs(limit=50)]


def _approvals(store: AutomationStore) -> list[dict[str, Any]]:
    return store.pending_approvals()


def _audit(store: AutomationStore) -> list[dict[str, Any]]:
    return store.audit_entries(limit=100)


def _everything(store: AutomationStore, playbooks: list[dict[str, Any]]) -> dict[str, Any]:
    stored = set(store.workflow_names())
    return {
        "workflows": _workflows(store),
        "runs": _runs(store),
        "approvals": _approvals(store),
        "audit": _audit(store),
        "playbooks": [p for p in playbooks if p["workflow"] not in stored],
    }


def _playbooks(request: Request) -> list[dict[str, Any]]:
    """The shipped playbooks (files of the package: read once per app)."""
    from smbgrowth.automation.playbooks import list_playbooks

    state = request.app.state
    if getattr(state, "playbooks", None) is None:
        state.playbooks = list_playbooks()
    found: list[dict[str, Any]] = state.playbooks
    return found


async def _set_enabled(request: Request, name: str, enabled: bool, actor: str) -> dict[str, Any]:
    """Enable (a stored workflow or a shipped playbook) or disable a workflow."""
    from smbgrowth.automation.playbooks import list_playbooks, playbook_path

    time_zone = str(await runner_of(request).call(lambda ws: ws.time_zone)) if enabled else ""

    def change(store: AutomationStore) -> dict[str, Any]:
        shipped = {p["name"] for p in list_playbooks()}
        if name in store.workflow_names():
            wf = store.workflow(name)
        elif enabled and name in shipped:
            found = playbook_path(name)
            assert found is not None
            wf = store.load_file(found)
        else:
            known = ", ".join(store.workflow_names()) or "none"
            if not enabled:
                raise WorkflowError(f"no workflow named {name!r}; workflows: {known}")
            raise WorkflowError(
                f"{name!r} is neither a stored workflow ({known}) nor a shipped playbook "
                f"({', '.join(sorted(shipped))})"
            )
        store.set_enabled(wf.name, enabled, actor=actor)
        if enabled:
            store.set_state("workspace_time_zone", time_zone)
        return {"name": wf.name, "version": wf.version, "enabled": enabled}

    return await _with_store(request, change)


async def _decide(request: Request, run_id: str, step: str, approve: bool, actor: str) -> None:
    from smbgrowth.automation.engine import send_approval

    path = _path(request)
    try:
        await asyncio.to_thread(send_approval, path, run_id, step, approve, actor)
    except SmbGrowthError as exc:  # keep the first line (DBOS may append SQL to it)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkflowError(first) from None


async def _page(
    request: Request, *, error: str | None = None, done: str | None = None, status_code: int = 200
) -> HTMLResponse:
    playbooks = _playbooks(request)
    data = await _with_store(request, lambda store: _everything(store, playbooks))
    return render(
        request,
        "interactive/automation.html",
        {"title": "Automation", "data": data, "error": error, "done": done},
        status_code=status_code,
    )


# -- pages ------------------------------------------------------------------------------


@router.get("/automation", response_class=HTMLResponse, include_in_schema=False)
async def automation_page(request: Request) -> HTMLResponse:
    return await _page(request)


@router.post("/automation/workflows/{name}/{action}", include_in_schema=False)
async def workflow_action(
    request: Request,
    name: str,
    action: Literal["enable", "disable"],
    session: Session = Depends(require("owner")),
) -> Response:
    """Enable or disable a workflow (owner only), then back to the page."""
    try:
        await _set_enabled(request, name, action == "enable", session.username)
    except SmbGrowthError as exc:
        return await _page(request, error=str(exc), status_code=400)
    return RedirectResponse("/automation", status_code=303)


@router.post("/automation/approvals/{run_id}/{step}/{decision}", include_in_schema=False)
async def approval_action(
    request: Request,
    run_id: str,
    step: str,
    decision: Literal["approve", "reject"],
    session: Session = Depends(require("analyst")),
) -> Response:
    """Approve or reject a waiting step (analyst or owner); errors are shown on the page."""
    try:
        await _decide(request, run_id, step, decision == "approve", session.username)
    except SmbGrowthError as exc:
        return await _page(request, error=str(exc), status_code=409)
    return await _page(request, done=f"{decision}d run {run_id} step {step}".capitalize())


# -- API --------------------------------------------------------------------------------


@router.get("/api/automation/workflows", tags=["automation"])
async def api_workflows(request: Request) -> dict[str, Any]:
    """Every workflow with its current version, enabled flag and run counts."""
    return {"workflows": await _with_store(request, _workflows)}


@router.get("/api/automation/runs", tags=["automation"])
async def api_runs(request: Request) -> dict[str, Any]:
    """The 50 most recent runs."""
    return {"runs": await _with_store(request, _runs)}


@router.get("/api/automation/approvals", tags=["automation"])
async def api_approvals(request: Request) -> dict[str, Any]:
    """Steps waiting for a person's decision."""
    return {"approvals": await _with_store(request, _approvals)}


@router.get("/api/automation/audit", tags=["automation"])
async def api_audit(request: Request) -> dict[str, Any]:
    """The automation's 100 most recent audit entries, newest first."""
    return {"audit": await _with_store(request, _audit)}


class Decision(BaseModel):
    decision: Literal["approve", "reject"]


@router.post("/api/automation/approvals/{run_id}/{step}", tags=["automation"])
async def api_decide(
    request: Request,
    run_id: str,
    step: str,
    body: Decision,
    session: Session = Depends(require("analyst")),
) -> dict[str, str]:
    """Approve or reject a waiting step (analyst or owner)."""
    await _decide(request, run_id, step, body.decision == "approve", session.username)
    return {"run_id": run_id, "step": step, "decision": body.decision}


@router.post("/api/automation/workflows/{name}/{action}", tags=["automation"])
async def api_workflow_action(
    request: Request,
    name: str,
    action: Literal["enable", "disable"],
    session: Session = Depends(require("owner")),
) -> dict[str, Any]:
    """Enable (a stored workflow or a shipped playbook) or disable a workflow (owner only)."""
    return await _set_enabled(request, name, action == "enable", session.username)
