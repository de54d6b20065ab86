"""``smbgrowth plan`` and its subcommands on the sample business."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from smbgrowth.automation.store import AutomationStore
from smbgrowth.cli.main import app
from smbgrowth.data.sample import generate_sample_business
from smbgrowth.data.workspace import init_workspace, open_workspace
from tests.plan.test_realised import import_orders, save_workflow, trigger

runner = CliRunner()


def _invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "ws"
    ws = init_workspace(path)
    try:
        generate_sample_business(ws, customers=1000, years=2.0, seed=5)
    finally:
        ws.close()
    return path


def test_plan_json_ranks_explains_and_saves_the_plan(sample: Path) -> None:
    code, out, err = _invoke("plan", "-w", str(sample), "--runs", "100", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= {
        "currency",
        "months",
        "runs",
        "discount_rate",
        "baseline",
        "needs",
        "binding_constraints",
        "processes",
        "opportunities",
        "roadmap",
    }
    ranked = data["opportunities"]
    assert [o["rank"] for o in ranked] == list(range(1, len(ranked) + 1))
    scores = [o["score"] for o in ranked]
    assert scores == sorted(scores, reverse=True)
    for o in ranked:
        roi = o["roi"]
        assert roi["npv"]["p10"] <= roi["npv"]["p50"] <= roi["npv"]["p90"]
        assert 0 <= roi["p_payback_12"] <= 1
        assert len(roi["cumulative"]) == data["months"]
        assert o["explanation"].startswith(f"Ranks {o['rank']} of {len(ranked)}")
    saved = json.loads((sample / "plan.json").read_text())
    assert [o["id"] for o in saved["opportunities"]] == [o["id"] for o in ranked]
    # The same seed gives the same plan.
    code, again, _ = _invoke("plan", "-w", str(sample), "--runs", "100", "--json")
    assert [o["roi"]["npv"] for o in json.loads(again)["opportunities"]] == [
        o["roi"]["npv"] for o in ranked
    ]


def test_plan_table_and_roadmap(sample: Path) -> None:
    code, out, err = _invoke("plan", "-w", str(sample), "--runs", "50")
    assert code == 0, err
    assert "Automation opportunities" in out and "Ranks 1 of" in out
    code, out, err = _invoke("plan", "roadmap", "-w", str(sample), "--runs", "50", "--json")
    assert code == 0, err
    roadmap = json.loads(out)
    assert roadmap["items"], "the sample business has automations worth piloting"
    for item in roadmap["items"]:
        assert item["phases"][0]["name"] == "pilot"
        assert item["phases"][0]["measure"] and item["phases"][0]["decision"]
        assert item["risks"]
    code, out, err = _invoke("plan", "roadmap", "-w", str(sample), "--runs", "50")
    assert code == 0, err
    assert "pilot" in out and "risk:" in out


def test_bad_options_are_one_line(sample: Path, tmp_path: Path) -> None:
    code, _, err = _invoke("plan", "-w", str(sample), "--discount-rate", "ten")
    assert code == 1 and "--discount-rate 'ten'" in err and err.count("\n") == 1
    bad = tmp_path / "cat.yaml"
    bad.write_text("win_back:\n  effects: {churn_reduction: [0.3, 0.1, 0.2]}\n")
    code, _, err = _invoke("plan", "-w", str(sample), "--catalogue", str(bad), "--runs", "10")
    assert code == 1 and "cat.yaml entry win_back" in " ".join(err.split())


def test_processes_catalogue_and_survey(sample: Path, tmp_path: Path) -> None:
    code, out, err = _invoke("plan", "processes", "-w", str(sample), "--json")
    assert code == 0, err
    names = [p["name"] for p in json.loads(out)["processes"]]
    assert "Customer e-mail replies" in names
    code, out, err = _invoke("plan", "catalogue", "-w", str(sample), "--json")
    assert code == 0, err
    assert "chatbot_deflection" in {o["id"] for o in json.loads(out)["opportunities"]}
    target = tmp_path / "mine.yaml"
    code, _, err = _invoke("plan", "catalogue", "-w", str(sample), "--export", str(target))
    assert code == 0, err
    assert "stated assumption" in target.read_text()
    # Pressing Enter through the survey keeps the inventory as it is.
    code, out, err = _invoke("plan", "survey", "-w", str(sample), "--defaults", "--json")
    assert code == 0, err
    surveyed = {p["name"]: p for p in json.loads(out)["processes"]}
    assert "Customer e-mail replies" in surveyed
    assert all(p["origin"] == "survey" for p in surveyed.values())


def test_realised_roi_of_a_workflow_with_a_holdout(sample: Path, tmp_path: Path) -> None:
    """The win-back playbook ran on the sample's customers with a 20 % holdout."""
    code, _, err = _invoke("plan", "realised", "-w", str(sample), "--json")
    assert code == 1 and "no automation has run with a holdout" in err
    code, _, err = _invoke("plan", "-w", str(sample), "--runs", "50", "--json")
    assert code == 0, err
    ws = open_workspace(sample)
    try:
        customers = [str(c) for c in ws.duck.execute(
            "SELECT customer_id FROM customers ORDER BY customer_id LIMIT 800"
        ).fetchall() for c in c]  # fmt: skip
        last = ws.duck.execute("SELECT max(ordered_at) FROM orders").fetchone()
        assert last is not None
        end: datetime = last[0].astimezone(UTC)
        rng = np.random.default_rng(11)
        start = end - timedelta(days=80)
        starts = {c: start + timedelta(days=float(rng.uniform(0, 40))) for c in customers}
        with AutomationStore(sample) as store:
            version = save_workflow(store, "winback", 0.2)
            held = trigger(store, "winback", version, 0.2, starts)
        rows = []
        for c, at in starts.items():
            if rng.random() < (0.05 if held[c] else 0.25):
                bought = at + timedelta(days=float(rng.uniform(0.1, 29)))
                rows.append((c, bought, "completed", 60.0))
        import_orders(ws, tmp_path, rows)
    finally:
        ws.close()
    code, out, err = _invoke("plan", "realised", "winback", "-w", str(sample), "--json")
    assert code == 0, err
    (result,) = json.loads(out)["automations"]
    assert result["workflow"] == "winback"
    assert result["units"]["holdout"] > 0 and result["units"]["automation"] > 0
    assert result["lift"]["ci"][0] < 0.20 < result["lift"]["ci"][1]
    assert result["planned"] is not None and result["planned_position"] in (
        "below",
        "within",
        "above",
    )
    code, out, err = _invoke("plan", "realised", "-w", str(sample))
    assert code == 0, err
    assert "winback" in out
