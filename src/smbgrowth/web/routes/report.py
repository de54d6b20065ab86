"""The report from the web: built in the background with progress, then downloaded as one file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from smbgrowth.errors import ConfigError
from smbgrowth.web.common import render, runner_of, session_of
from smbgrowth.web.runner import Job, JobProgress

__all__ = ["router"]

router = APIRouter()
#: Where built reports wait to be downloaded (inside the workspace, one file per job).
FOLDER = ".reports"
#: Reports kept at most (older ones are removed when a new one is built).
KEEP = 20


def _date(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{field} {value!r} is not a date like 2025-01-31") from None


def _tidy(folder: Path) -> None:
    files = sorted(folder.glob("*.html"), key=lambda p: p.stat().st_mtime)
    for old in files[:-KEEP]:
        old.unlink(missing_ok=True)


def _start(request: Request, start: str, end: str) -> Job:
    from smbgrowth.report.render import write_report

    runner = runner_of(request)
    session = session_of(request)
    first, last = _date(start, "from"), _date(end, "to")
    if first and last and first > last:
        raise ConfigError(f"from {first} is after to {last}")
    folder = Path(request.app.state.workspace) / FOLDER
    folder.mkdir(exist_ok=True)
    _tidy(folder)

    def work(progress: JobProgress) -> dict[str, Any]:
        target = folder / f"{progress.job_id}.html"

        def step(stage: str, fraction: float) -> None:
            progress(0.05 + 0.9 * fraction, stage)

        progress(0.02, "starting")
        written = runner.call_sync(
            lambda ws: write_report(ws, target, start=first, end=last, progress=step)
        )
        return {"file": target.name, **written.to_dict()}

    return runner.start_job("report", session.username, work)


@router.get("/report", response_class=HTMLResponse, include_in_schema=False)
async def report_page(request: Request) -> HTMLResponse:
    return render(request, "report/page.html", {"title": "Report"})


@router.post("/report", response_class=HTMLResponse, include_in_schema=False)
async def build_report_page(
    request: Request, start: str = Form(""), end: str = Form("")
) -> HTMLResponse:
    """Start building the report; the progress bar turns into the download link."""
    job = _start(request, start, end)
    return render(request, "jobs/progress.html", {"job": job})


@router.post("/api/report", status_code=202, tags=["report"])
async def api_build_report(request: Request, start: str = "", end: str = "") -> dict[str, str]:
    """Start building the HTML report (``start``/``end`` limit the trends); returns the job id."""
    return {"job": _start(request, start, end).id}


@router.get("/report/{job_id}/download", include_in_schema=False)
@router.get("/api/report/{job_id}", tags=["report"])
async def download_report(request: Request, job_id: str) -> FileResponse:
    """The finished report of a job, as a file to save (``smbgrowth-report.html``)."""
    job = runner_of(request).job(job_id)
    session = session_of(request)
    if job is None or (job.owner != session.username and session.role != "owner"):
        raise HTTPException(status_code=404, detail="no such report")
    if job.status != "done":
        raise HTTPException(status_code=409, detail=f"the report is {job.status}, not ready")
    path = Path(request.app.state.workspace) / FOLDER / str(job.result["file"])
    if not path.is_file():
        raise HTTPException(status_code=404, detail="the report was removed; build it again")
    return FileResponse(
        path,
        media_type="text/html",
        filename="smbgrowth-report.html",
        content_disposition_type="attachment",
        headers={"Content-Security-Policy": "sandbox"},
    )
