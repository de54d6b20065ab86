"""The automation's public endpoints: incoming webhooks and one-click unsubscribe.

``POST /hooks/{source}`` accepts a JSON event (``{"type": "order.created", "id":
..., ...}`` or the event type in ``X-Event-Type``) signed with the source's
secret (``X-Signature: sha256=<hex HMAC-SHA256 of the body>``); the event's ID
(``id`` in the body, else ``X-Event-Id``, else the hash of the body) makes a
repeated delivery a no-op. ``POST /unsubscribe?t=...`` is the RFC 8058
one-click unsubscribe; ``GET /unsubscribe?t=...`` shows a page with a button
that posts it (a link scanner's GET never unsubscribes anyone).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from smbgrowth.automation.config import load_config
from smbgrowth.automation.messages import read_unsubscribe_token
from smbgrowth.automation.store import AutomationStore
from smbgrowth.errors import WorkflowError

__all__ = ["MAX_BODY", "create_app", "unsubscribe_routes", "verify_signature"]

#: Largest webhook body accepted (bytes).
MAX_BODY = 1_000_000


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Check ``sha256=<hex>`` against the HMAC-SHA256 of the body, in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto">
<h1>{title}</h1><p>{body}</p>{form}</body></html>"""


def create_app(workspace: str | Path) -> FastAPI:
    """The endpoints for one workspace (mounted by the worker and by the web app)."""
    workspace = Path(workspace)
    app = FastAPI(title="smbgrowth automation endpoints", docs_url=None, redoc_url=None)

    @app.post("/hooks/{source}")
    async def hook(source: str, request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "body too large"}, status_code=413)
        config = load_config(workspace)
        secret = config.hook_secrets.get(source)
        if secret is None:
            return JSONResponse({"error": f"unknown source {source!r}"}, status_code=404)
        if not verify_signature(secret, body, request.headers.get("x-signature")):
            return JSONResponse({"error": "bad or missing signature"}, status_code=401)
        try:
            payload: Any = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
        kind = payload.get("type") or request.headers.get("x-event-type")
        if not isinstance(kind, str) or "." not in kind:
            return JSONResponse(
                {"error": "name the event type (e.g. order.created) in 'type' or X-Event-Type"},
                status_code=400,
            )
        event_id = str(
            payload.get("id")
            or request.headers.get("x-event-id")
            or hashlib.sha256(body).hexdigest()[:32]
        )
        with AutomationStore(workspace) as store:
            new = store.add_event(f"{source}:{event_id}", source, kind, payload)
            store.audit(
                "automation.event",
                {"source": source, "type": kind, "event_id": event_id, "duplicate": not new},
                actor=f"hook:{source}",
            )
        return JSONResponse({"accepted": True, "duplicate": not new}, status_code=202)

    app.include_router(unsubscribe_routes(workspace))
    return app


def unsubscribe_routes(workspace: str | Path) -> APIRouter:
    """``GET /unsubscribe`` (a confirm button) and ``POST /unsubscribe`` (one-click, RFC 8058)."""
    workspace = Path(workspace)
    router = APIRouter()

    def _page(title: str, body: str, form: str = "", status: int = 200) -> HTMLResponse:
        return HTMLResponse(
            _PAGE.format(title=html.escape(title), body=html.escape(body), form=form),
            status_code=status,
        )

    @router.get("/unsubscribe")
    async def unsubscribe_page(t: str = "") -> HTMLResponse:
        try:
            email, mailing_list = read_unsubscribe_token(workspace, t)
        except WorkflowError as exc:
            return _page("Unsubscribe", str(exc), status=400)
        form = (
            f'<form method="post" action="unsubscribe?t={html.escape(t)}">'
            '<button type="submit">Unsubscribe</button></form>'
        )
        return _page("Unsubscribe", f"Stop {mailing_list} e-mails to {email}?", form)

    @router.post("/unsubscribe")
    async def unsubscribe(t: str = "") -> HTMLResponse:
        try:
            email, mailing_list = read_unsubscribe_token(workspace, t)
        except WorkflowError as exc:
            return _page("Unsubscribe", str(exc), status=400)
        with AutomationStore(workspace) as store:
            store.suppress(email, mailing_list, "unsubscribed (one-click)", actor="recipient")
        return _page("Unsubscribed", f"{email} will get no more {mailing_list} e-mails.")

    return router
