"""The data page: status and history, upload → mapping preview (nothing written) → import job."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from smbgrowth.data.workspace import open_workspace
from tests.web.conftest import dashboard, log_in

ORDERS = (
    "Order ID,Customer ID,Order Date,Total\n"
    "WEB-1,WEBC-1,2024-03-01,120.50\n"
    "WEB-2,WEBC-2,2024-03-02,80.00\n"
    "WEB-3,WEBC-1,2024-03-05,45.25\n"
)
BAD = ORDERS + "WEB-4,WEBC-3,2024-03-06,twelve\n"


def _rows(status: dict[str, Any], table: str) -> int:
    return next(int(t["rows"]) for t in status["tables"] if t["table"] == table)


def _upload(content: str, name: str = "orders.csv") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, content.encode(), "text/csv")}


async def _wait(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    for _ in range(400):
        job = (await client.get(f"/api/jobs/{job_id}")).json()
        if job["status"] in ("done", "failed"):
            return dict(job)
        await asyncio.sleep(0.05)
    raise AssertionError("the import job did not finish")


def _workspace_orders(path: Path) -> int:
    ws = open_workspace(path)
    try:
        return int(ws.duck.execute("SELECT count(*) FROM orders").fetchone()[0])  # type: ignore[index]
    finally:
        ws.close()


@pytest.mark.anyio
async def test_data_page_shows_status_history_and_the_upload_form(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        await log_in(client, "analyst")
        page = await client.get("/data")
        assert page.status_code == 200
        assert 'data-table="orders"' in page.text and "Import history" in page.text
        assert 'name="source"' in page.text and '<option value="shopify"' in page.text
        assert 'hx-post="/data/preview"' in page.text
        status = (await client.get("/api/status")).json()
        assert _rows(status, "orders") > 0
        imports = (await client.get("/api/imports")).json()["imports"]
        assert isinstance(imports, list)


@pytest.mark.anyio
async def test_preview_shows_the_mapping_then_the_import_job_adds_the_rows(
    sample_ws: Path,
) -> None:
    async with dashboard(sample_ws) as client:
        csrf = await log_in(client, "analyst")
        before = _rows((await client.get("/api/status")).json(), "orders")
        version = client.app.state.runner.version  # type: ignore[attr-defined]

        preview = await client.post(
            "/data/preview",
            data={"csrf_token": csrf, "source": "csv", "table": "orders"},
            files=_upload(ORDERS),
        )
        assert preview.status_code == 200, preview.text
        text = preview.text
        # The mapping: field ← column of the file, and the rows per table.
        assert re.search(r'data-field="order_id"><td>order_id</td><td>Order ID</td>', text)
        assert re.search(r'data-field="total"><td>total</td><td>Total</td>', text)
        assert re.search(r'data-table="orders"><td>orders</td><td class="num">3</td>', text)
        assert "nothing has been written yet" in text
        assert str(sample_ws) not in text  # file names, not server paths
        upload_id = re.search(r'name="upload" value="([0-9a-f]{32})"', text)
        assert upload_id
        # Nothing written yet.
        assert _rows((await client.get("/api/status")).json(), "orders") == before
        assert (sample_ws / ".uploads" / upload_id.group(1) / "orders.csv").exists()

        started = await client.post(
            "/data/import",
            data={"upload": upload_id.group(1)},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert started.status_code == 200
        job_id = re.search(r'id="job-([0-9a-f]+)"', started.text)
        assert job_id and 'hx-get="/jobs/' in started.text
        job = await _wait(client, job_id.group(1))
        assert job["status"] == "done", job
        done = await client.get(f"/jobs/{job_id.group(1)}")
        assert "Import finished" in done.text
        assert re.search(r'data-table="orders"><td>orders</td><td class="num">3</td>', done.text)

        # The cached status and pages see the new rows; the upload folder is gone.
        assert _rows((await client.get("/api/status")).json(), "orders") == before + 3
        history = (await client.get("/api/imports")).json()["imports"]
        assert history[0]["files"] == ["orders.csv"] and history[0]["inserted"] >= 3
        assert "orders.csv" in (await client.get("/data")).text
        assert not (sample_ws / ".uploads" / upload_id.group(1)).exists()
        assert not (sample_ws / ".uploads" / f"{upload_id.group(1)}.importing").exists()
        assert client.app.state.runner.version == version + 1  # type: ignore[attr-defined]
        assert (await client.get("/")).status_code == 200
        # The same upload cannot be imported twice.
        again = await client.post(
            "/data/import", data={"upload": upload_id.group(1), "csrf_token": csrf}
        )
        assert again.status_code == 404
    assert _workspace_orders(sample_ws) == before + 3


@pytest.mark.anyio
async def test_preview_writes_nothing(sample_ws: Path) -> None:
    before = _workspace_orders(sample_ws)
    async with dashboard(sample_ws) as client:
        csrf = await log_in(client, "analyst")
        preview = await client.post(
            "/data/preview",
            data={"source": "csv", "table": "orders"},
            files=_upload(ORDERS),
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert preview.status_code == 200 and "<html" not in preview.text  # an htmx fragment
        assert 'data-field="ordered_at"' in preview.text
        upload_id = re.search(r'name="upload" value="([0-9a-f]{32})"', preview.text)
        assert upload_id
        cancel = await client.post(
            "/data/discard",
            data={"upload": upload_id.group(1)},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert "nothing was written" in cancel.text
        assert not any((sample_ws / ".uploads").iterdir())
    assert _workspace_orders(sample_ws) == before


@pytest.mark.anyio
async def test_a_bad_cell_is_one_line_with_row_and_column_and_nothing_is_written(
    sample_ws: Path,
) -> None:
    before = _workspace_orders(sample_ws)
    async with dashboard(sample_ws) as client:
        csrf = await log_in(client, "analyst")
        page = await client.post(
            "/data/preview",
            data={"csrf_token": csrf, "source": "csv", "table": "orders"},
            files=_upload(BAD, "bad.csv"),
        )
        assert page.status_code == 400
        error = re.search(r'<p class="error" role="alert">([^<]*)</p>', page.text)
        assert error, page.text
        line = error.group(1)
        assert "bad.csv, row 5, column &#39;Total&#39;" in line and "twelve" in line
        assert 'name="upload"' not in page.text
        api = await client.post(
            "/api/imports",
            data={"source": "csv", "table": "orders"},
            files=_upload(BAD, "bad.csv"),
            headers={"X-CSRF-Token": csrf},
        )
        assert api.status_code == 202  # the job fails with the same line
        job = await _wait(client, api.json()["job"])
        assert job["status"] == "failed" and "row 5" in job["error"] and "\n" not in job["error"]
        dry = await client.post(
            "/api/imports?dry_run=true",
            data={"source": "csv", "table": "orders"},
            files=_upload(BAD, "bad.csv"),
            headers={"X-CSRF-Token": csrf},
        )
        assert dry.status_code == 400 and "row 5" in dry.json()["error"]
        # An unknown source or a missing table: one line too.
        unknown = await client.post(
            "/api/imports?dry_run=true",
            data={"source": "nosuch"},
            files=_upload(ORDERS),
            headers={"X-CSRF-Token": csrf},
        )
        assert unknown.status_code == 400 and "unknown source" in unknown.json()["error"]
        no_table = await client.post(
            "/api/imports?dry_run=true",
            data={"source": "csv"},
            files=_upload(ORDERS),
            headers={"X-CSRF-Token": csrf},
        )
        assert no_table.status_code == 400 and "--table" in no_table.json()["error"]
        assert not any((sample_ws / ".uploads").iterdir())
    assert _workspace_orders(sample_ws) == before


@pytest.mark.anyio
async def test_api_import_dry_run_then_job(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        csrf = await log_in(client, "analyst")
        before = _rows((await client.get("/api/status")).json(), "orders")
        dry = await client.post(
            "/api/imports",
            params={"dry_run": "true"},
            data={"source": "csv", "table": "orders"},
            files=_upload(ORDERS),
            headers={"X-CSRF-Token": csrf},
        )
        assert dry.status_code == 200, dry.text
        body = dry.json()
        assert body["dry_run"] is True and body["tables"]["orders"]["inserted"] == 3
        assert body["files"][0]["file"] == "orders.csv"
        assert body["files"][0]["mapping"]["order_id"] == "Order ID"
        assert _rows((await client.get("/api/status")).json(), "orders") == before
        started = await client.post(
            "/api/imports",
            data={"source": "csv", "table": "orders"},
            files=_upload(ORDERS),
            headers={"X-CSRF-Token": csrf},
        )
        assert started.status_code == 202
        job = await _wait(client, started.json()["job"])
        assert job["status"] == "done"
        assert _rows((await client.get("/api/status")).json(), "orders") == before + 3
        # Re-importing the same export changes nothing.
        again = await client.post(
            "/api/imports?dry_run=true",
            data={"source": "csv", "table": "orders"},
            files=_upload(ORDERS),
            headers={"X-CSRF-Token": csrf},
        )
        assert again.json()["tables"]["orders"]["unchanged"] == 3


@pytest.mark.anyio
async def test_too_big_is_413_and_wrong_types_are_415(sample_ws: Path) -> None:
    async with dashboard(sample_ws, max_upload_bytes=1000) as client:
        csrf = await log_in(client, "analyst")
        big = ORDERS + "".join(f"BIG-{i},C{i},2024-03-01,1.00\n" for i in range(100))
        assert len(big) > 1000
        page = await client.post(
            "/data/preview",
            data={"csrf_token": csrf, "source": "csv", "table": "orders"},
            files=_upload(big),
        )
        assert page.status_code == 413 and "upload limit of 1,000 bytes" in page.text
        api = await client.post(
            "/api/imports",
            data={"source": "csv", "table": "orders"},
            files=_upload(big),
            headers={"X-CSRF-Token": csrf},
        )
        assert api.status_code == 413 and "\n" not in api.json()["error"]
        # A body far past the limit is refused before it is read (the middleware too).
        huge = "x" * 600_000
        for headers in ({"X-CSRF-Token": csrf}, {}):
            refused = await client.post(
                "/data/preview",
                data={"csrf_token": csrf, "source": "csv"},
                files=_upload(huge),
                headers=headers,
            )
            assert refused.status_code == 413
        for name in ("evil.exe", "page.html", "noext"):
            wrong = await client.post(
                "/data/preview",
                data={"csrf_token": csrf, "source": "csv", "table": "orders"},
                files=_upload("a,b\n1,2\n", name),
            )
            assert wrong.status_code == 415, name
            assert "only .csv" in wrong.text
        api_wrong = await client.post(
            "/api/imports",
            data={"source": "csv"},
            files={"file": ("x.html", b"<script>", "text/html")},
            headers={"X-CSRF-Token": csrf},
        )
        assert api_wrong.status_code == 415
        not_multipart = await client.post(
            "/api/imports", json={"source": "csv"}, headers={"X-CSRF-Token": csrf}
        )
        assert not_multipart.status_code == 415
        assert not (sample_ws / ".uploads").exists() or not any((sample_ws / ".uploads").iterdir())


@pytest.mark.anyio
async def test_viewer_cannot_upload_or_import(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        csrf = await log_in(client, "viewer")
        page = await client.get("/data")
        assert page.status_code == 200 and "Imports need the analyst role" in page.text
        assert 'hx-post="/data/preview"' not in page.text
        for path in ("/data/preview", "/api/imports", "/api/imports?dry_run=true"):
            refused = await client.post(
                path,
                data={"csrf_token": csrf, "source": "csv", "table": "orders"},
                files=_upload(ORDERS),
            )
            assert refused.status_code == 403, path
        refused = await client.post("/data/import", data={"csrf_token": csrf, "upload": "0" * 32})
        assert refused.status_code == 403
        assert not (sample_ws / ".uploads").exists()


@pytest.mark.anyio
async def test_an_upload_belongs_to_its_uploader(sample_ws: Path) -> None:
    async with (
        dashboard(sample_ws) as analyst,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=analyst.app),  # type: ignore[attr-defined]
            base_url="http://testserver",
        ) as other,
    ):
        csrf = await log_in(analyst, "analyst")
        preview = await analyst.post(
            "/data/preview",
            data={"csrf_token": csrf, "source": "csv", "table": "orders"},
            files=_upload(ORDERS),
        )
        upload_id = re.search(r'name="upload" value="([0-9a-f]{32})"', preview.text)
        assert upload_id
        # Another analyst session may not import it; ids that are not ours are 404.
        store = analyst.app.state.users  # type: ignore[attr-defined]
        store.add("analyst2", "analyst2-password", "analyst")
        page = await other.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        await other.post(
            "/login",
            data={"username": "analyst2", "password": "analyst2-password", "csrf_token": token[1]},
        )
        csrf2 = re.search(r'name="csrf-token" content="([^"]+)"', (await other.get("/")).text)
        assert csrf2
        for upload in (upload_id.group(1), "../../etc", "0" * 32):
            refused = await other.post(
                "/data/import", data={"csrf_token": csrf2[1], "upload": upload}
            )
            assert refused.status_code == 404, upload
        assert (sample_ws / ".uploads" / upload_id.group(1)).exists()
