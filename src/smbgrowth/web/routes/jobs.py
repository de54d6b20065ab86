"""Background jobs started from the web: their progress as a page fragment and as JSON."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from smbgrowth.web.common import render, runner_of, session_of
from smbgrowth.web.runner import Job

__all__ = ["router"]

router = APIRouter()


def _job(request: Request, job_id: str) -> Job:
    job = runner_of(request).job(job_id)
    session = session_of(request)
    if job is None or (job.owner != session.username and session.role != "owner"):
        raise HTTPException(status_code=404, detail="no such job")
    return job


@router.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
async def job_fragment(request: Request, job_id: str) -> HTMLResponse:
    """The job's progress bar; when it is done, the fragment its kind renders."""
    job = _job(request, job_id)
    template = f"jobs/{job.kind}.html" if job.status == "done" else "jobs/progress.html"
    return render(request, template, {"job": job, "result": job.result})


@router.get("/api/jobs/{job_id}", tags=["jobs"])
async def api_job(request: Request, job_id: str) -> dict[str, Any]:
    """A background job's status and progress (0-1)."""
    return _job(request, job_id).to_dict()
