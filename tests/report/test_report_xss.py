"""Data that looks like HTML or script shows as text in the report and never runs."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import smbgrowth
from smbgrowth.data.importer import import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.workspace import Workspace
from smbgrowth.report import write_report

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</script><script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _p(i: int) -> str:
    return PAYLOADS[i % len(PAYLOADS)]


def _tables(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """A small shop over 18 months whose every free-text field is an XSS payload."""
    rng = np.random.default_rng(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    days = 540
    t: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "products", "customers", "orders", "order_lines", "tickets", "expenses",
        "experiments", "processes", "marketing_spend", "web_events",
    )}  # fmt: skip
    for k in range(4):
        t["products"].append({"sku": f"{_p(k)}-sku{k}", "name": _p(k + 1), "category": _p(k + 2),
                              "unit_cost": 4, "price": 12, "stock_on_hand": 50,
                              "lead_time_days": 10, "vendor": _p(k + 3)})  # fmt: skip
    order_no = 0
    for c in range(240):
        cid = f"{_p(c)}#{c}"
        joined = start + timedelta(days=int(days * c / 240))
        t["customers"].append({"customer_id": cid, "email": f"c{c}@example.com", "name": _p(c + 1),
                               "company": _p(c + 2), "created_at": joined.isoformat(),
                               "country": _p(c + 3), "segment": f"{_p(c)} segment",
                               "acquisition_channel": f"{_p(c + 1)} channel"})  # fmt: skip
        when = joined
        while when < start + timedelta(days=days):
            order_no += 1
            oid = f"{_p(order_no)}-o{order_no}"
            sku = order_no % 4
            total = round(float(rng.uniform(20, 80)), 2)
            t["orders"].append({"order_id": oid, "customer_id": cid, "ordered_at": when.isoformat(),
                                "status": "completed", "total": total, "currency": "USD",
                                "channel": f"{_p(order_no + 1)} channel"})  # fmt: skip
            t["order_lines"].append({"order_id": oid, "line_no": 1, "customer_id": cid,
                                     "ordered_at": when.isoformat(),
                                     "sku": t["products"][sku]["sku"], "product_name": _p(sku + 1),
                                     "product_category": _p(sku + 2), "quantity": 2,
                                     "unit_price": total / 2, "unit_cost": 4,
                                     "line_total": total})  # fmt: skip
            if order_no % 5 == 0:
                t["tickets"].append({"ticket_id": f"{_p(order_no)}-t{order_no}", "customer_id": cid,
                                     "opened_at": when.isoformat(),
                                     "first_response_at": (when + timedelta(hours=3)).isoformat(),
                                     "resolved_at": (when + timedelta(hours=20)).isoformat(),
                                     "category": _p(order_no), "channel": _p(order_no + 2),
                                     "csat": 4})  # fmt: skip
            when += timedelta(days=int(rng.exponential(60)) + 5)
        if c % 2 == 0 and joined > start + timedelta(days=300):
            t["experiments"].append({"experiment_id": _p(2), "unit_id": cid,
                                     "variant": "control" if c % 4 else _p(3),
                                     "assigned_at": joined.isoformat(),
                                     "unit_type": "customer"})  # fmt: skip
    for m in range(18):
        day = (start + timedelta(days=30 * m)).date()
        for k, (category, amount) in enumerate(
            (("payroll", 9000), ("rent", 2000), ("software", 300))
        ):
            t["expenses"].append({"expense_id": f"{_p(k)}-e{m}-{k}", "incurred_at": day.isoformat(),
                                  "category": category if k == 0 else _p(k), "vendor": _p(k + 1),
                                  "amount": amount, "paid_at": day.isoformat()})  # fmt: skip
        for k in range(2):
            t["marketing_spend"].append({"date": day.isoformat(), "channel": f"{_p(k)} channel",
                                         "campaign": _p(k + 1), "spend": 400, "clicks": 90,
                                         "impressions": 3000})  # fmt: skip
    steps = ["visit", "product_view", "add_to_cart", "checkout", "purchase"]
    for s in range(400):
        when = start + timedelta(days=int(days * s / 400), hours=3)
        for k in range(1 + s % 5):
            t["web_events"].append({"event_id": f"{_p(s)}-w{s}-{k}", "session_id": f"{_p(s)}-s{s}",
                                    "occurred_at": (when + timedelta(minutes=k)).isoformat(),
                                    "step": steps[k], "channel": _p(s + 1)})  # fmt: skip
    for k in range(4):
        t["processes"].append({"process_id": f"{_p(k)}-p{k}", "name": _p(k + 1),
                               "department": _p(k + 2), "runs_per_month": 40,
                               "minutes_per_run": 15, "error_rate": 0.05,
                               "hourly_cost": 30})  # fmt: skip
    return t


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("xss")
    ws: Workspace = smbgrowth.init_workspace(folder / "ws")
    try:
        tables = _tables(folder)
        # Lines first: they create their orders, which the orders file then completes.
        for table in ["order_lines", *(k for k in tables if k != "order_lines")]:
            rows = tables[table]
            path = _write(folder / f"{table}.csv", rows)
            import_files(ws, "csv", [path], ImportOptions(table=table))
        assert all(ws.row_count(t) for t in ("orders", "experiments", "web_events", "processes"))
        out = folder / "report.html"
        write_report(ws, out)
    finally:
        ws.close()
    yield out, out.read_text(encoding="utf-8")


_JSON_BLOCK = re.compile(r'(<script type="application/json"[^>]*>)(.*?)(</script>)', re.S)


def test_payloads_never_appear_raw(hostile: tuple[Path, str]) -> None:
    _, html = hostile
    blocks = _JSON_BLOCK.findall(html)
    assert blocks
    for _, body, _ in blocks:
        assert "<" not in body and ">" not in body
        json.loads(body)
    outside = _JSON_BLOCK.sub("", html)
    for payload in PAYLOADS:
        assert payload not in outside
        assert payload not in html
    assert "onerror=alert" not in outside.replace("&#34;&gt;&lt;img src=x onerror=alert", "")
    assert 'href="javascript' not in html
    # Escaped, the payloads are there as text (tables, sentences and figures).
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in outside
    # The inline scripts are ours: plotly.js and the loop that draws the figures.
    assert outside.count("<script>") == 2


def test_sections_still_render_with_hostile_data(hostile: tuple[Path, str]) -> None:
    _, html = hostile
    for heading in ("Scorecard", "KPI trends", "Web funnel", "Experiments", "Automation plan"):
        assert heading in html
    # No cash balance is stored in this workspace: the cash view says so in a note.
    assert 'class="note"' in html


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_nothing_runs_in_a_real_browser(hostile: tuple[Path, str]) -> None:
    from playwright.sync_api import sync_playwright

    path, html = hostile
    figures = len(_JSON_BLOCK.findall(html))
    dialogs: list[str] = []
    errors: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot').length >= {figures}",
                timeout=60_000,
            )
            page.wait_for_timeout(500)
            body = page.inner_text("body")
            chart_text = page.eval_on_selector_all(
                ".js-plotly-plot text", "els => els.map(e => e.textContent).join('\\n')"
            )
            injected = page.evaluate(
                'document.querySelectorAll(\'main img, main a[href^="javascript"], '
                "main script:not([type])').length"
            )
            page.screenshot(path=str(ARTIFACTS / "report_xss.png"), full_page=True)
        finally:
            browser.close()
    assert dialogs == []
    assert errors == []
    assert injected == 0
    for payload in PAYLOADS:
        assert payload in body, payload
    assert any(payload in chart_text for payload in PAYLOADS)
