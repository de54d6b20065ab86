"""Metric, segment and record-condition triggers read the workspace and fire once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from smbgrowth import init_workspace, open_workspace
from smbgrowth.automation.definitions import (
    Email,
    EmailStep,
    EventTrigger,
    Workflow,
    parse_workflow,
)
from smbgrowth.automation.store import AutomationStore
from smbgrowth.automation.triggers import due_condition_runs
from smbgrowth.data.sample import generate_sample_business


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auto") / "ws"
    ws = init_workspace(path)
    try:
        generate_sample_business(ws, customers=1500, years=2.0, seed=3)
    finally:
        ws.close()
    return path


def _flow(trigger: str) -> Workflow:
    return parse_workflow(
        f"name: t\nkind: transactional\ntrigger: {trigger}\n"
        "steps:\n  - send_email: {template: welcome_1, subject: Hi}\n"
    )


def _runs(path: Path, wf: Workflow, now: datetime) -> list[str]:
    with AutomationStore(path) as store:
        return [d.run_id for _, d in due_condition_runs(path, store, [(wf, wf.version)], now)]


def test_overdue_invoices_match_the_data(sample: Path) -> None:
    wf = _flow("{condition: {record: invoice, overdue_days: 10}}")
    ws = open_workspace(sample)
    try:
        invoices = ws.read("invoices")
    finally:
        ws.close()
    now = pd.Timestamp(invoices.due_at.max()).tz_convert("UTC").to_pydatetime()
    due = invoices[invoices.paid_at.isna() & (invoices.due_at <= now - pd.Timedelta(days=10))]
    assert len(due) > 0
    expected = sorted(f"t:invoice:{i}" for i in due.invoice_id)
    assert sorted(_runs(sample, wf, now)) == expected


def test_customers_at_churn_risk_match_the_clv_model(sample: Path) -> None:
    from smbgrowth.models.clv.workflow import predict_customers

    wf = _flow("{condition: {record: customer, p_alive_below: 0.3, min_value: 20}}")
    ws = open_workspace(sample)
    try:
        table = predict_customers(ws)
    finally:
        ws.close()
    risky = table[(table.p_alive < 0.3) & (table.clv >= 20)]
    assert len(risky) > 0
    runs = _runs(sample, wf, datetime.now(UTC))
    assert sorted(runs) == sorted(f"t:customer:{c}" for c in risky.index)


def test_skus_below_reorder_point_match_the_plan(sample: Path) -> None:
    from smbgrowth.models.inventory import reorder_plan

    wf = _flow("{condition: {record: product, below_reorder_point: true}}")
    ws = open_workspace(sample)
    try:
        now = datetime.now(UTC)
        plan = reorder_plan(ws, as_of=now.date())
    finally:
        ws.close()
    now_skus = sorted(s.to_dict()["sku"] for s in plan.reorder if s.to_dict()["order_now"])
    runs = _runs(sample, wf, now)
    assert sorted(r.split(":")[2] for r in runs) == now_skus


def test_a_metric_crossing_fires_once(sample: Path, tmp_path: Path) -> None:
    wf = _flow("{metric: {metric: orders, grain: month, above: 1}}")
    first = _runs(sample, wf, datetime.now(UTC))
    assert len(first) == 1 and first[0].startswith("t:metric:")
    # Still above the line: no new run until it drops below and crosses again.
    assert _runs(sample, wf, datetime.now(UTC)) == []
    high = _flow("{metric: {metric: orders, grain: month, above: 1000000000}}")
    assert _runs(sample, high, datetime.now(UTC)) == []


def test_segment_on_is_read_as_when_despite_yaml() -> None:
    wf = _flow("{segment: {segment: vip, on: exit}}")
    assert wf.trigger.segment.when == "exit"  # type: ignore[union-attr]


def test_segment_entries_fire_once_per_entry(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    ws = init_workspace(path)
    ws.close()
    wf = _flow("{segment: {segment: champions, on: enter}}")

    def members(ids: list[str]) -> None:
        ws = open_workspace(path)
        try:
            ws.duck.execute("DELETE FROM customer_segments")
            for cid in ids:
                ws.duck.execute(
                    "INSERT INTO customer_segments (customer_id, method, segment, since, source,"
                    " imported_at) VALUES (?, 'rfm', 'champions', now(), 'test', now())",
                    [cid],
                )
        finally:
            ws.close()

    now = datetime.now(UTC)
    members(["A", "B"])
    assert _runs(path, wf, now) == []  # the first look only records who is in
    members(["A", "B", "C"])
    assert _runs(path, wf, now) == ["t:segment:C:enter:1"]
    assert _runs(path, wf, now) == []
    members(["A", "B"])
    assert _runs(path, wf, now) == []
    members(["A", "B", "C"])
    assert _runs(path, wf, now) == ["t:segment:C:enter:2"]  # a new entry, a new run


def test_workflows_can_be_built_in_python() -> None:
    wf = Workflow(
        name="py-built",
        trigger=EventTrigger(event="order.created"),
        steps=[EmailStep(send_email=Email(template="welcome_1", subject="Thanks"))],
    )
    same = parse_workflow(
        "name: py-built\ntrigger: {event: order.created}\n"
        "steps:\n  - send_email: {template: welcome_1, subject: Thanks}\n"
    )
    assert wf.version == same.version
    assert wf.to_json() == same.to_json()


def test_published_schema_file_is_current() -> None:
    import json

    from smbgrowth.automation.definitions import workflow_json_schema

    path = Path(__file__).resolve().parents[2] / "docs" / "workflow.schema.json"
    assert json.loads(path.read_text(encoding="utf-8")) == workflow_json_schema()
