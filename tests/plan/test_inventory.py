"""The process inventory: inferred volumes, recorded numbers winning, saving, the survey."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data.importer import import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.sample import generate_sample_business
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError, DataError
from smbgrowth.plan.inventory import (
    TEMPLATES,
    Process,
    infer_processes,
    process_inventory,
    recognised_kinds,
    save_processes,
    template_process,
)
from smbgrowth.plan.survey import Ask, Say, parse_error_rate, run_survey

# -- helpers ----------------------------------------------------------------------------


def _import(ws: Workspace, tmp_path: Path, table: str, frame: pd.DataFrame) -> None:
    path = tmp_path / f"{table}.csv"
    frame.to_csv(path, index=False)
    import_files(ws, "csv", [path], ImportOptions(table=table))


def _days(start: date, steps: list[int]) -> list[str]:
    return [(start + timedelta(days=d)).isoformat() for d in steps]


@pytest.fixture
def invoices_and_tickets(workspace: Workspace, tmp_path: Path) -> tuple[Workspace, pd.DataFrame]:
    """Invoices over ~200 days and tickets ending later, so the window ends at a ticket."""
    start = date(2025, 3, 1)
    # Uneven spacing, two on one day, and days 115 / 116: just outside / inside the
    # window that ends at day 205 (the last ticket).
    steps = [0, 5, 17, 40, 77, 90, 91, 110, 115, 116, 116, 150, 160, 161, 199, 200]
    invoices = pd.DataFrame(
        {
            "invoice_id": [f"INV{i:03d}" for i in range(len(steps))],
            "issued_at": _days(start, steps),
            "amount": [100 + i for i in range(len(steps))],
        }
    )
    ticket_steps = [30, 120, 130, 131, 170, 185, 201, 202, 205]
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(len(ticket_steps))],
            "opened_at": _days(start, ticket_steps),
        }
    )
    _import(workspace, tmp_path, "invoices", invoices)
    _import(workspace, tmp_path, "tickets", tickets)
    both = pd.concat(
        [
            pd.DataFrame({"kind": "invoicing", "day": pd.to_datetime(invoices["issued_at"])}),
            pd.DataFrame({"kind": "support_replies", "day": pd.to_datetime(tickets["opened_at"])}),
        ]
    )
    return workspace, both


def _scripted(answers: list[str]) -> tuple[list[tuple[str, str]], list[str], Ask, Say]:
    """An ask that replays answers (then presses Enter), and a say that records lines."""
    asked: list[tuple[str, str]] = []
    said: list[str] = []
    queue = list(answers)

    def ask(question: str, default: str) -> str:
        asked.append((question, default))
        return queue.pop(0) if queue else ""

    def say(text: str) -> None:
        said.append(text)

    return asked, said, ask, say


def _numbers(p: Process) -> tuple[object, ...]:
    return (
        p.process_id,
        p.name,
        p.department,
        p.runs_per_month,
        p.minutes_per_run,
        p.error_rate,
        p.error_cost,
        p.hourly_cost,
        p.touches_customers,
    )


# -- inference --------------------------------------------------------------------------


def test_inferred_volumes_equal_an_independent_count_over_the_last_90_days(
    invoices_and_tickets: tuple[Workspace, pd.DataFrame],
) -> None:
    ws, both = invoices_and_tickets
    last = both["day"].max()
    window = both[(both["day"] > last - pd.Timedelta(days=90)) & (both["day"] <= last)]
    expected = (window.groupby("kind").size() / 3.0).to_dict()

    inferred = {next(iter(recognised_kinds(p))): p for p in infer_processes(ws)}

    assert set(inferred) == {"invoicing", "support_replies"}
    for kind, runs in expected.items():
        p = inferred[kind]
        assert p.runs_per_month == pytest.approx(runs)
        assert p.origin == "inferred"
        assert last.date().isoformat() in p.basis
        t = TEMPLATES[kind]
        assert (p.minutes_per_run, p.error_rate, p.error_cost, p.hourly_cost) == (
            t.minutes_per_run,
            t.error_rate,
            t.error_cost,
            t.hourly_cost,
        )
    # The window ends at the last ticket, not at the last invoice or today.
    assert (last.date() - date(2025, 3, 1)).days == 205
    assert expected == {"invoicing": 7 / 3, "support_replies": 8 / 3}


def test_an_empty_workspace_infers_nothing(workspace: Workspace) -> None:
    assert infer_processes(workspace) == []
    assert process_inventory(workspace) == []


def test_a_recorded_invoicing_process_wins_and_kinds_without_data_are_not_inferred(
    invoices_and_tickets: tuple[Workspace, pd.DataFrame], tmp_path: Path
) -> None:
    ws, _ = invoices_and_tickets
    recorded = pd.DataFrame(
        {
            "process_id": ["P1"],
            "name": ["Billing of wholesale accounts"],
            "department": ["finance"],
            "runs_per_month": [40.0],
            "minutes_per_run": [20.0],
            "error_rate": [0.05],
            "error_cost": [15.0],
            "hourly_cost": [50.0],
            "touches_customers": ["yes"],
        }
    )
    _import(ws, tmp_path, "processes", recorded)

    inventory = process_inventory(ws)

    assert [p.process_id for p in inventory] == ["P1", "support-replies"]
    p1 = inventory[0]
    assert (p1.origin, p1.runs_per_month, p1.minutes_per_run, p1.hourly_cost) == (
        "imported",
        40.0,
        20.0,
        50.0,
    )
    assert p1.hours_per_month == pytest.approx(40 * 20 / 60)
    assert p1.labour_cost_per_month == pytest.approx(40 * 20 / 60 * 50)
    assert p1.error_cost_per_month == pytest.approx(40 * 0.05 * 15)
    assert p1.touches_customers is True
    # Sorted by labour cost, highest first.
    costs = [p.labour_cost_per_month for p in inventory]
    assert costs == sorted(costs, reverse=True)
    assert p1.to_dict()["labour_cost_per_month"] == pytest.approx(p1.labour_cost_per_month)


def test_every_template_is_recognised_by_its_own_name() -> None:
    for kind in TEMPLATES:
        assert kind in recognised_kinds(template_process(kind))
        p = template_process(kind)
        assert kind in recognised_kinds(Process(**{**p.__dict__, "process_id": "X"}))


# -- saving -----------------------------------------------------------------------------


def _two_processes() -> list[Process]:
    invoicing = template_process("invoicing", runs_per_month=137.0 / 3.0, basis="data")
    custom = Process(
        process_id="S01",
        name="Weekly stock count",
        department="operations",
        runs_per_month=4.0,
        minutes_per_run=90.0,
        error_rate=0.025,
        error_cost=12.5,
        hourly_cost=27.25,
        touches_customers=False,
        origin="survey",
        basis="added in the process survey",
    )
    return [invoicing, custom]


def test_saved_processes_read_back_equal_and_saving_twice_changes_nothing(
    workspace: Workspace,
) -> None:
    processes = _two_processes()

    first = save_processes(workspace, processes)
    back = {p.process_id: p for p in process_inventory(workspace)}

    assert first.totals()["processes"].inserted == 2
    assert {k: _numbers(p) for k, p in back.items()} == {
        p.process_id: _numbers(p) for p in processes
    }
    assert {p.origin for p in back.values()} == {"survey"}
    before = workspace.read("processes")

    second = save_processes(workspace, processes)

    change = second.totals()["processes"]
    assert (change.inserted, change.updated, change.unchanged) == (0, 0, 2)
    pd.testing.assert_frame_equal(workspace.read("processes"), before)
    assert len(workspace.imports()) == 2
    assert not [p for p in workspace.path.iterdir() if p.name.startswith(".processes-")]


def test_a_negative_minutes_value_is_one_line_and_writes_nothing(workspace: Workspace) -> None:
    good, custom = _two_processes()
    bad = Process(**{**custom.__dict__, "minutes_per_run": -5.0})

    with pytest.raises(DataError) as info:
        save_processes(workspace, [good, bad])

    message = str(info.value)
    assert "\n" not in message
    assert "minutes per run" in message and "S01" in message
    assert workspace.row_count("processes") == 0
    assert len(workspace.imports()) == 0


# -- the survey -------------------------------------------------------------------------


def test_survey_with_all_defaults_keeps_the_data_and_template_values(
    invoices_and_tickets: tuple[Workspace, pd.DataFrame],
) -> None:
    ws, _ = invoices_and_tickets
    asked, _, ask, say = _scripted([])

    result = run_survey(ws, ask, say)

    expected = process_inventory(ws)
    assert sorted(map(_numbers, result)) == sorted(map(_numbers, expected))
    assert {p.origin for p in result} == {"survey"}
    # Template kinds the data does not show were offered and declined by default.
    offered = {q for q, _ in asked if q.startswith("keep ")}
    assert len(offered) == len(TEMPLATES)
    # The result saves and reads back as the same inventory.
    save_processes(ws, result)
    assert sorted(map(_numbers, process_inventory(ws))) == sorted(map(_numbers, expected))


def test_survey_on_an_empty_workspace_starts_from_the_templates(workspace: Workspace) -> None:
    _, _, ask, say = _scripted([])

    result = run_survey(workspace, ask, say)

    assert sorted(p.process_id for p in result) == sorted(k.replace("_", "-") for k in TEMPLATES)


def test_survey_re_asks_an_invalid_answer_and_adds_a_process(
    invoices_and_tickets: tuple[Workspace, pd.DataFrame],
) -> None:
    ws, _ = invoices_and_tickets
    inventory = process_inventory(ws)
    first = inventory[0]
    answers = [
        "",  # keep the first process
        "lots",  # runs per month: invalid
        "-3",  # invalid again
        "50",  # valid
        "",  # minutes
        "3%",  # error rate
        "$1,200",  # cost of an error
        "",  # hourly cost
        "n",  # touches customers
        "n",  # drop the second process
    ]
    answers += ["n"] * (len(TEMPLATES) - len(inventory))  # decline the templates
    answers += [
        "y",  # add another
        "Weekly stock count",
        "",  # department (template: operations)
        "4",
        "90",
        "0.02",
        "10",
        "28",
        "",
        "n",  # no more
    ]
    _, said, ask, say = _scripted(answers)

    result = run_survey(ws, ask, say)

    reasons = [line for line in said if "runs per month must be a number ≥ 0" in line]
    assert len(reasons) == 2
    by_id = {p.process_id: p for p in result}
    changed = by_id[first.process_id]
    assert (changed.runs_per_month, changed.error_rate, changed.error_cost) == (50.0, 0.03, 1200)
    assert changed.touches_customers is False
    assert changed.basis == "entered in the process survey"
    assert inventory[1].process_id not in by_id
    added = by_id["S01"]
    assert (added.name, added.department, added.runs_per_month, added.hourly_cost) == (
        "Weekly stock count",
        "operations",
        4.0,
        28.0,
    )
    assert added.minutes_per_run == 90.0 and added.error_rate == 0.02


def test_three_invalid_answers_stop_the_survey(
    invoices_and_tickets: tuple[Workspace, pd.DataFrame],
) -> None:
    ws, _ = invoices_and_tickets
    _, said, ask, say = _scripted(["y", "-1", "x", "-2"])

    with pytest.raises(ConfigError, match="runs per month must be a number ≥ 0"):
        run_survey(ws, ask, say)
    assert sum("try again" in line for line in said) == 2


@pytest.mark.parametrize(
    ("text", "share"), [("3%", 0.03), ("0.03", 0.03), ("0", 0.0), ("100%", 1.0)]
)
def test_error_rate_accepts_a_share_or_a_percentage(text: str, share: float) -> None:
    assert parse_error_rate(text) == pytest.approx(share)


@pytest.mark.parametrize("text", ["3", "-1%", "abc", "nan"])
def test_error_rate_refuses_ambiguous_or_impossible_values(text: str) -> None:
    with pytest.raises(ValueError, match="error rate"):
        parse_error_rate(text)


# -- the sample business ----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = smbgrowth.init_workspace(tmp_path_factory.mktemp("demo") / "ws")
    generate_sample_business(ws, customers=800, years=1.0, seed=3)
    yield ws
    ws.close()


def test_the_sample_business_inventory_has_its_eight_recorded_processes(demo: Workspace) -> None:
    table = demo.read("processes")
    inventory = process_inventory(demo)
    recorded = [p for p in inventory if p.origin == "imported"]

    assert len(recorded) == 8
    expected_hours = dict(
        zip(
            table["process_id"],
            table["runs_per_month"] * table["minutes_per_run"] / 60.0,
            strict=True,
        )
    )
    assert {p.process_id: p.hours_per_month for p in recorded} == pytest.approx(expected_hours)
    # Every kind the sample records is taken from the table, never inferred on top.
    inferred = {p.process_id for p in inventory if p.origin == "inferred"}
    assert inferred <= {"lead-follow-up"}
