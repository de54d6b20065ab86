"""The report built from the dashboard: a background job with progress, then a download."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import dashboard, log_in


@pytest.mark.slow
@pytest.mark.anyio
async def test_the_report_builds_in_the_background_and_downloads(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        csrf = await log_in(client, "viewer")
        page = await client.get("/report")
        assert page.status_code == 200 and "Build the report" in page.text
        refused = await client.post("/api/report")
        assert refused.status_code == 403  # no CSRF token
        bad = await client.post(
            "/report", data={"csrf_token": csrf, "start": "2025-06-01", "end": "2025-01-01"}
        )
        assert bad.status_code == 400 and "is after" in bad.text
        started = await client.post(
            "/api/report", params={"start": "2025-01-01"}, headers={"X-CSRF-Token": csrf}
        )
        assert started.status_code == 202
        job = started.json()["job"]
        seen: list[float] = []
        deadline = time.monotonic() + 180
        while True:
            state = (await client.get(f"/api/jobs/{job}")).json()
            seen.append(state["progress"])
            if state["status"] in ("done", "failed") or time.monotonic() > deadline:
                break
            early = await client.get(f"/api/report/{job}")
            assert early.status_code == 409  # not ready yet
            await asyncio.sleep(0.3)
        assert state["status"] == "done", state
        assert seen == sorted(seen) and seen[-1] == 1.0  # progress only moves forward
        assert any(0 < p < 1 for p in seen)  # and was seen in between
        fragment = await client.get(f"/jobs/{job}")
        assert f"/report/{job}/download" in fragment.text
        download = await client.get(f"/report/{job}/download")
        assert download.status_code == 200
        assert download.headers["content-disposition"].startswith("attachment")
        assert download.headers["content-security-policy"] == "sandbox"
        html = download.text
        assert html.startswith("<!doctype html>") and "Automation plan" in html
        # Another user of the same dashboard cannot fetch someone else's report.
        transport = httpx.ASGITransport(app=client.app)  # type: ignore[attr-defined]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            await log_in(other, "analyst")
            assert (await other.get(f"/api/report/{job}")).status_code == 404
            assert (await other.get(f"/report/{job}/download")).status_code == 404
