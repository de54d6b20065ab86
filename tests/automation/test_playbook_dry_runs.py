"""Every shipped playbook dry-runs against the sample business, with no effect."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smbgrowth import init_workspace
from smbgrowth.automation.definitions import load_workflow
from smbgrowth.automation.dryrun import dry_run
from smbgrowth.automation.playbooks import list_playbooks, playbook_path
from smbgrowth.cli.main import app
from smbgrowth.data.sample import generate_sample_business


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("playbooks") / "ws"
    ws = init_workspace(path)
    try:
        generate_sample_business(ws, customers=1500, years=2.0, seed=8)
    finally:
        ws.close()
    return path


def _digest(path: Path) -> str:
    """Every row of the operational database (the file's bytes may move between journals)."""
    con = sqlite3.connect(path / "ops.sqlite")
    try:
        return hashlib.sha256("\n".join(con.iterdump()).encode()).hexdigest()
    finally:
        con.close()


@pytest.mark.parametrize("name", [p["name"] for p in list_playbooks()])
def test_playbook_dry_runs_on_the_sample_business(sample: Path, name: str) -> None:
    path = playbook_path(name)
    assert path is not None
    workflow = load_workflow(path)
    before = _digest(sample)
    result = dry_run(sample, workflow, limit=10)
    assert _digest(sample) == before  # nothing written
    data = result.to_dict()
    assert data["workflow"] == workflow.name
    for run in data["runs"]:
        for action in run["actions"]:
            assert action["at"]
            if action["action"] == "email":
                # Rendered for a real customer, or refused with the reason.
                assert action["to"] or not action["allowed"]
                assert action["allowed"] or action["reason"]


def test_event_playbooks_show_recipients_and_consent(sample: Path) -> None:
    path = playbook_path("welcome")
    assert path is not None
    result = dry_run(sample, load_workflow(path), limit=20).to_dict()
    emails = [a for r in result["runs"] for a in r["actions"] if a["action"] == "email"]
    assert len(emails) == 3 * len(result["runs"]) > 0
    # Marketing: customers without consent are refused, the others are not.
    reasons = {a["reason"] for a in emails}
    assert "consent" in reasons or "no marketing consent" in reasons
    assert all(a["reason"] in ("consent", "no marketing consent") for a in emails)


def test_invoice_reminders_find_the_overdue_invoices(sample: Path) -> None:
    path = playbook_path("invoice_reminders")
    assert path is not None
    result = dry_run(sample, load_workflow(path), limit=50).to_dict()
    assert result["runs"], "the sample business has unpaid, overdue invoices"
    assert all(r["run_id"].startswith("invoice-reminders:invoice:") or ":invoice:" in r["run_id"]
               for r in result["runs"])  # fmt: skip


def test_malformed_workflow_is_refused_and_nothing_is_enabled(sample: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: broken\ntrigger:\n  event: order.created\nsteps:\n  - wait: {days: soon}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["automate", "enable", str(bad), "-w", str(sample)])
    assert result.exit_code == 1
    assert "line 5" in result.stderr and "steps[0].wait.days" in result.stderr
    listing = CliRunner().invoke(app, ["automate", "list", "-w", str(sample), "--json"])
    names = [w["name"] for w in json.loads(listing.stdout)["workflows"]]
    assert "broken" not in names
