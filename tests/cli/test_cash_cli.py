"""`smbgrowth cashflow`: JSON equals the library's result, readable table, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import smbgrowth
import smbgrowth.cli.main
from smbgrowth.cli import cash
from smbgrowth.data.sample import generate_sample_business
from smbgrowth.models.cashflow import opening_balance, project_cash

# The command runs on its own app; smbgrowth.cli.main is imported above as in real use
# (tests/test_public_api.py accepts typer in sys.modules only next to the real app).
app = typer.Typer()


@app.callback()
def _root() -> None:
    """A root group, so that ``cashflow`` is a subcommand as in the real app."""


cash.register(app)
runner = CliRunner()

KEYS = {
    "as_of",
    "grain",
    "horizon_end",
    "currency",
    "opening_balance",
    "paths",
    "seed",
    "periods",
    "p_negative_any",
    "first_negative",
    "runway",
    "lowest_period",
    "drivers",
    "assumptions",
    "scenario",
    "notes",
}


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("cash") / "ws"
    ws = smbgrowth.init_workspace(path)
    generate_sample_business(ws, customers=3000, years=2, seed=3)
    ws.close()
    yield path


def test_json_is_the_library_result(sample: Path) -> None:
    code, out, err = _invoke(
        "cashflow", "--workspace", str(sample), "--months", "3", "--paths", "200", "--seed", "4",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == KEYS
    with smbgrowth.open_workspace(sample) as ws:
        stored = opening_balance(ws)
        expected = project_cash(ws, stored.amount, as_of=stored.as_of, months=3, paths=200, seed=4)
    assert data == json.loads(json.dumps(expected.to_dict()))
    assert data["opening_balance"] == stored.amount
    assert [p["period"] for p in data["periods"]] == ["2026-11-01", "2026-12-01", "2027-01-01"]
    assert set(data["periods"][0]) >= {"p5", "p10", "p50", "p90", "p95", "p_negative", "flows"}


def test_human_output_has_the_table_and_the_sentences(sample: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("hires:\n  - {month: 1, count: 2, monthly_cost: 5000}\n", encoding="utf-8")
    code, out, err = _invoke(
        "cashflow", "--workspace", str(sample), "--weeks", "6", "--paths", "200",
        "--balance", "20000", "--scenario", str(plan),
    )  # fmt: skip
    assert code == 0, err
    for text in ("median", "P(negative)", "2026-11-01", "Runway:", "Chance of running out"):
        assert text in out
    assert "Biggest drains" in out


def test_without_a_stored_balance_the_error_says_pass_balance(tmp_path: Path) -> None:
    smbgrowth.init_workspace(tmp_path / "ws").close()
    code, _, err = _invoke("cashflow", "--workspace", str(tmp_path / "ws"))
    assert code == 1
    assert "--balance" in err
    assert len(err.strip().splitlines()) == 1


def test_a_bad_scenario_is_one_line_naming_the_file(sample: Path, tmp_path: Path) -> None:
    plan = tmp_path / "bad.yaml"
    plan.write_text("hires:\n  - {month: 0, monthly_cost: 5000}\n", encoding="utf-8")
    code, out, _ = _invoke(
        "cashflow", "--workspace", str(sample), "--scenario", str(plan), "--json"
    )
    assert code == 1
    message = json.loads(out)["error"]
    assert str(plan) in message and "hires[0].month" in message
    assert "\n" not in message


def test_weeks_and_months_together_are_refused(sample: Path) -> None:
    code, _, err = _invoke("cashflow", "--workspace", str(sample), "--weeks", "4", "--months", "3")
    assert code == 1
    assert "not both" in err


def test_as_of_other_than_the_stored_balance_day_needs_a_balance(sample: Path) -> None:
    code, _, err = _invoke("cashflow", "--workspace", str(sample), "--as-of", "2026-09-30")
    assert code == 1
    assert "--balance" in err and "2026-10-31" in err
