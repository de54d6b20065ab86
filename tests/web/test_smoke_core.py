"""The dashboard's core: login, the overview, the API, headers."""

from __future__ import annotations

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
