"""Realised ROI of a workflow with a holdout: the lift it recovers from data with a known truth."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from smbgrowth.automation.definitions import parse_workflow
from smbgrowth.automation.engine import in_holdout
from smbgrowth.automation.store import AutomationStore
from smbgrowth.data.importer import import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import DataError, SmbGrowthError, WorkflowError
from smbgrowth.plan.realised import RealisedROI, realised_roi

START = datetime(2024, 1, 1, 9, tzinfo=UTC)
ORDER_VALUE = 80.0
WORKFLOW = """\
name: {name}
list: winback
trigger:
  event: customer.created
settings:
  holdout: {share}
steps:
  - send_email: {{template: winback_1, subject: "We miss you"}}
  - task: {{title: "Call the customer"}}
"""


def save_workflow(store: AutomationStore, name: str, share: float) -> str:
    return store.save_workflow(parse_workflow(WORKFLOW.format(name=name, share=share)))


def trigger(
    store: AutomationStore, name: str, version: str, share: float, starts: dict[str, datetime]
) -> dict[str, bool]:
    """Record one run per customer as the engine does, started at the given times."""
    held = {}
    for i, customer in enumerate(starts):
        held[customer] = in_holdout(name, customer, share)
        store.record_trigger(
            f"{name}-{i}", name, version, "customer.created", customer, held[customer]
        )
    # The store stamps a run with the current time; these runs happened in the past.
    with store.transaction() as con:
        con.executemany(
            "UPDATE automation_runs SET started_at = ? WHERE run_id = ?",
            [(at.isoformat(), f"{name}-{i}") for i, at in enumerate(starts.values())],
        )
    return held


def import_orders(
    ws: Workspace, folder: Path, rows: list[tuple[str, datetime, str, float]]
) -> None:
    path = folder / "orders.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["order_id", "customer_id", "ordered_at", "status", "total"])
        for i, (customer, at, status, total) in enumerate(rows):
            out.writerow([f"o{i}", customer, at.isoformat(), status, f"{total:.2f}"])
    import_files(ws, "csv", [path], ImportOptions(table="orders"))


def simulate(
    ws: Workspace,
    folder: Path,
    name: str,
    *,
    customers: int,
    p_held: float,
    p_treated: float,
    seed: int,
    share: float = 0.2,
) -> AutomationStore:
    """Customers triggered over 60 days; each orders within 30 days with its arm's chance.

    Held-out customers also get orders that must not count (before the run,
    after its window, cancelled inside it): counted by mistake, they would
    shrink the lift.
    """
    rng = np.random.default_rng(seed)
    store = AutomationStore(ws.path)
    version = save_workflow(store, name, share)
    starts = {
        f"c{i:05d}": START + timedelta(days=float(d))
        for i, d in enumerate(rng.uniform(0, 60, customers))
    }
    held = trigger(store, name, version, share, starts)
    rows: list[tuple[str, datetime, str, float]] = []
    for customer, at in starts.items():
        if rng.random() < (p_held if held[customer] else p_treated):
            bought = at + timedelta(days=rng.uniform(0.01, 29.9))
            rows.append((customer, bought, "completed", ORDER_VALUE))
        if held[customer] and rng.random() < 0.3:
            rows.append((customer, at - timedelta(days=rng.uniform(1, 20)), "completed", 50.0))
            rows.append((customer, at + timedelta(days=rng.uniform(31, 50)), "completed", 50.0))
            rows.append((customer, at + timedelta(days=rng.uniform(1, 29)), "cancelled", 50.0))
    import_orders(ws, folder, rows)
    return store


def test_realised_lift_recovers_injected_lift(workspace: Workspace, tmp_path: Path) -> None:
    simulate(workspace, tmp_path, "winback", customers=5000, p_held=0.10, p_treated=0.15, seed=7)

    r = realised_roi(workspace, "winback", margin=0.5, as_of=START + timedelta(days=75))

    # Customers triggered in the last 30 days before as_of have no full window yet.
    assert r.units_left_out == pytest.approx(5000 * 15 / 60, rel=0.1)
    assert sum(r.units.values()) + r.units_left_out == 5000
    assert r.units["holdout"] / sum(r.units.values()) == pytest.approx(0.2, abs=0.03)
    conv = r.lift
    assert conv.metric == "converted"
    se = (conv.ci[1] - conv.ci[0]) / (2 * 1.959964)
    assert conv.ci[0] <= 0.05 <= conv.ci[1]
    assert abs(conv.abs_lift - 0.05) < 3 * se
    assert conv.verdict == "better"
    assert conv.holdout_mean == pytest.approx(0.10, abs=0.03)
    # Every converting customer ordered exactly one counted order worth ORDER_VALUE.
    rev = r.other_lift
    assert rev.metric == "revenue"
    assert rev.abs_lift == pytest.approx(ORDER_VALUE * conv.abs_lift, rel=1e-9)
    assert rev.ci[0] <= ORDER_VALUE * 0.05 <= rev.ci[1]
    assert r.incremental_value == pytest.approx(rev.abs_lift * r.treated_units * 0.5)
    assert r.margin_source == "given"


def test_revenue_metric_is_the_target_when_asked(workspace: Workspace, tmp_path: Path) -> None:
    simulate(workspace, tmp_path, "winback", customers=2000, p_held=0.10, p_treated=0.15, seed=3)

    r = realised_roi(workspace, "winback", metric="revenue")

    assert r.lift.metric == "revenue" and r.other_lift.metric == "converted"
    assert r.lift.abs_lift == pytest.approx(ORDER_VALUE * r.other_lift.abs_lift)
    # No order-line costs in the workspace: the value is revenue, and a note says so.
    assert r.margin == 1.0 and r.margin_source == "assumed"
    assert any("margin" in n for n in r.notes)


def test_no_effect_gives_an_inconclusive_lift(workspace: Workspace, tmp_path: Path) -> None:
    simulate(workspace, tmp_path, "winback", customers=3000, p_held=0.12, p_treated=0.12, seed=11)

    r = realised_roi(workspace, "winback")

    assert r.lift.ci[0] < 0 < r.lift.ci[1]
    assert r.lift.verdict == "inconclusive"
    assert r.other_lift.ci[0] < 0 < r.other_lift.ci[1]


def add_effects(store: AutomationStore, name: str) -> int:
    """Audit effects for every treated run the way the engine does; return how many count."""
    counted = 0
    for run in store.runs(name, limit=100_000):
        if run.holdout:
            continue
        key = f"{run.run_id}:0:email"
        store.mark_sending(key, run.run_id, "marketing", f"{run.subject}@example.com", None)
        email = {"run_id": run.run_id, "step": "0", "workflow": name, "to": "x@example.com"}
        store.mark_sent(key, audit={"action": "automation.email_sent", **email})
        store.create_task(f"{run.run_id}:1", run.run_id, "Call the customer", None, None)
        task = {"run_id": run.run_id, "step": "1", "workflow": name}
        store.audit("automation.step", {**task, "result": {"task_created": True}})
        # A webhook the receiver refused did no work; webhook entries carry no workflow.
        hook = {"run_id": run.run_id, "step": "2", "url": "https://example.com/hook"}
        store.audit("automation.webhook", {**hook, "status": 404})
        counted += 2
    return counted


@pytest.fixture
def small(workspace: Workspace, tmp_path: Path) -> tuple[Workspace, int]:
    store = simulate(
        workspace, tmp_path, "winback", customers=300, p_held=0.1, p_treated=0.3, seed=5
    )
    effects = add_effects(store, "winback")
    # Another workflow's effects are not this one's.
    other = save_workflow(store, "other", 0.2)
    trigger(store, "other", other, 0.2, {"c00001": START})
    store.audit("automation.email_sent", {"run_id": "other-0", "workflow": "other"})
    store.close()
    return workspace, effects


def test_hours_saved_count_the_effects_of_counted_runs(small: tuple[Workspace, int]) -> None:
    ws, effects = small

    r = realised_roi(
        ws,
        "winback",
        minutes_per_action=6,
        hourly_cost=40,
        setup_cost=100,
        monthly_cost=50,
        margin=0.4,
    )

    # Effects of runs whose window has not ended are left out with their runs.
    with AutomationStore(ws.path) as store:
        runs = store.runs("winback", limit=100_000)
    cutoff = r.as_of - timedelta(days=30)
    left_out = [x for x in runs if not x.holdout and datetime.fromisoformat(x.started_at) > cutoff]
    assert r.runs_left_out == len(
        [x for x in runs if datetime.fromisoformat(x.started_at) > cutoff]
    )
    assert r.actions == effects - 2 * len(left_out)
    assert r.actions_by_kind == {"email": r.actions // 2, "task": r.actions // 2}
    assert r.hours_saved == pytest.approx(r.actions * 6 / 60)
    assert r.labour_value == pytest.approx(r.hours_saved * 40)
    assert r.months >= 1
    assert r.cost == pytest.approx(100 + 50 * r.months)
    assert r.net_benefit == pytest.approx(r.incremental_value + r.labour_value - r.cost)
    assert r.monthly_net_benefit == pytest.approx(r.net_benefit / r.months)
    assert r.roi == pytest.approx(r.net_benefit / r.cost)
    assert realised_roi(ws, "winback").roi is None  # no cost, no ratio


def test_planned_range_places_the_realised_benefit(small: tuple[Workspace, int]) -> None:
    ws, _ = small
    m = realised_roi(ws, "winback").monthly_net_benefit

    cases = {
        "below": {"p10": m + 10, "p50": m + 20, "p90": m + 30},
        "within": {"p10": m - 10, "p50": m, "p90": m + 10},
        "above": {"p10": m - 30, "p50": m - 20, "p90": m - 10},
    }
    for where, planned in cases.items():
        r = realised_roi(ws, "winback", planned=planned)
        assert r.planned_position == where
        assert f"{where} the planned range" in r.summary
    assert realised_roi(ws, "winback").planned_position is None


def test_to_dict_is_json_and_summary_is_one_sentence(small: tuple[Workspace, int]) -> None:
    import json

    ws, _ = small
    r = realised_roi(ws, "winback", monthly_cost=20, planned={"p10": 0, "p50": 50, "p90": 100})

    data = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert data["lift"]["metric"] == "converted" and len(data["lift"]["ci"]) == 2
    assert data["experiment"]["control"] == "holdout"
    assert data["summary"] == r.summary
    assert r.summary.count(". ") == 0 and r.summary.endswith(".")
    assert isinstance(r, RealisedROI)


def one_line(exc: pytest.ExceptionInfo[SmbGrowthError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_errors_are_one_line(workspace: Workspace, tmp_path: Path) -> None:
    store = AutomationStore(workspace.path)
    with pytest.raises(WorkflowError) as exc:
        realised_roi(workspace, "nope")
    assert "no workflow named 'nope'" in one_line(exc)

    version = save_workflow(store, "fresh", 0.2)
    with pytest.raises(WorkflowError) as exc:
        realised_roi(workspace, "fresh")
    assert "has no runs yet" in one_line(exc)

    zero = save_workflow(store, "nohold", 0)
    trigger(store, "nohold", zero, 0, {f"z{i}": START for i in range(20)})
    with pytest.raises(WorkflowError) as exc:
        realised_roi(workspace, "nohold")
    assert "enable a holdout share in the workflow's settings" in one_line(exc)

    # Outcomes need orders.
    customers = [f"c{i}" for i in range(200)]
    treated = [c for c in customers if not in_holdout("fresh", c, 0.2)][:20]
    trigger(store, "fresh", version, 0.2, {c: START for c in treated})
    with pytest.raises(DataError) as data_exc:
        realised_roi(workspace, "fresh")
    assert "no orders" in one_line(data_exc)

    import_orders(workspace, tmp_path, [(treated[0], START + timedelta(days=5), "completed", 10)])
    with pytest.raises(WorkflowError) as exc:
        realised_roi(workspace, "fresh")
    assert "no outcome is complete yet" in one_line(exc)

    with pytest.raises(WorkflowError) as exc:
        realised_roi(workspace, "fresh", as_of=START + timedelta(days=40))
    assert "no held-out customer yet" in one_line(exc)
    store.close()
