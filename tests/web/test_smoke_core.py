"""The dashboard's core: login, the overview, the API, headers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.web.conftest import dashboard, log_in


@pytest.mark.anyio
async def test_owner_logs_in_and_reads_the_overview(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        first = await client.get("/")
        assert first.status_code == 303 and first.headers["location"] == "/login?next=/"
        await log_in(client, "owner")
        page = await client.get("/")
        assert "Scorecard" in page.text and "Lifecycle stage" in page.text
        api = await client.get("/api/scorecard")
        assert api.status_code == 200 and {d["driver"] for d in api.json()["drivers"]} >= {
            "demand",
            "finance",
        }
        assert "script-src 'self';" in page.headers["content-security-policy"]


@pytest.mark.anyio
async def test_pages_are_computed_in_the_background_at_start_and_after_an_import(
    sample_ws: Path,
) -> None:
    async with dashboard(sample_ws, warm=True) as client:
        runner = client.app.state.runner  # type: ignore[attr-defined]
        keys = [
            ("overview",),
            ("customers", "clv"),
            ("data-status",),
            ("cohorts", "customers", "month"),
        ]
        deadline = time.monotonic() + 120
        while not all(runner.has(k) for k in keys) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert all(runner.has(k) for k in keys)  # nobody asked for any page yet
        # An import makes them stale, and the warm-up computes them again.
        runner.data_changed()
        assert not runner.has(("overview",))
        deadline = time.monotonic() + 120
        while not runner.has(("overview",)) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert runner.has(("overview",))
