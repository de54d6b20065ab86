"""Data: what the workspace holds, its import history, and imports from an upload.

An upload is read with a size bound (the request stops being read past
``app.state.max_upload``: 413) and a type check (415), saved in a private
folder inside the workspace (``.uploads/<id>``), and first imported as a dry
run: the page shows the mapping (field ← column), the rows each table would
gain or change and the warnings, and nothing is written. The "Import" button
then runs the real import as a background job (``kind="import"``) that clears
the result cache when it commits; the upload folder is removed afterwards.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from smbgrowth.data.importer import ImportResult, import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.quality import workspace_status
from smbgrowth.data.schema import CANONICAL_TABLES
from smbgrowth.data.sources import SOURCES, get_source
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError, SmbGrowthError
from smbgrowth.web.common import render, require, runner_of
from smbgrowth.web.runner import JobProgress, WorkspaceRunner
from smbgrowth.web.security import UPLOAD_TYPES, check_upload_name
from smbgrowth.web.users import Session

__all__ = ["router", "warm"]

router = APIRouter()

#: Folder (inside the workspace) that holds uploads between preview and import.
UPLOAD_DIR = ".uploads"
#: Room for the form's other fields and a mapping file on top of the export itself.
_FORM_OVERHEAD = 128 * 1024
_MAPPING_MAX = 64 * 1024
_MAPPING_TYPES = (".yaml", ".yml")
#: Uploads never imported are removed after this many seconds.
_STALE_SECONDS = 24 * 3600
_ID = re.compile(r"[0-9a-f]{32}")
_TABLES = (*CANONICAL_TABLES, "order_lines")
_OPTION_FIELDS = ("table", "date_format", "decimal", "channel", "sheet")


class _UploadError(Exception):
    """An upload refused before the import: its HTTP status and one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class _Upload:
    """An upload saved in the workspace, waiting for its import."""

    id: str
    folder: Path
    owner: str
    source: str
    file: str
    options: dict[str, str]
    mapping: str | None

    @property
    def path(self) -> Path:
        return self.folder / self.file

    def import_options(self) -> ImportOptions:
        mapping = str(self.folder / self.mapping) if self.mapping else None
        return ImportOptions(mapping_file=mapping, **self.options)


# -- uploads -------------------------------------------------------------------------


def _uploads_root(request: Request) -> Path:
    return Path(request.app.state.workspace) / UPLOAD_DIR


def _remove_stale(root: Path) -> None:
    if not root.is_dir():
        return
    cutoff = time.time() - _STALE_SECONDS
    for child in root.iterdir():
        try:
            if child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)
        except OSError:
            continue


async def _read_form(request: Request) -> tuple[dict[str, str], dict[str, UploadFile]]:
    """The multipart form's text fields and files, reading no more than the upload limit."""
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise _UploadError(415, "send the export as multipart/form-data (a file upload)")
    max_upload: int = request.app.state.max_upload
    limit = max_upload + _FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _UploadError(413, _too_big(max_upload))
    too_big = False

    async def bounded() -> AsyncGenerator[bytes, None]:
        nonlocal too_big
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                too_big = True
                raise MultiPartException("too large")
            yield chunk

    parser = MultiPartParser(request.headers, bounded(), max_files=3, max_fields=30)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        if too_big:
            raise _UploadError(413, _too_big(max_upload)) from None
        raise _UploadError(400, f"the upload could not be read: {exc.message}") from None
    fields: dict[str, str] = {}
    files: dict[str, UploadFile] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields[key] = value.strip()
        elif value.filename:  # a file input left empty sends a part without a name
            files[key] = value
    return fields, files


def _too_big(max_upload: int) -> str:
    return (
        f"the file is larger than the upload limit of {max_upload:,} bytes; "
        "import it from the command line with `smbgrowth import`"
    )


async def _save(upload: UploadFile, target: Path, limit: int, max_upload: int) -> None:
    size = 0
    with target.open("wb") as out:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise _UploadError(413, _too_big(max_upload))
            out.write(chunk)


async def _receive(request: Request, session: Session) -> _Upload:
    """Check and save the upload of this request; the folder is removed if anything is wrong."""
    fields, files = await _read_form(request)
    source = fields.get("source", "").lower() or "csv"
    try:
        get_source(source)
    except ConfigError as exc:
        raise _UploadError(400, str(exc)) from None
    export = files.get("file")
    if export is None:
        raise _UploadError(400, "choose the export file to import")
    try:
        name = check_upload_name(export.filename or "")
    except ConfigError as exc:
        raise _UploadError(415, str(exc)) from None
    mapping_file = files.get("mapping")
    if mapping_file is not None and Path(mapping_file.filename or "").suffix.lower() not in (
        _MAPPING_TYPES
    ):
        raise _UploadError(415, "the mapping file must be a .yaml file")
    options = {k: fields[k] for k in _OPTION_FIELDS if fields.get(k)}
    if source != "csv":
        options.pop("table", None)
    elif "table" in options and options["table"] not in _TABLES:
        raise _UploadError(400, f"unknown table {options['table']!r}; choose one of the list")
    if options.get("decimal") not in (None, ".", ","):
        raise _UploadError(400, "the decimal separator must be '.' or ','")
    root = _uploads_root(request)
    _remove_stale(root)
    upload_id = secrets.token_hex(16)
    folder = root / upload_id
    folder.mkdir(parents=True, mode=0o700)
    max_upload: int = request.app.state.max_upload
    try:
        await _save(export, folder / name, max_upload, max_upload)
        if mapping_file is not None:
            await _save(mapping_file, folder / "mapping.yaml", _MAPPING_MAX, _MAPPING_MAX)
        upload = _Upload(
            id=upload_id,
            folder=folder,
            owner=session.username,
            source=source,
            file=name,
            options=options,
            mapping="mapping.yaml" if mapping_file is not None else None,
        )
        meta = {
            "owner": upload.owner,
            "source": upload.source,
            "file": upload.file,
            "options": upload.options,
            "mapping": upload.mapping,
        }
        (folder / "upload.json").write_text(json.dumps(meta), encoding="utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return upload


def _claim(request: Request, session: Session, upload_id: str) -> _Upload:
    """Take a previewed upload for its import (once: a second click finds it gone)."""
    root = _uploads_root(request)
    gone = "this upload was already imported or has expired; upload the file again"
    if not _ID.fullmatch(upload_id):
        raise HTTPException(status_code=404, detail=gone)
    folder = root / upload_id
    try:
        meta = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise HTTPException(status_code=404, detail=gone) from None
    if meta["owner"] != session.username and session.role != "owner":
        raise HTTPException(status_code=404, detail=gone)
    claimed = root / f"{upload_id}.importing"
    try:
        folder.rename(claimed)
    except OSError:
        raise HTTPException(status_code=404, detail=gone) from None
    return _Upload(
        id=upload_id,
        folder=claimed,
        owner=meta["owner"],
        source=meta["source"],
        file=meta["file"],
        options=dict(meta["options"]),
        mapping=meta["mapping"],
    )


# -- imports -------------------------------------------------------------------------


def _summary(result: ImportResult) -> dict[str, Any]:
    """The import result with file names instead of server paths."""
    data = result.to_dict()
    for f in data["files"]:
        f["file"] = Path(f["file"]).name
    return data


async def _dry_run(request: Request, upload: _Upload) -> dict[str, Any]:
    try:
        result = await runner_of(request).call(
            lambda ws: import_files(
                ws, upload.source, [upload.path], upload.import_options(), dry_run=True
            )
        )
    except BaseException:
        shutil.rmtree(upload.folder, ignore_errors=True)
        raise
    return _summary(result)


def _start_import(request: Request, session: Session, upload: _Upload) -> str:
    runner = runner_of(request)

    def work(progress: JobProgress) -> dict[str, Any]:
        def report(message: str, fraction: float) -> None:
            progress(0.05 + 0.9 * fraction, message)

        progress(0.02, f"importing {upload.file}")
        try:
            result = runner.call_sync(
                lambda ws: import_files(
                    ws, upload.source, [upload.path], upload.import_options(), progress=report
                )
            )
        finally:
            shutil.rmtree(upload.folder, ignore_errors=True)
        return _summary(result)

    job = runner.start_job("import", session.username, work, changes_data=True)
    return job.id


# -- status and history --------------------------------------------------------------


def _status(ws: Workspace) -> dict[str, Any]:
    return workspace_status(ws).to_dict()


def _history(ws: Workspace) -> list[dict[str, Any]]:
    frame = ws.imports()
    out: list[dict[str, Any]] = []
    for row in frame.to_dict(orient="records"):
        try:
            files = [Path(str(p)).name for p in json.loads(row["files"])]
        except (TypeError, ValueError):
            files = []
        try:
            tables = json.loads(row["details"]).get("tables", {})
        except (TypeError, ValueError, AttributeError):
            tables = {}
        out.append(
            {
                "import_id": row["import_id"],
                "source": row["source"],
                "files": files,
                "started_at": str(row["started_at"]),
                "finished_at": str(row["finished_at"]),
                "rows_read": int(row["rows_read"]),
                "inserted": int(row["inserted"]),
                "updated": int(row["updated"]),
                "unchanged": int(row["unchanged"]),
                "tables": tables,
            }
        )
    return out


def _is_htmx(request: Request) -> bool:
    return "hx-request" in request.headers


def _preview_response(
    request: Request, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """The preview as an htmx fragment (always 200, so htmx swaps it in) or a full page."""
    if _is_htmx(request):
        return render(request, "admin/_preview.html", context)
    return render(
        request,
        "admin/preview_page.html",
        {"title": "Import preview", **context},
        status_code=status_code,
    )


# -- pages ---------------------------------------------------------------------------


@router.get("/data", response_class=HTMLResponse, include_in_schema=False)
async def data_page(request: Request) -> HTMLResponse:
    runner = runner_of(request)
    status = await runner.cached(("data-status",), _status)
    history = await runner.cached(("data-imports",), _history)
    return render(
        request,
        "admin/data.html",
        {
            "title": "Data",
            "status": status,
            "history": history,
            "sources": [(name, s.help) for name, s in SOURCES.items()],
            "tables": _TABLES,
            "upload_types": ", ".join(UPLOAD_TYPES),
            "max_upload": request.app.state.max_upload,
        },
    )


@router.post("/data/preview", response_class=HTMLResponse, include_in_schema=False)
async def data_preview(
    request: Request, session: Session = Depends(require("analyst"))
) -> HTMLResponse:
    """Dry-run the uploaded export and show the mapping and the changes; nothing is written."""
    try:
        upload = await _receive(request, session)
        preview = await _dry_run(request, upload)
    except _UploadError as exc:
        return _preview_response(request, {"error": exc.message}, status_code=exc.status)
    except SmbGrowthError as exc:
        return _preview_response(request, {"error": str(exc)}, status_code=400)
    return _preview_response(request, {"preview": preview, "upload_id": upload.id})


@router.post("/data/import", response_class=HTMLResponse, include_in_schema=False)
async def data_import(
    request: Request, session: Session = Depends(require("analyst"))
) -> HTMLResponse:
    """Import a previewed upload as a background job; the page follows its progress."""
    form = await request.form()
    upload_id = form.get("upload")
    upload = _claim(request, session, upload_id if isinstance(upload_id, str) else "")
    job_id = _start_import(request, session, upload)
    job = runner_of(request).job(job_id)
    if _is_htmx(request):
        return render(request, "jobs/progress.html", {"job": job})
    return render(request, "admin/import_page.html", {"title": "Import", "job": job})


@router.post("/data/discard", response_class=HTMLResponse, include_in_schema=False)
async def data_discard(
    request: Request, session: Session = Depends(require("analyst"))
) -> Response:
    """Drop a previewed upload without importing it."""
    form = await request.form()
    upload_id = form.get("upload")
    try:
        upload = _claim(request, session, upload_id if isinstance(upload_id, str) else "")
    except HTTPException:
        pass
    else:
        shutil.rmtree(upload.folder, ignore_errors=True)
    if _is_htmx(request):
        return HTMLResponse('<p class="note">Upload discarded; nothing was written.</p>')
    return Response(status_code=303, headers={"Location": "/data"})


# -- API -------------------------------------------------------------------------------

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "source": {"type": "string", "enum": list(SOURCES), "default": "csv"},
                        "table": {"type": "string", "enum": list(_TABLES)},
                        "mapping": {"type": "string", "format": "binary"},
                        "date_format": {"type": "string"},
                        "decimal": {"type": "string", "enum": [".", ","]},
                        "channel": {"type": "string"},
                        "sheet": {"type": "string"},
                    },
                }
            }
        },
    }
}


@router.get("/api/status", tags=["data"])
async def api_status(request: Request) -> dict[str, Any]:
    """Tables with their rows and date ranges, data-quality warnings, the number of imports."""
    return await runner_of(request).cached(("data-status",), _status)


@router.get("/api/imports", tags=["data"])
async def api_imports(request: Request) -> dict[str, Any]:
    """The import history, newest first."""
    return {"imports": await runner_of(request).cached(("data-imports",), _history)}


@router.post("/api/imports", tags=["data"], openapi_extra=_UPLOAD_BODY, status_code=202)
async def api_import(
    request: Request, dry_run: bool = False, session: Session = Depends(require("analyst"))
) -> Response:
    """Import an uploaded export as a background job: ``{"job": id}`` (follow ``/api/jobs/{id}``).

    With ``dry_run=true``, check it and answer the mapping and the changes it would
    make instead (nothing is written).
    """
    try:
        upload = await _receive(request, session)
    except _UploadError as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status)
    if dry_run:
        preview = await _dry_run(request, upload)
        shutil.rmtree(upload.folder, ignore_errors=True)
        return JSONResponse(preview)
    claimed = _claim(request, session, upload.id)
    return JSONResponse({"job": _start_import(request, session, claimed)}, status_code=202)


async def warm(runner: WorkspaceRunner) -> None:
    """Read the workspace's status and history before anyone asks."""
    await runner.cached(("data-status",), _status)
    await runner.cached(("data-imports",), _history)
