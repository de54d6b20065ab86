"""The interactive pages: the what-if simulator, automation (workflows, approvals), the plan."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from smbgrowth.automation.store import AutomationStore
from tests.automation.conftest import (
    SmtpSink,
    customer_event,
    enable,
    free_port,
    run_status,
    running_worker,
    wait_for,
    write_config,
)
from tests.web.conftest import dashboard, log_in

LEVERS = {"months": 12, "runs": 200}


async def log_in_as(client: httpx.AsyncClient, role: str) -> str:
    """Log in afresh as ``role`` (the cookies of the previous user are dropped)."""
    client.cookies.clear()
    return await log_in(client, role)


async def wait_job(client: httpx.AsyncClient, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``/api/jobs/{id}`` until the job ends (at most ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        job = (await client.get(f"/api/jobs/{job_id}")).json()
        if job["status"] in ("done", "failed"):
            return job  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
        await asyncio.sleep(0.1)


@pytest.mark.anyio
async def test_simulation_api_runs_and_reacts_to_levers(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        csrf = await log_in(client, "analyst")
        headers = {"X-CSRF-Token": csrf}
        revenue = {}
        for spend in (0, 80):
            started = await client.post(
                "/api/simulate", json={**LEVERS, "spend_change": spend}, headers=headers
            )
            assert started.status_code == 200, started.text
            job = await wait_job(client, started.json()["job"])
            assert job["status"] == "done", job
            result = (await client.get(f"/api/simulations/{job['id']}")).json()
            names = [s["name"] for s in result["scenarios"]]
            assert names == ["baseline", "what-if"] and result["months"] == 12
            assert len(result["scenarios"][1]["fan"]) == 12
            revenue[spend] = result["scenarios"][1]["revenue"]["p50"]
        assert revenue[0] != revenue[80]


@pytest.mark.anyio
async def test_simulate_page_form_and_csrf(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        csrf = await log_in(client, "viewer")
        page = await client.get("/simulate")
        assert page.status_code == 200
        for name in ("spend_change", "hires", "price_change", "automation_gain", "months", "runs"):
            assert f'name="{name}"' in page.text
        assert 'type="range"' in page.text and 'hx-post="/simulate"' in page.text
        form = {
            **{"spend_change": "50", "hires": "1", "price_change": "5", "automation_gain": "30"},
            **{"automation_monthly_cost": "200", "automation_setup_cost": "3000", **LEVERS},
        }
        refused = await client.post("/simulate", data=form)
        assert refused.status_code == 403
        refused = await client.post("/api/simulate", json=LEVERS)
        assert refused.status_code == 403
        # a viewer may simulate: it changes nothing
        started = await client.post("/simulate", data={**form, "csrf_token": csrf})
        assert started.status_code == 200, started.text
        job_id = started.text.split('id="job-', 1)[1].split('"', 1)[0]
        assert f'hx-get="/jobs/{job_id}"' in started.text
        assert (await wait_job(client, job_id))["status"] == "done"
        fragment = await client.get(f"/jobs/{job_id}")
        assert "Against the baseline" in fragment.text and "What holds growth back" in fragment.text
        assert fragment.text.count("data-chart=") == 3
        bad = await client.post(
            "/simulate", data={**form, "hires": "9"}, headers={"X-CSRF-Token": csrf}
        )
        assert bad.status_code == 422 and "hires" in bad.text
        unknown = await client.get("/api/simulations/nope")
        assert unknown.status_code == 404


# -- automation ----------------------------------------------------------------------------

REVIEW = """\
name: review
kind: transactional
trigger:
  event: customer.created
steps:
  - approval: {prompt: "Welcome {{ customer.name }}?", timeout_hours: 1, default: reject}
  - send_email: {template: welcome_1, subject: Approved}
"""


def waiting_approval(workspace: Path, run_id: str = "review:event:x") -> str:
    """A run waiting at an approval, as the engine records it (no live DBOS workflow)."""
    with AutomationStore(workspace) as store:
        store.record_run(run_id, "review", "v1", "event:x", "x", False)
        store.request_approval(
            run_id, "0", "review", "Welcome Xena?", "2099-01-01T00:00:00+00:00", "reject"
        )
    return run_id


@pytest.mark.anyio
async def test_automation_pages_and_enabling_is_for_owners(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        for role in ("viewer", "analyst", "owner"):
            await log_in_as(client, role)
            page = await client.get("/automation")
            assert page.status_code == 200 and "Workflows" in page.text and "Audit log" in page.text
            assert 'data-playbook="welcome"' in page.text
            assert ("/automation/workflows/welcome/enable" in page.text) == (role == "owner")
            for what in ("workflows", "runs", "approvals", "audit"):
                api = await client.get(f"/api/automation/{what}")
                assert api.status_code == 200 and what in api.json()

        csrf = await log_in_as(client, "analyst")
        refused = await client.post(
            "/automation/workflows/welcome/enable", data={"csrf_token": csrf}
        )
        assert refused.status_code == 403
        refused = await client.post(
            "/api/automation/workflows/welcome/enable", headers={"X-CSRF-Token": csrf}
        )
        assert refused.status_code == 403
        with AutomationStore(sample_ws) as store:
            assert "welcome" not in store.workflow_names()

        csrf = await log_in_as(client, "owner")
        no_csrf = await client.post("/automation/workflows/welcome/enable")
        assert no_csrf.status_code == 403
        done = await client.post("/automation/workflows/welcome/enable", data={"csrf_token": csrf})
        assert done.status_code == 303 and done.headers["location"] == "/automation"
        with AutomationStore(sample_ws) as store:
            assert {w["name"]: w["enabled"] for w in store.workflows()} == {"welcome": True}
            assert store.audit_entries(limit=1)[0]["actor"] == "owner"
        page = await client.get("/automation")
        assert 'data-workflow="welcome"' in page.text and "/workflows/welcome/disable" in page.text
        off = await client.post(
            "/api/automation/workflows/welcome/disable", headers={"X-CSRF-Token": csrf}
        )
        assert off.json() == {"name": "welcome", "version": off.json()["version"], "enabled": False}
        with AutomationStore(sample_ws) as store:
            assert store.workflows()[0]["enabled"] is False
        unknown = await client.post("/automation/workflows/nope/enable", data={"csrf_token": csrf})
        assert unknown.status_code == 400 and "neither a stored workflow" in unknown.text


@pytest.mark.anyio
async def test_approvals_queue_lists_and_guards_decisions(sample_ws: Path) -> None:
    run_id = waiting_approval(sample_ws)
    async with dashboard(sample_ws) as client:
        csrf = await log_in(client, "viewer")
        page = await client.get("/automation")
        assert "Welcome Xena?" in page.text and "Approve" not in page.text
        listed = (await client.get("/api/automation/approvals")).json()["approvals"]
        assert [(a["run_id"], a["step"]) for a in listed] == [(run_id, "0")]
        refused = await client.post(
            f"/automation/approvals/{run_id}/0/approve", data={"csrf_token": csrf}
        )
        assert refused.status_code == 403
        refused = await client.post(
            f"/api/automation/approvals/{run_id}/0",
            json={"decision": "approve"},
            headers={"X-CSRF-Token": csrf},
        )
        assert refused.status_code == 403

        csrf = await log_in_as(client, "analyst")
        page = await client.get("/automation")
        assert f"/automation/approvals/{run_id.replace(':', '%3A')}/0/approve" in page.text
        # no live workflow behind this run: the library's error is shown, nothing is decided
        failed = await client.post(
            f"/automation/approvals/{run_id}/0/approve", data={"csrf_token": csrf}
        )
        assert failed.status_code == 409 and "could not be delivered" in failed.text
        assert "Welcome Xena?" in failed.text
        api = await client.post(
            f"/api/automation/approvals/{run_id}/9",
            json={"decision": "reject"},
            headers={"X-CSRF-Token": csrf},
        )
        assert api.status_code == 400 and "not waiting at step" in api.json()["error"]
        bad = await client.post(
            f"/api/automation/approvals/{run_id}/0",
            json={"decision": "maybe"},
            headers={"X-CSRF-Token": csrf},
        )
        assert bad.status_code == 422
    with AutomationStore(sample_ws) as store:
        assert [a["decision"] for a in store.pending_approvals()] == [None]


@contextmanager
def review_with_worker(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, customers: dict[str, str]
) -> Iterator[SmtpSink]:
    """The review workflow enabled, one event per customer (id -> name), a real worker
    running and a loopback SMTP sink receiving its mail."""
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "MAIL_FROM", "PUBLIC_URL"):
        monkeypatch.delenv(f"SMBGROWTH_{name}", raising=False)
    monkeypatch.delenv("SMBGROWTH_DBOS_DATABASE_URL", raising=False)
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        write_config(workspace, sink.port)
        enable(workspace, REVIEW, "review.yaml")
        for customer, first_name in customers.items():
            customer_event(workspace, customer, f"{customer}@example.com", name=first_name)
        with running_worker(workspace):
            yield sink
    finally:
        controller.stop()


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_decision_from_the_dashboard_reaches_the_running_workflow(
    sample_ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    yes, no = "review:event:yes", "review:event:no"
    with review_with_worker(sample_ws, monkeypatch, {"yes": "Yves", "no": "Nora"}) as sink:
        await asyncio.to_thread(
            wait_for,
            lambda: run_status(sample_ws, yes) == run_status(sample_ws, no) == "waiting",
        )
        async with dashboard(sample_ws) as client:
            csrf = await log_in(client, "analyst")
            page = await client.get("/automation")
            assert "Welcome Yves?" in page.text and "Welcome Nora?" in page.text
            approved = await client.post(
                f"/automation/approvals/{yes}/0/approve", data={"csrf_token": csrf}
            )
            assert approved.status_code == 200 and "Approved run" in approved.text
            rejected = await client.post(
                f"/api/automation/approvals/{no}/0",
                json={"decision": "reject"},
                headers={"X-CSRF-Token": csrf},
            )
            assert rejected.json()["decision"] == "reject"
            await asyncio.to_thread(
                wait_for,
                lambda: run_status(sample_ws, yes) == run_status(sample_ws, no) == "done",
                30,
            )
            assert (await client.get("/api/automation/approvals")).json()["approvals"] == []
            audit = (await client.get("/api/automation/audit")).json()["audit"]
            assert {"action": "automation.approval_sent", "actor": "analyst"} in [
                {"action": e["action"], "actor": e["actor"]} for e in audit
            ]
        assert sink.subjects("yes@example.com") == ["Approved"]
        assert sink.messages("no@example.com") == []


# -- plan -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_plan_page_computes_in_the_background_then_serves_the_cache(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        await log_in(client, "viewer")
        page = await client.get("/plan")
        assert page.status_code == 200 and 'hx-get="/jobs/' in page.text
        job_id = page.text.split('id="job-', 1)[1].split('"', 1)[0]
        again = await client.get("/plan")  # the same job, not a second computation
        assert f'id="job-{job_id}"' in again.text
        assert (await wait_job(client, job_id))["status"] == "done"
        fragment = await client.get(f"/jobs/{job_id}")
        assert "Ranked opportunities" in fragment.text and "Roadmap" in fragment.text
        assert 'data-chart="plan-npv"' in fragment.text

        plan = (await client.get("/api/plan")).json()
        ranked = plan["opportunities"]
        assert ranked and [o["rank"] for o in ranked] == list(range(1, len(ranked) + 1))
        assert {"p10", "p50", "p90"} <= set(ranked[0]["roi"]["npv"]) and ranked[0]["explanation"]
        assert "cumulative" not in ranked[0]["roi"] and plan["roadmap"]["items"]
        assert f'data-opportunity="{ranked[0]["id"]}"' in fragment.text
        cached = await client.get("/plan")
        assert 'hx-get="/jobs/' not in cached.text and ranked[0]["name"] in cached.text
        assert (sample_ws / "plan.json").is_file()
