"""Fixtures of the dashboard tests: a sample-business workspace, users of each role, clients."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from smbgrowth.data.sample import generate_sample_business
from smbgrowth.data.workspace import init_workspace
from smbgrowth.web.app import create_app
from smbgrowth.web.users import UserStore

PASSWORDS = {
    "owner": "owner-password-1",
    "analyst": "analyst-password-1",
    "viewer": "viewer-pw-123",
}


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (``@pytest.mark.anyio``) run on asyncio."""
    return "asyncio"


@asynccontextmanager
async def dashboard(path: Path, **options: object) -> AsyncIterator[httpx.AsyncClient]:
    """The dashboard of ``path`` in process, with a client that keeps cookies.

    The background warm-up of the pages is off unless a test asks for it
    (``warm=True``), so that each test measures only what it requests.
    """
    options.setdefault("warm", False)
    app = create_app(path, **options)  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sample business with one user per role (built once; copy it to change it)."""
    path = tmp_path_factory.mktemp("web-sample") / "ws"
    ws = init_workspace(path)
    try:
        generate_sample_business(ws, customers=800, years=2.0, seed=3)
    finally:
        ws.close()
    users = UserStore(path)
    try:
        for role, password in PASSWORDS.items():
            users.add(role, password, role)
    finally:
        users.close()
    return path


@pytest.fixture
def sample_ws(sample_template: Path, tmp_path: Path) -> Path:
    """A private copy of the sample workspace (tests may change it)."""
    target = tmp_path / "ws"
    shutil.copytree(sample_template, target)
    return target


def login_form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the login form has no CSRF token"
    return match.group(1)


def page_csrf(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert match and match.group(1), "the page has no CSRF token"
    return match.group(1)


async def log_in(client: httpx.AsyncClient, role: str) -> str:
    """Log ``client`` in as the user of ``role``; return the session's CSRF token."""
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "username": role,
            "password": PASSWORDS[role],
            "csrf_token": login_form_token(page.text),
            "next": "/",
        },
    )
    assert response.status_code == 303, response.text
    home = await client.get("/")
    assert home.status_code == 200
    return page_csrf(home.text)
