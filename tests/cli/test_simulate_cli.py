"""`smbgrowth simulate`: JSON equals the library's result, scenario files, export, errors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import smbgrowth
from smbgrowth.cli.main import app
from smbgrowth.data.sample import generate_sample_business
from smbgrowth.dynamics import (
    builtin_scenarios,
    business_model,
    calibrate_workspace,
    load_scenario,
    simulate,
    simulate_business,
)

runner = CliRunner()

KEYS = {
    "runs",
    "months",
    "seed",
    "deterministic",
    "currency",
    "scenarios",
    "sensitivity",
    "calibration",
    "clipped",
}
SCENARIO_KEYS = {
    "name",
    "description",
    "revenue",
    "revenue_last_month",
    "customers_end",
    "cash_end",
    "p_cash_out",
    "runway_months",
    "vs_baseline",
    "binding_constraints",
    "stage",
    "fan",
}


@pytest.fixture(scope="module")
def ws_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "ws"
    ws = smbgrowth.init_workspace(path)
    try:
        generate_sample_business(ws, customers=3000, years=3.0, seed=9)
    finally:
        ws.close()
    return path


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_equals_the_library_result(ws_path: Path) -> None:
    code, out, err = _run(
        "simulate",
        "-w",
        str(ws_path),
        "--scenario",
        "support_automation",
        "--runs",
        "200",
        "--months",
        "12",
        "--seed",
        "3",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == KEYS
    assert data["runs"] == 200 and data["months"] == 12 and data["currency"] == "USD"
    names = [s["name"] for s in data["scenarios"]]
    assert names == ["baseline", "Support automation"]
    for s in data["scenarios"]:
        assert set(s) == SCENARIO_KEYS
        assert set(s["revenue"]) == {"p10", "p50", "p90"}
        assert len(s["fan"]) == 12
        assert all(b["sentence"].startswith("from month") for b in s["binding_constraints"])
    ws = smbgrowth.open_workspace(ws_path)
    try:
        calibration = calibrate_workspace(ws)
    finally:
        ws.close()
    scenario = load_scenario(builtin_scenarios()["support_automation"])
    library = simulate_business(calibration, [scenario], months=12, runs=200, seed=3)
    expected = library.to_dict()
    for mine, theirs in zip(data["scenarios"], expected["scenarios"], strict=True):
        assert mine["revenue"] == pytest.approx(theirs["revenue"])
        assert mine["cash_end"] == pytest.approx(theirs["cash_end"])
        assert mine["p_cash_out"] == pytest.approx(theirs["p_cash_out"])
    assert {e for e in data["calibration"]["assumed"]} >= {"churn_quality_sensitivity"}


def test_table_output_names_the_binding_constraint(ws_path: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("name: Bigger ads\nmarketing: {change: 50%}\n", encoding="utf-8")
    fan = tmp_path / "out" / "fan.csv"
    code, out, err = _run(
        "simulate",
        "-w",
        str(ws_path),
        "-s",
        str(plan),
        "--deterministic",
        "--months",
        "18",
        "--trajectories",
        str(fan),
    )
    assert code == 0, err
    assert "Bigger ads" in out and "baseline" in out
    assert "growth is limited by" in out
    text = fan.read_text(encoding="utf-8").splitlines()
    assert text[0].startswith("scenario,month,month_index,revenue_p10")
    assert len(text) == 1 + 2 * 18


def test_bad_scenarios_are_one_line_errors(ws_path: Path, tmp_path: Path) -> None:
    code, _, err = _run("simulate", "-w", str(ws_path), "-s", "no_such_plan")
    assert code == 1
    assert "support_automation" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("hire: {people: -1}\n", encoding="utf-8")
    code, _, err = _run("simulate", "-w", str(ws_path), "-s", str(bad))
    assert code == 1 and "hire.people" in err


def test_calibrate_lists_estimates_and_fit(ws_path: Path) -> None:
    code, out, err = _run("simulate", "calibrate", "-w", str(ws_path), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"estimates", "fit", "notes", "history_months"}
    sources = {e["source"] for e in data["estimates"]}
    assert sources == {"data", "assumed"}
    assert {f["series"] for f in data["fit"]} >= {"revenue", "new customers", "orders"}
    code, out, _ = _run("simulate", "calibrate", "-w", str(ws_path))
    assert code == 0 and "MAPE" in out


def test_export_writes_xmile_that_pysd_runs(ws_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "business.xmile"
    code, out, err = _run(
        "simulate", "export", str(path), "-w", str(ws_path), "--months", "12", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["path"] == str(path) and data["format"] == "xmile"
    assert path.read_text(encoding="utf-8").startswith("<?xml")
    pysd = pytest.importorskip("pysd")
    ws = smbgrowth.open_workspace(ws_path)
    try:
        model = business_model(calibrate_workspace(ws).params, months=12)
    finally:
        ws.close()
    ours = simulate(model, t_end=12, dt=0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pysd.read_xmile(str(path)).run(
            return_columns=["cash", "subscribers"], return_timestamps=ours.time
        )
    for name in ("cash", "subscribers"):
        np.testing.assert_allclose(theirs[name].to_numpy(float), ours[name][:, 0], rtol=1e-6)
    code, _, err = _run("simulate", "export", str(path), "-w", str(ws_path), "--format", "mdl")
    assert code == 1 and "xmile" in err
