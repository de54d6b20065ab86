"""Dry runs have no effects; the audit log only grows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smbgrowth import open_workspace
from smbgrowth.automation.config import signing_key
from smbgrowth.automation.engine import DBOS_FILE
from smbgrowth.automation.store import GLOBAL, AutomationStore
from smbgrowth.cli.main import app
from smbgrowth.data.importer import import_files
from smbgrowth.data.plan import ImportOptions
from tests.automation.conftest import SmtpSink

runner = CliRunner()

CUSTOMERS = """\
customer_id,email,name,created_at,accepts_marketing
c1,ada@example.com,Ada Lovelace,2026-11-01,true
c2,bob@example.com,Bob Marley,2026-11-02,false
c3,cy@example.com,Cy Twombly,2026-11-03,true
"""

PROMO = """\
name: promo
list: news
trigger:
  event: customer.created
steps:
  - send_email: {template: welcome_1, subject: "Hello {{ customer.first_name }}"}
  - wait: {days: 2}
  - approval: {prompt: "Follow up?", timeout_hours: 24}
  - send_email: {template: welcome_2, subject: "Tips for {{ customer.first_name }}"}
"""


def _dump(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def test_dry_run_has_no_effects_and_lists_recipients(
    auto_ws: Path, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    source = tmp_path / "customers.csv"
    source.write_text(CUSTOMERS, encoding="utf-8")
    ws = open_workspace(auto_ws)
    try:
        import_files(ws, "csv", [source], ImportOptions(table="customers"))
    finally:
        ws.close()
    with AutomationStore(auto_ws) as store:
        store.suppress("cy@example.com", GLOBAL, "unsubscribed (by hand)", actor="test")
    flow = tmp_path / "promo.yaml"
    flow.write_text(PROMO, encoding="utf-8")
    signing_key(auto_ws)  # the workspace's unsubscribe-link key (made once, by any first use)
    before = _dump(auto_ws / "ops.sqlite")
    files_before = sorted(p.name for p in auto_ws.iterdir())

    result = runner.invoke(app, ["automate", "dry-run", str(flow), "-w", str(auto_ws), "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    text = runner.invoke(app, ["automate", "dry-run", str(flow), "-w", str(auto_ws)])
    assert text.exit_code == 0, text.output

    assert _dump(auto_ws / "ops.sqlite") == before
    assert sorted(p.name for p in auto_ws.iterdir()) == files_before
    assert not (auto_ws / DBOS_FILE).exists()
    assert smtp_sink.messages() == []
    assert smtp_sink.attempts == {}

    runs = {r["run_id"]: r for r in plan["runs"]}
    assert set(runs) == {"promo:event:c1", "promo:event:c2", "promo:event:c3"}
    ada = runs["promo:event:c1"]["actions"]
    assert [(a["step"], a["action"]) for a in ada] == [
        ("0", "email"), ("2", "approval"), ("3", "email")]  # fmt: skip
    assert [(a["to"], a["subject"], a["allowed"]) for a in ada if a["action"] == "email"] == [
        ("ada@example.com", "Hello Ada", True),
        ("ada@example.com", "Tips for Ada", True),
    ]
    first, approval, second = ada
    assert second["at"] >= approval["at"] > first["at"]  # the 2-day wait
    bob = runs["promo:event:c2"]["actions"][0]
    assert (bob["to"], bob["allowed"], bob["reason"]) == (
        "bob@example.com", False, "no marketing consent")  # fmt: skip
    cy = runs["promo:event:c3"]["actions"][0]
    assert (cy["to"], cy["allowed"]) == ("cy@example.com", False)
    assert cy["reason"].startswith("suppressed")
    assert "Dry run of promo: 3 run(s)" in text.output


def test_audit_log_is_append_only(auto_ws: Path) -> None:
    with AutomationStore(auto_ws) as store:
        store.audit("automation.test", {"workflow": "w", "run_id": "r1"}, actor="tester")
        entry = store.audit_entries(run_id="r1")[0]
        assert (entry["actor"], entry["action"]) == ("tester", "automation.test")
        assert entry["at"].endswith("+00:00")
        count = store.con.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    con = sqlite3.connect(auto_ws / "ops.sqlite")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE audit_log SET actor = 'someone else'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM audit_log WHERE actor = 'tester'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM audit_log")
        assert con.execute("SELECT count(*) FROM audit_log").fetchone()[0] == count
        assert con.execute(
            "SELECT actor FROM audit_log WHERE action = 'automation.test'"
        ).fetchone() == ("tester",)
    finally:
        con.close()


def test_cli_unsubscribe_and_enable_are_audited(auto_ws: Path, tmp_path: Path) -> None:
    flow = tmp_path / "promo.yaml"
    flow.write_text(PROMO, encoding="utf-8")
    ws = str(auto_ws)
    assert runner.invoke(app, ["automate", "enable", str(flow), "-w", ws]).exit_code == 0
    out = runner.invoke(app, ["automate", "unsubscribe", "Ada@Example.com", "-w", ws, "--json"])
    assert json.loads(out.output) == {"email": "ada@example.com", "list": "*", "suppressed": True}
    listed = json.loads(runner.invoke(app, ["automate", "list", "-w", ws, "--json"]).output)
    assert [(w["name"], w["enabled"]) for w in listed["workflows"]] == [("promo", True)]
    with AutomationStore(auto_ws) as store:
        actions = {(e["action"], e["actor"]) for e in store.audit_entries()}
    assert {
        ("automation.workflow_saved", "user"),
        ("automation.enabled", "user"),
        ("automation.suppressed", "cli"),
    } <= actions
