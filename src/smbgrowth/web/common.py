"""What every dashboard page and API route shares: session, roles, rendering, chart JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse

from smbgrowth.formatting import format_value
from smbgrowth.jsonsafe import json_safe
from smbgrowth.web.runner import WorkspaceRunner
from smbgrowth.web.users import Session, role_allows

__all__ = [
    "NAV",
    "StrictJSONResponse",
    "embed_json",
    "fmt",
    "render",
    "require",
    "runner_of",
    "session_of",
]


class StrictJSONResponse(JSONResponse):
    """JSON that strict parsers accept: NaN and infinities become null, never bare NaN."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            json_safe(content),
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
            default=str,
        ).encode("utf-8")


#: The dashboard's pages in the navigation: (path, label).
NAV: tuple[tuple[str, str], ...] = (
    ("/", "Overview"),
    ("/kpis", "KPIs"),
    ("/cohorts", "Cohorts"),
    ("/customers", "Customers"),
    ("/experiments", "Experiments"),
    ("/forecast", "Forecast & cash"),
    ("/simulate", "What-if"),
    ("/plan", "Automation plan"),
    ("/automation", "Automation"),
    ("/data", "Data"),
    ("/report", "Report"),
)


def session_of(request: Request) -> Session:
    """The logged-in session (the auth middleware guarantees one on protected routes)."""
    session = getattr(request.state, "session", None)
    if session is None:
        raise HTTPException(status_code=401, detail="log in first")
    assert isinstance(session, Session)
    return session


def runner_of(request: Request) -> WorkspaceRunner:
    runner = request.app.state.runner
    assert isinstance(runner, WorkspaceRunner)
    return runner


def require(role: str) -> Callable[[Request], Session]:
    """A dependency that lets only ``role`` or higher through (403 otherwise)."""

    def check(request: Request) -> Session:
        session = session_of(request)
        if not role_allows(session.role, role):
            raise HTTPException(
                status_code=403, detail=f"this needs the {role} role; you are {session.role}"
            )
        return session

    return check


def embed_json(data: Any) -> str:
    """JSON safe to put inside ``<script type="application/json">`` (no ``<``, ``>``, ``&``)."""
    text = json.dumps(json_safe(data), default=str, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def fmt(value: Any, unit: str = "") -> str:
    """A metric value for a table (the CLI's and the report's formatter)."""
    return format_value(value, unit)


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the session, CSRF token and navigation in its context."""
    session = getattr(request.state, "session", None)
    templates = request.app.state.templates
    full = {
        "request": request,
        "session": session,
        "csrf": session.csrf if session is not None else "",
        "nav": NAV,
        "path": request.url.path,
        "embed_json": embed_json,
        "fmt": fmt,
        "can": (lambda role: session is not None and role_allows(session.role, role)),
        **context,
    }
    response = templates.TemplateResponse(request, template, full, status_code=status_code)
    assert isinstance(response, HTMLResponse)
    return response
