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
from tests.web.test_security import PAYLOADS
from tests.web.test_security import xss_ws as xss_ws  # the fixture

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


def _done_job(page: Any) -> Any:
    """The what-if result once its job is done (the progress bar swaps itself for it)."""
    page.wait_for_selector(".sim-result[data-status=done]", timeout=90_000)
    page.wait_for_selector(".sim-result .chart[data-drawn='1'] .main-svg", timeout=30_000)
    return page.locator(".sim-result").first


def test_moving_a_what_if_slider_updates_the_chart(live: LiveServer, page: Any) -> None:
    log_in(page, live, "viewer")
    page.goto(f"{live.url}/simulate")
    first = _done_job(page)
    job = first.get_attribute("data-job")
    before = float(first.locator("td[data-value]").first.get_attribute("data-value"))
    # Drag the paid-spend slider to +80 %: a change event posts the form again.
    slider = page.locator("input[name=spend_change]")
    slider.evaluate(
        "(el) => { el.value = 80; el.dispatchEvent(new Event('input', {bubbles: true}));"
        " el.dispatchEvent(new Event('change', {bubbles: true})); }"
    )
    assert page.text_content("#v-spend").strip().startswith("80")
    page.wait_for_function(
        "(old) => { const r = document.querySelector('.sim-result[data-status=done]');"
        " return r && r.getAttribute('data-job') !== old; }",
        arg=job,
        timeout=90_000,
    )
    after_block = _done_job(page)
    after = float(after_block.locator("td[data-value]").first.get_attribute("data-value"))
    assert after > before  # more paid spend: more revenue than the baseline
    shot(page, "what-if")
    assert page.js_errors == []


def test_approve_a_pending_automation_step(
    live: LiveServer, page: Any, sample_ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.automation.conftest import run_status, wait_for
    from tests.web.test_interactive_pages import review_with_worker

    run_id = "review:event:yes"
    with review_with_worker(sample_ws, monkeypatch, {"yes": "Yves"}) as sink:
        wait_for(lambda: run_status(sample_ws, run_id) == "waiting", 60)
        log_in(page, live, "analyst")
        page.goto(f"{live.url}/automation")
        row = page.locator("#approvals tr", has_text="Welcome Yves?")
        assert row.count() == 1
        row.locator("button", has_text="Approve").click()
        page.wait_for_load_state()
        assert "Approved" in page.text_content("body")
        shot(page, "approval")
        wait_for(lambda: run_status(sample_ws, run_id) == "done", 60)
        assert sink.subjects("yes@example.com") == ["Approved"]


def test_changing_a_kpi_explorer_filter(live: LiveServer, page: Any) -> None:
    log_in(page, live, "viewer")
    page.goto(f"{live.url}/kpis?metric=revenue_net&grain=month")
    page.wait_for_selector("#kpi-chart-plot[data-drawn='1'] .main-svg", timeout=20_000)
    months = page.locator("#kpi-table tbody tr").count()
    assert months >= 20
    # Split the metric by channel: htmx swaps in the new chart and table, the URL follows.
    page.select_option("#kpi-form select[name=by]", "channel")
    page.wait_for_function(
        "() => document.querySelectorAll('#kpi-table thead th').length > 2", timeout=20_000
    )
    page.wait_for_selector("#kpi-chart-plot[data-drawn='1'] .main-svg", timeout=20_000)
    assert "by=channel" in page.url
    lines = page.locator("#kpi-chart-plot .scatterlayer .trace").count()
    assert lines >= 2
    # A coarser grain: fewer rows.
    page.select_option("#kpi-form select[name=grain]", "quarter")
    page.wait_for_function(
        "(n) => document.querySelectorAll('#kpi-table tbody tr').length < n",
        arg=months,
        timeout=20_000,
    )
    assert "grain=quarter" in page.url
    shot(page, "kpi-explorer")
    assert page.js_errors == []


def test_upload_a_csv_and_see_it_imported(live: LiveServer, page: Any, tmp_path: Path) -> None:
    export = tmp_path / "more_orders.csv"
    export.write_text(
        "order_id,customer_id,ordered_at,status,total\n"
        "WEB-1,web-c1,2026-11-02T10:00:00Z,paid,120.50\n"
        "WEB-2,web-c2,2026-11-03T11:30:00Z,paid,80.00\n",
        encoding="utf-8",
    )
    log_in(page, live, "analyst")
    page.goto(f"{live.url}/data")
    page.select_option("#import select[name=source]", "csv")
    page.select_option("#import select[name=table]", "orders")
    page.set_input_files("#import input[name=file]", str(export))
    page.click("#import button:has-text('Preview')")
    preview = page.locator("#preview")
    preview.locator("button:has-text('Import')").wait_for(timeout=30_000)
    assert "order_id" in preview.text_content()  # the mapping preview names the columns
    shot(page, "upload-preview")
    preview.locator("button:has-text('Import')").click()
    page.wait_for_selector(".import-result[data-status=done]", timeout=60_000)
    row = page.locator(".import-result tr[data-table=orders] td").nth(2)
    assert row.text_content().strip() == "2"  # two orders inserted
    shot(page, "upload-imported")
    page.goto(f"{live.url}/data")
    assert "more_orders.csv" in page.text_content("body")
    assert page.js_errors == []


def test_payloads_in_imported_text_stay_inert_in_the_browser(
    xss_ws: Path, browser: Any, tmp_path: Path
) -> None:
    """Customers, products, channels and tests named by XSS payloads render as text."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        with LiveServer(xss_ws) as server:
            log_in(page, server, "owner")
            for path, wait in (
                ("/kpis?metric=revenue_net&grain=month&by=channel", "#kpi-chart-plot .main-svg"),
                ("/customers", "#main"),
                ("/experiments/xss-test", "#main"),
                ("/data", "#main"),
            ):
                page.goto(f"{server.url}{path}")
                page.wait_for_selector(wait, timeout=60_000)
                page.wait_for_timeout(300)  # let charts and htmx settle
                body = page.text_content("body") or ""
                if path != "/customers":  # the others show the payloads, as text
                    assert any(p in body for p in PAYLOADS), path
                # Nothing injected: no element from a payload exists in the page.
                assert page.locator("img[src=x]").count() == 0, path
                injected = page.evaluate(
                    "() => [...document.scripts].filter(s => s.textContent.includes('alert(1)')"
                    " && s.type !== 'application/json').length"
                )
                assert injected == 0, path
            shot(page, "xss-dashboard")
    finally:
        context.close()
    assert dialogs == []
