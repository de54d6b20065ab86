"""The dashboard application: FastAPI, server-rendered pages with htmx, a JSON API.

:func:`create_app` builds the app for one workspace. Every route needs a
logged-in user except the login page, the health check and the unsubscribe
endpoint (and the static files the login page loads); the auth middleware
enforces it for every route, so a new route cannot forget it. Pages and
API routes live in one module per area (:mod:`smbgrowth.web.routes`) and
only call the library.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.base import BaseHTTPMiddleware

from smbgrowth import __version__
from smbgrowth.automation.http import unsubscribe_routes
from smbgrowth.errors import SmbGrowthError
from smbgrowth.web.common import StrictJSONResponse, embed_json, fmt, render
from smbgrowth.web.runner import WorkspaceRunner
from smbgrowth.web.security import SecurityHeaders, same_token
from smbgrowth.web.users import UserStore

__all__ = ["COOKIE", "LOGIN_COOKIE", "PUBLIC_PATHS", "create_app"]

COOKIE = "smbgrowth_session"
LOGIN_COOKIE = "smbgrowth_login"
#: Routes anyone may call.
PUBLIC_PATHS = frozenset({"/login", "/health", "/unsubscribe"})
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _static_dir() -> Path:
    return Path(str(resources.files("smbgrowth.web") / "static"))


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


class AuthMiddleware(BaseHTTPMiddleware):
    """Let only logged-in users past (except public paths), and check CSRF on changes."""

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        users: UserStore = request.app.state.users
        request.state.session = users.session(request.cookies.get(COOKIE))
        public = path in PUBLIC_PATHS or path.startswith("/static/")
        if not public and request.state.session is None:
            if _wants_json(request) or request.method != "GET" or "hx-request" in request.headers:
                return JSONResponse({"error": "log in first"}, status_code=401)
            return RedirectResponse(f"/login?next={path}", status_code=303)
        if request.method in _UNSAFE and not public:
            sent = request.headers.get("x-csrf-token")
            if sent is None and "form" in request.headers.get("content-type", ""):
                # Read the body once, bounded, and keep it: the route parses the form again
                # (a consumed stream would reach it empty).
                limit = request.app.state.max_upload + 256 * 1024
                chunks: list[bytes] = []
                size = 0
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        return JSONResponse({"error": "the upload is too large"}, status_code=413)
                    chunks.append(chunk)
                request._body = b"".join(chunks)
                form = await request.form()
                value = form.get("csrf_token")
                sent = value if isinstance(value, str) else None
            if not same_token(sent, request.state.session.csrf):
                return JSONResponse(
                    {"error": "missing or wrong CSRF token; reload the page"}, status_code=403
                )
        return await call_next(request)


def create_app(
    workspace: str | Path,
    *,
    secure_cookies: bool | None = None,
    max_upload_bytes: int | None = None,
    warm: bool = True,
) -> FastAPI:
    """The dashboard for ``workspace``.

    With ``warm``, the pages' data is computed in the background when the app
    starts and after each import, so the first visitor does not wait for it.

    ``secure_cookies`` marks the session cookie ``Secure``; by default it is
    set when the request came over HTTPS (directly or, behind a proxy, with
    ``X-Forwarded-Proto: https`` when uvicorn trusts the proxy).
    """
    from smbgrowth.web.routes import ROUTERS, WARMERS
    from smbgrowth.web.security import MAX_UPLOAD_BYTES

    path = Path(workspace)

    async def warm_all(runner: WorkspaceRunner) -> None:
        """Compute the pages' data in the background, one page after the other."""
        for warmer in WARMERS:
            # A page that cannot be computed shows the same one-line message when opened.
            with contextlib.suppress(SmbGrowthError):
                await warmer(runner)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        runner: WorkspaceRunner = app.state.runner
        tasks: set[asyncio.Task[None]] = set()
        if warm:
            loop = asyncio.get_running_loop()

            def schedule() -> None:
                task = loop.create_task(warm_all(runner))
                tasks.add(task)
                task.add_done_callback(tasks.discard)

            schedule()

            def changed() -> None:
                loop.call_soon_threadsafe(schedule)

            runner.on_change = changed
        yield
        runner.on_change = None
        for task in list(tasks):
            task.cancel()
        runner.close()
        app.state.users.close()

    app = FastAPI(
        title="smbgrowth",
        version=__version__,
        description="The growth engine of a small business: KPIs, models, plan and automation.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
        default_response_class=StrictJSONResponse,
    )
    app.state.users = UserStore(path)
    app.state.runner = WorkspaceRunner(path)
    app.state.workspace = path
    app.state.max_upload = max_upload_bytes or MAX_UPLOAD_BYTES
    templates = Jinja2Templates(directory=str(resources.files("smbgrowth.web") / "templates"))
    templates.env.autoescape = True
    templates.env.globals.update(embed_json=embed_json, fmt=fmt)
    app.state.templates = templates
    app.add_middleware(AuthMiddleware)
    app.add_middleware(SecurityHeaders, hsts=bool(secure_cookies))
    app.mount("/static", StaticFiles(directory=str(_static_dir())), name="static")

    def secure(request: Request) -> bool:
        if secure_cookies is not None:
            return secure_cookies
        return request.url.scheme == "https"

    @app.exception_handler(SmbGrowthError)
    async def one_line(request: Request, exc: SmbGrowthError) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": str(exc)}, status_code=400)
        return render(request, "error.html", {"message": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid input')}"
        if _wants_json(request):
            return JSONResponse({"error": message}, status_code=422)
        return render(request, "error.html", {"message": message}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _wants_json(request) or "hx-request" in request.headers:
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        return render(request, "error.html", {"message": exc.detail}, status_code=exc.status_code)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/static-plotly.js", include_in_schema=False)
    async def plotly_js() -> Response:
        return FileResponse(_plotly_js(), media_type="text/javascript")

    @app.get("/login", include_in_schema=False)
    async def login_page(request: Request, next: str = "/") -> Response:
        # Keep the token a browser already has: a second load of this page (a stray
        # redirect such as /favicon.ico) must not invalidate the form it shows.
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        if len(token) > 100:
            token = secrets.token_urlsafe(24)
        response = render(
            request,
            "login.html",
            {"login_csrf": token, "next": next, "no_users": request.app.state.users.count() == 0},
        )
        response.set_cookie(
            LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure(request)
        )
        return response

    @app.post("/login", include_in_schema=False)
    async def login(
        request: Request,
        username: str = Form(...),
        password: str = Form(...),
        csrf_token: str = Form(""),
        next: str = Form("/"),
    ) -> Response:
        if not same_token(csrf_token, request.cookies.get(LOGIN_COOKIE)):
            return JSONResponse({"error": "the login form expired; reload it"}, status_code=403)
        user = request.app.state.users.verify(username, password)
        if user is None:
            token = secrets.token_urlsafe(24)
            response = render(
                request,
                "login.html",
                {"login_csrf": token, "next": next, "error": "wrong user name or password"},
                status_code=401,
            )
            response.set_cookie(
                LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure(request)
            )
            return response
        cookie, session = request.app.state.users.start_session(user.username)
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        redirect = RedirectResponse(target, status_code=303)
        redirect.set_cookie(
            COOKIE,
            cookie,
            httponly=True,
            samesite="lax",
            secure=secure(request),
            max_age=int(session.expires_at.timestamp() - time.time()),
        )
        redirect.delete_cookie(LOGIN_COOKIE)
        return redirect

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        request.app.state.users.end_session(request.cookies.get(COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/api/me")
    async def me(request: Request) -> dict[str, str]:
        """The logged-in user and role."""
        s = request.state.session
        return {"username": s.username, "role": s.role}

    for router in ROUTERS:
        app.include_router(router)
    app.include_router(unsubscribe_routes(path))

    return app
