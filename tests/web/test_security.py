"""The dashboard's security: every route needs login, roles, CSRF, cookies, headers, XSS, users.

The route checks read ``app.routes`` when they run, so routes added later are
covered without changing this file.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount, Route
from typer.testing import CliRunner

from smbgrowth.cli.main import app as cli
from smbgrowth.data.importer import import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.workspace import open_workspace
from smbgrowth.web.app import COOKIE, PUBLIC_PATHS
from tests.web.conftest import PASSWORDS, dashboard, log_in, login_form_token

PUBLIC = {"/login", "/health", "/unsubscribe"}
PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</script><script>alert(1)</script>",
)
PATH_PAYLOAD = '"><img src=x onerror=alert(1)>'  # no "/", so it stays one path segment
#: POST routes a viewer may call because they change nothing in the business data:
#: what-if simulations and building the report.
VIEWER_MAY = {
    ("POST", "/simulate"),
    ("POST", "/api/simulate"),
    ("POST", "/report"),
    ("POST", "/api/report"),
}


# -- the app's routes --------------------------------------------------------------------


def _walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """Every route with its full path, including those of included routers."""
    for route in routes:
        original = getattr(route, "original_router", None)  # FastAPI's included routers
        if original is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(original.routes, prefix + str(getattr(context, "prefix", "") or ""))
        elif isinstance(route, (Mount, APIRoute, Route)):
            yield prefix + route.path, route


def _endpoints(app: FastAPI) -> list[tuple[str, str, BaseRoute]]:
    """(method, path template, route) of every route; mounts other than /static are refused."""
    out: list[tuple[str, str, BaseRoute]] = []
    for path, route in _walk(app.routes):
        if isinstance(route, Mount):
            assert path == "/static", f"unexpected mount {path}"
            continue
        assert isinstance(route, (APIRoute, Route))
        for method in sorted(route.methods or {"GET"}):
            out.append((method, path, route))
    assert len(out) > 10
    return out


def _fill(path: str, value: str = "x1") -> str:
    return re.sub(r"\{[^}]+\}", quote(value, safe=""), path)


def _is_page(method: str, path: str) -> bool:
    return method == "GET" and not path.startswith("/api/") and path not in PUBLIC


def _page_routes(app: FastAPI) -> list[tuple[str, BaseRoute]]:
    skip = {"/health", "/static-plotly.js"}
    return [
        (path, route)
        for method, path, route in _endpoints(app)
        if method == "GET" and not path.startswith("/api/") and path not in skip
    ]


# -- HTML checks -------------------------------------------------------------------------


class _Scripts(HTMLParser):
    """Inline scripts, event-handler attributes and javascript: URLs of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.json_blocks: list[str] = []
        self._json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "script":
            kind = (values.get("type") or "").lower()
            src = values.get("src")
            if kind == "application/json":
                self._json = True
            elif not src:
                self.problems.append("inline <script>")
            elif not src.startswith("/") or src.startswith("//"):
                self.problems.append(f"script from elsewhere: {src}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._json = False

    def handle_data(self, data: str) -> None:
        if self._json:
            self.json_blocks.append(data)


def _check_html(where: str, text: str) -> _Scripts:
    parser = _Scripts()
    parser.feed(text)
    parser.close()
    assert not parser.problems, f"{where}: {parser.problems}"
    for block in parser.json_blocks:
        assert "<" not in block, f"{where}: a JSON block holds a raw <"
        json.loads(block)
    return parser


def _check_headers(where: str, response: httpx.Response) -> None:
    csp = response.headers.get("content-security-policy", "")
    directives = {
        d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()
    }  # fmt: skip
    script = directives.get("script-src", "")
    assert script.startswith("script-src 'self'"), f"{where}: {csp}"
    assert "unsafe-inline" not in script and "unsafe-eval" not in script, where
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", where
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("x-frame-options") == "DENY", where


async def _crawl(client: httpx.AsyncClient, *, payload_params: bool) -> dict[str, str]:
    """Every GET page (path parameters filled with a payload), checked; their texts."""
    app: FastAPI = client.app  # type: ignore[attr-defined]
    texts: dict[str, str] = {}
    for path, route in _page_routes(app):
        urls = [_fill(path, PATH_PAYLOAD)]
        if payload_params and isinstance(route, APIRoute):
            params = {p.alias: PAYLOADS[0] for p in route.dependant.query_params}
            if params:
                urls.append(str(httpx.URL(_fill(path, PATH_PAYLOAD), params=params)))
        for url in urls:
            response = await client.get(url)
            assert response.status_code < 500, f"{url}: {response.status_code}"
            if "text/html" in response.headers.get("content-type", ""):
                _check_headers(url, response)
                _check_html(url, response.text)
                texts[url] = response.text
    return texts


# -- every route needs login ---------------------------------------------------------------


@pytest.mark.anyio
async def test_every_route_needs_login_except_the_public_ones(sample_ws: Path) -> None:
    assert PUBLIC_PATHS == PUBLIC
    async with dashboard(sample_ws) as client:
        app: FastAPI = client.app  # type: ignore[attr-defined]
        open_paths: set[str] = set()
        checked = 0
        for method, path, _route in _endpoints(app):
            url = _fill(path)
            response = await client.request(method, url)
            if response.status_code == 401:
                if method != "HEAD":
                    assert response.json() == {"error": "log in first"}, url
                assert not _is_page(method, path) or path in PUBLIC, f"{method} {url}"
                checked += 1
            elif response.status_code == 303 and response.headers["location"].startswith(
                "/login?next="
            ):
                assert _is_page(method, path), f"{method} {url} redirects instead of 401"
                checked += 1
            else:
                open_paths.add(path)
        assert open_paths == PUBLIC, f"routes open to anyone: {sorted(open_paths - PUBLIC)}"
        assert checked > 30
        # htmx requests and JSON clients get 401, not a redirect.
        assert (await client.get("/data", headers={"HX-Request": "true"})).status_code == 401
        assert (await client.get("/", headers={"Accept": "application/json"})).status_code == 401
        # The static files and the health check stay open.
        assert (await client.get("/static/app.js")).status_code == 200
        assert (await client.get("/health")).json()["status"] == "ok"


@pytest.mark.anyio
async def test_openapi_needs_login_and_lists_the_api(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        assert (await client.get("/api/openapi.json")).status_code == 401
        await log_in(client, "viewer")
        spec = (await client.get("/api/openapi.json")).json()
        paths = spec["paths"]
        for path in ("/api/status", "/api/imports", "/api/users", "/api/users/{name}", "/api/me"):
            assert path in paths, path
        assert "post" in paths["/api/imports"] and "delete" in paths["/api/users/{name}"]
        assert "multipart/form-data" in paths["/api/imports"]["post"]["requestBody"]["content"]
        pages = {p for p in paths if not p.startswith("/api/")}
        assert pages <= PUBLIC, f"pages in the API: {pages - PUBLIC}"


# -- roles ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_viewer_changes_nothing(sample_ws: Path) -> None:
    """Every state-changing route refuses a viewer with 403 (but logging out and what-ifs)."""
    async with dashboard(sample_ws) as client:
        csrf = await log_in(client, "viewer")
        app: FastAPI = client.app  # type: ignore[attr-defined]
        refused = 0
        for method, path, _route in _endpoints(app):
            if method in ("GET", "HEAD") or path in PUBLIC or path == "/logout":
                continue
            if (method, path) in VIEWER_MAY:
                continue
            url = _fill(path)
            response = await client.request(method, url, headers={"X-CSRF-Token": csrf})
            assert response.status_code == 403, f"{method} {url}: {response.status_code}"
            refused += 1
        assert refused >= 8
        assert (await client.get("/users")).status_code == 403
        assert (await client.get("/api/users")).status_code == 403


@pytest.mark.anyio
async def test_analyst_cannot_manage_users_and_owner_can(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        csrf = await log_in(client, "analyst")
        headers = {"X-CSRF-Token": csrf}
        page = await client.get("/users")
        assert page.status_code == 403 and "owner role" in page.text
        assert 'href="/users"' not in (await client.get("/")).text
        assert (await client.get("/api/users")).status_code == 403
        new = {"username": "eve", "role": "owner", "password": "eve-password-1"}
        assert (await client.post("/api/users", json=new, headers=headers)).status_code == 403
        assert (await client.delete("/api/users/viewer", headers=headers)).status_code == 403
        for action in ("add", "reset", "remove"):
            form = {"csrf_token": csrf, **new}
            assert (await client.post(f"/users/{action}", data=form)).status_code == 403
        # An analyst can import (the analyst routes let them past the role check).
        dry = await client.post(
            "/api/imports?dry_run=true",
            data={"source": "csv", "table": "customers"},
            files={"file": ("c.csv", b"customer_id,email\nQ1,q1@example.com\n", "text/csv")},
            headers=headers,
        )
        assert dry.status_code == 200, dry.text

    async with dashboard(sample_ws) as owner:
        csrf = await log_in(owner, "owner")
        headers = {"X-CSRF-Token": csrf}
        page = await owner.get("/users")
        assert page.status_code == 200 and 'data-user="analyst"' in page.text
        assert 'href="/users"' in (await owner.get("/")).text
        users = (await owner.get("/api/users")).json()["users"]
        assert {u["username"]: u["role"] for u in users} == {
            "analyst": "analyst",
            "owner": "owner",
            "viewer": "viewer",
        }
        created = await owner.post("/api/users", json=new, headers=headers)
        assert created.status_code == 201 and created.json()["role"] == "owner"
        again = await owner.post("/api/users", json=new, headers=headers)
        assert again.status_code == 400 and "exists" in again.json()["error"]
        short = {**new, "username": "sam", "password": "short"}
        bad = await owner.post("/api/users", json=short, headers=headers)
        assert bad.status_code == 400 and "at least 10" in bad.json()["error"]
        reset = {**new, "role": "viewer", "password": "eve-password-2", "replace": True}
        assert (await owner.post("/api/users", json=reset, headers=headers)).json()[
            "role"
        ] == "viewer"
        assert (await owner.delete("/api/users/eve", headers=headers)).json()["removed"]
        assert (await owner.delete("/api/users/eve", headers=headers)).status_code == 404
        me = await owner.delete("/api/users/owner", headers=headers)
        assert me.status_code == 400 and "yourself" in me.json()["error"]

        # The forms: add, reset password and role, remove; one-line errors on the page.
        added = await owner.post(
            "/users/add",
            data={"csrf_token": csrf, "username": "carol", "role": "analyst",
                  "password": "carol-password-1"},
        )  # fmt: skip
        assert added.status_code == 200 and 'data-user="carol"' in added.text
        assert "carol (analyst) can now log in" in added.text
        short_form = await owner.post(
            "/users/add",
            data={"csrf_token": csrf, "username": "dan", "role": "viewer", "password": "x"},
        )
        assert short_form.status_code == 400 and "at least 10 characters" in short_form.text
        bad_role = await owner.post(
            "/users/add",
            data={"csrf_token": csrf, "username": "dan", "role": "admin",
                  "password": "dan-password-1"},
        )  # fmt: skip
        assert bad_role.status_code == 400 and "role &#39;admin&#39;" in bad_role.text
        reset_form = await owner.post(
            "/users/reset",
            data={"csrf_token": csrf, "username": "carol", "role": "viewer",
                  "password": "carol-password-2"},
        )  # fmt: skip
        assert reset_form.status_code == 200 and "carol is now viewer" in reset_form.text
        own_role = await owner.post(
            "/users/reset",
            data={"csrf_token": csrf, "username": "owner", "role": "viewer",
                  "password": "owner-password-2"},
        )  # fmt: skip
        assert own_role.status_code == 400 and "your own role" in own_role.text
        removed = await owner.post("/users/remove", data={"csrf_token": csrf, "username": "carol"})
        assert removed.status_code == 200 and 'data-user="carol"' not in removed.text
        self_remove = await owner.post(
            "/users/remove", data={"csrf_token": csrf, "username": "owner"}
        )
        assert self_remove.status_code == 400 and "yourself" in self_remove.text
        assert (await owner.get("/api/me")).json()["role"] == "owner"


@pytest.mark.anyio
async def test_a_password_reset_ends_the_users_sessions(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as owner, dashboard(sample_ws) as viewer:
        await log_in(viewer, "viewer")
        csrf = await log_in(owner, "owner")
        assert (await viewer.get("/api/me")).status_code == 200
        reset = await owner.post(
            "/users/reset",
            data={"csrf_token": csrf, "username": "viewer", "role": "analyst",
                  "password": "viewer-password-2"},
        )  # fmt: skip
        assert reset.status_code == 200
        assert (await viewer.get("/api/me")).status_code == 401


# -- CSRF -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_csrf_is_checked_on_every_change(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        csrf = await log_in(client, "owner")
        new = {"username": "frank", "role": "viewer", "password": "frank-password-1"}
        missing = await client.post("/api/users", json=new)
        assert missing.status_code == 403 and "CSRF" in missing.json()["error"]
        wrong = await client.post("/api/users", json=new, headers={"X-CSRF-Token": "x" + csrf})
        assert wrong.status_code == 403
        form_missing = await client.post("/users/add", data=new)
        assert form_missing.status_code == 403
        form_wrong = await client.post("/users/add", data={**new, "csrf_token": csrf[:-1]})
        assert form_wrong.status_code == 403
        upload = await client.post(
            "/data/preview",
            data={"source": "csv", "table": "customers"},
            files={"file": ("c.csv", b"customer_id\nQ1\n", "text/csv")},
        )
        assert upload.status_code == 403
        delete = await client.delete("/api/users/viewer")
        assert delete.status_code == 403
        logout = await client.post("/logout")
        assert logout.status_code == 403
        assert (await client.get("/api/users")).json()["users"][-1]["username"] == "viewer"
        ok = await client.post("/api/users", json=new, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 201
        form_ok = await client.post(
            "/users/add", data={**new, "username": "grace", "csrf_token": csrf}
        )
        assert form_ok.status_code == 200 and 'data-user="grace"' in form_ok.text


@pytest.mark.anyio
async def test_the_login_form_needs_its_double_submit_cookie(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        page = await client.get("/login")
        token = login_form_token(page.text)
        form = {"username": "owner", "password": PASSWORDS["owner"], "csrf_token": token}
        client.cookies.clear()
        no_cookie = await client.post("/login", data=form)
        assert no_cookie.status_code == 403 and COOKIE not in no_cookie.headers.get(
            "set-cookie", ""
        )
        await client.get("/login")
        wrong = await client.post("/login", data=form)  # the old token, a new cookie
        assert wrong.status_code == 403
        no_token = await client.post("/login", data={**form, "csrf_token": ""})
        assert no_token.status_code == 403


# -- cookies and sessions --------------------------------------------------------------------


async def _login_response(client: httpx.AsyncClient, role: str) -> httpx.Response:
    page = await client.get("/login")
    return await client.post(
        "/login",
        data={"username": role, "password": PASSWORDS[role],
              "csrf_token": login_form_token(page.text)},
    )  # fmt: skip


def _session_cookie_header(response: httpx.Response) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


@pytest.mark.anyio
async def test_session_cookie_flags(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        response = await _login_response(client, "viewer")
        assert response.status_code == 303
        header = _session_cookie_header(response).lower()
        assert "httponly" in header and "samesite=lax" in header and "path=/" in header
        assert "secure" not in header.replace("samesite", "")
        login = (await client.get("/login")).headers["set-cookie"].lower()
        assert "httponly" in login and "samesite=strict" in login
    async with dashboard(sample_ws, secure_cookies=True) as plain:
        # Behind TLS: the browser sends the Secure login cookie back over https only.
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=plain.app),  # type: ignore[attr-defined]
            base_url="https://testserver",
        ) as client:
            response = await _login_response(client, "viewer")
        assert response.status_code == 303
        header = _session_cookie_header(response).lower()
        assert "; secure" in header and "httponly" in header and "samesite=lax" in header
        assert "max-age=31536000" in (response.headers.get("strict-transport-security", "").lower())


@pytest.mark.anyio
async def test_logout_ends_the_session(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        csrf = await log_in(client, "analyst")
        old = client.cookies.get(COOKIE)
        assert old
        out = await client.post("/logout", data={"csrf_token": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        client.cookies.set(COOKIE, old)  # the old cookie, replayed
        page = await client.get("/data")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert (await client.get("/api/status")).status_code == 401
        client.cookies.set(COOKIE, "x" * 500)
        assert (await client.get("/api/me")).status_code == 401


@pytest.mark.anyio
async def test_wrong_password_and_unknown_user_look_the_same(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        answers = []
        for user, password in (("owner", "not-the-password"), ("nobody", "not-the-password")):
            page = await client.get("/login")
            response = await client.post(
                "/login",
                data={"username": user, "password": password,
                      "csrf_token": login_form_token(page.text)},
            )  # fmt: skip
            assert response.status_code == 401
            assert COOKIE not in response.headers.get("set-cookie", "")
            error = re.search(r'class="error"[^>]*>([^<]+)<', response.text)
            assert error
            answers.append(error.group(1).strip())
        assert answers[0] == answers[1] == "wrong user name or password"
    with sqlite3.connect(sample_ws / "ops.sqlite") as con:
        hashes = [row[0] for row in con.execute("SELECT password_hash FROM users")]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(p in h for h in hashes for p in PASSWORDS.values())


# -- headers and pages -------------------------------------------------------------------


@pytest.mark.anyio
async def test_security_headers_and_no_inline_scripts_on_any_page(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        anonymous = await client.get("/login")
        _check_headers("/login", anonymous)
        _check_html("/login", anonymous.text)
        _check_headers("/health", await client.get("/health"))
        _check_headers("/api/status (401)", await client.get("/api/status"))
        await log_in(client, "owner")
        for url in ("/api/status", "/api/me", "/api/imports", "/api/users", "/nowhere"):
            _check_headers(url, await client.get(url))
        assert (await client.get("/api/status")).headers["cache-control"] == "no-store"
        texts = await _crawl(client, payload_params=False)
        assert "/data" in texts and "/users" in texts and "/" in texts
        assert len(texts) >= 5


# -- XSS -----------------------------------------------------------------------------------


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def xss_ws(sample_ws: Path, tmp_path: Path) -> Path:
    """The sample business with customers, products, orders, spend and tests named by payloads."""
    _, b, c = PAYLOADS
    ws = open_workspace(sample_ws)
    try:
        last = ws.duck.execute("SELECT max(ordered_at) FROM orders").fetchone()
        assert last is not None
        day = str(last[0])[:10]
        files = tmp_path / "xss"
        files.mkdir()
        customers = _write(
            files / "customers.csv",
            ["customer_id", "email", "name", "company", "city", "segment",
             "acquisition_channel", "created_at"],
            [[f"XSS-{i}", f"xss{i}@example.com", p, b, c, p, p, day]
             for i, p in enumerate(PAYLOADS)],
        )  # fmt: skip
        products = _write(
            files / "products.csv",
            ["sku", "name", "category", "vendor", "price", "unit_cost"],
            [[f"XSS-SKU-{i}", p, p, b, "10", "4"] for i, p in enumerate(PAYLOADS)],
        )
        lines = _write(
            files / "lines.csv",
            ["order_id", "customer_id", "ordered_at", "sku", "product_name", "product_category",
             "quantity", "unit_price", "line_total", "channel"],
            [[f"XSS-O{i}", f"XSS-{i}", day, f"XSS-SKU-{i}", p, p, "100", "99", "9900", p]
             for i, p in enumerate(PAYLOADS)],
        )  # fmt: skip
        spend = _write(
            files / "spend.csv",
            ["date", "channel", "campaign", "spend"],
            [[day, p, p, "50"] for p in PAYLOADS],
        )
        tests = _write(
            files / f"{b}.csv",  # the file name shows in the import history
            ["experiment_id", "unit_id", "variant", "assigned_at"],
            [["xss-test", f"XSS-{i}", PAYLOADS[i % 3], day] for i in range(6)],
        )
        for table, path in (
            ("customers", customers),
            ("products", products),
            ("order_lines", lines),
            ("marketing_spend", spend),
            ("experiments", tests),
        ):
            import_files(ws, "csv", [path], ImportOptions(table=table))
        names = ws.duck.execute("SELECT name FROM customers WHERE customer_id LIKE 'XSS-%'")
        assert {r[0] for r in names.fetchall()} == set(PAYLOADS)
    finally:
        ws.close()
    return sample_ws


@pytest.mark.anyio
async def test_stored_and_reflected_payloads_are_escaped_everywhere(xss_ws: Path) -> None:
    async with dashboard(xss_ws) as client:
        anonymous = await client.get("/login", params={"next": PAYLOADS[1]})
        assert PAYLOADS[1] not in anonymous.text
        _check_html("/login?next=…", anonymous.text)
        await log_in(client, "owner")
        texts = await _crawl(client, payload_params=True)
        for url in ("/experiments/xss-test", "/customers/XSS-0", "/customers?q=XSS"):
            response = await client.get(url)
            if response.status_code == 200:
                _check_html(url, response.text)
                texts[url] = response.text
        api: dict[str, Any] = (await client.get("/api/imports")).json()
        assert any(f"{PAYLOADS[1]}.csv" in i["files"] for i in api["imports"])
    everything = "\n".join(texts.values())
    for url, text in texts.items():
        for payload in PAYLOADS:
            assert payload not in text, f"{url} shows {payload!r} unescaped"
        assert "onerror=alert(1)>" not in text.replace("&gt;", ""), url
    # The payloads are shown, escaped: the file name on the data page, names elsewhere.
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in texts["/data"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in everything


# -- the users command ------------------------------------------------------------------------


def test_users_cli_adds_lists_and_refuses_bad_input(sample_ws: Path) -> None:
    runner = CliRunner()
    ws = ["--workspace", str(sample_ws)]
    added = runner.invoke(
        cli, ["users", "add", "heidi", "--role", "analyst", "--password-stdin", *ws],
        input="heidi-password-1\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "heidi (analyst)" in added.stdout
    listed = runner.invoke(cli, ["users", "list", "--json", *ws])
    assert listed.exit_code == 0
    users = {u["username"]: u["role"] for u in json.loads(listed.stdout)["users"]}
    assert users["heidi"] == "analyst" and users["owner"] == "owner"

    short = runner.invoke(cli, ["users", "add", "ivan", "--password-stdin", *ws], input="short\n")
    assert short.exit_code == 1
    assert len(short.output.strip().splitlines()) == 1 and "at least 10" in short.output
    bad_role = runner.invoke(
        cli, ["users", "add", "ivan", "--role", "admin", "--password-stdin", *ws],
        input="ivan-password-1\n",
    )  # fmt: skip
    assert bad_role.exit_code == 1
    assert len(bad_role.output.strip().splitlines()) == 1 and "admin" in bad_role.output
    exists = runner.invoke(
        cli, ["users", "add", "heidi", "--password-stdin", *ws], input="heidi-password-2\n"
    )
    assert exists.exit_code == 1 and "--replace" in exists.output
    listed = runner.invoke(cli, ["users", "list", "--json", *ws])
    assert "ivan" not in listed.stdout
    with sqlite3.connect(sample_ws / "ops.sqlite") as con:
        digest = con.execute("SELECT password_hash FROM users WHERE username = 'heidi'").fetchone()
    assert digest[0].startswith("$argon2id$")
