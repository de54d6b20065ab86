"""Security of the dashboard: headers, CSRF tokens, upload limits.

* Every response carries a Content-Security-Policy that allows scripts only
  from the dashboard itself (no inline scripts, no ``unsafe-inline`` or
  ``unsafe-eval`` for scripts), no framing, no plugins, and the usual
  ``nosniff``, ``Referrer-Policy`` and ``Permissions-Policy`` headers.
* State-changing requests (POST, PUT, PATCH, DELETE) of a logged-in user
  carry the session's CSRF token, as the form field ``csrf_token`` or the
  ``X-CSRF-Token`` header (htmx sends it from the page's meta tag); the
  login form uses a double-submit cookie.
* Uploads are limited in size and to the export types the importers read.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

from smbgrowth.errors import ConfigError

__all__ = [
    "CSP",
    "MAX_UPLOAD_BYTES",
    "UPLOAD_TYPES",
    "SecurityHeaders",
    "check_upload_name",
    "same_token",
]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
#: Largest upload accepted (bytes); the importers stream larger files from the command line.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: File types an upload may have (the importers' readers).
UPLOAD_TYPES = (".csv", ".txt", ".tsv", ".xlsx", ".parquet")


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens (False when either is missing)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def check_upload_name(name: str) -> str:
    """The safe base name of an uploaded file; a one-line error for a type we do not read."""
    base = Path(name.replace("\\", "/")).name
    if not base or base.startswith("."):
        raise ConfigError("the uploaded file has no name; choose an export file")
    if Path(base).suffix.lower() not in UPLOAD_TYPES:
        raise ConfigError(
            f"{base}: only {', '.join(UPLOAD_TYPES)} exports can be imported; "
            "save the export as CSV"
        )
    return base


class SecurityHeaders(BaseHTTPMiddleware):
    """Add the security headers to every response."""

    def __init__(self, app: object, *, hsts: bool = False) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.hsts = hsts

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.url.path.startswith(("/api/", "/login", "/logout")) or (
            "text/html" in headers.get("content-type", "")
        ):
            headers.setdefault("Cache-Control", "no-store")
        if self.hsts:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
