"""`smbgrowth experiment …`: the documented JSON, the readout, plans and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from smbgrowth.cli.main import app
from smbgrowth.models.experiments import analyze_experiment

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def test_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    n = 3000
    variant = rng.choice(["control", "new"], n)
    bought = rng.random(n) < np.where(variant == "new", 0.13, 0.10)
    frame = pd.DataFrame(
        {
            "visitor": np.arange(n),
            "page": variant,
            "bought": bought.astype(int),
            "revenue": np.where(bought, rng.lognormal(3.0, 0.8, n), 0.0).round(2),
            "orders": bought.astype(int),
            "pre": rng.lognormal(2.0, 1.0, n).round(2),
        }
    )
    path = tmp_path / "checkout.csv"
    frame.to_csv(path, index=False)
    return path


def test_analyze_prints_the_documented_json(test_file: Path) -> None:
    code, out, err = _invoke(
        "experiment", "analyze", str(test_file), "--unit-col", "visitor", "--variant-col", "page",
        "--metric", "bought", "--metric", "revenue/orders", "--covariate", "pre", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert {"metrics", "srm_p_value", "readout"} <= set(data)
    first = data["metrics"][0]
    assert first["metric"] == "bought"
    assert [v["variant"] for v in first["variants"]] == ["control", "new"]
    assert {"variant", "units", "mean"} <= set(first["variants"][0])
    comp = first["comparisons"][0]
    assert {"variant", "control", "abs_lift", "rel_lift", "ci", "p_value", "chance_to_win"} <= set(
        comp
    )
    lib = analyze_experiment(
        test_file, unit="visitor", variant="page", metrics=["bought", "revenue/orders"],
        covariate="pre",
    )  # fmt: skip
    ref = lib.comparison("bought", "new")
    assert comp["abs_lift"] == pytest.approx(ref.abs_lift)
    assert comp["ci"] == pytest.approx(list(ref.ci))
    assert comp["p_value"] == pytest.approx(ref.p_value)
    assert data["readout"] == lib.readout
    assert data["metrics"][1]["kind"] == "ratio"


def test_analyze_prints_a_table_and_the_readout(test_file: Path) -> None:
    code, out, _ = _invoke(
        "experiment", "analyze", str(test_file), "--unit-col", "visitor", "--variant-col", "page",
        "--metric", "bought", "--units-called", "visitors", "--method", "bayesian",
    )  # fmt: skip
    assert code == 0
    assert "bought (binomial, goal; lift in points; bayesian)" in out
    assert "of visitors" in out and "chance it is better" in out


def test_counts_reproduce_the_hand_checked_case() -> None:
    code, out, _ = _invoke(
        "experiment", "analyze", "--counts", "A=49/100", "--counts", "B=51/100",
        "--method", "bayesian", "--json",
    )  # fmt: skip
    assert code == 0
    comp = json.loads(out)["metrics"][0]["comparisons"][0]
    assert comp["chance_to_win"] == pytest.approx(0.60918, abs=5e-6)
    assert comp["rel_ci"] == pytest.approx([-0.2478, 0.3294], abs=5e-5)


def test_sample_ratio_mismatch_is_loud() -> None:
    code, out, err = _invoke(
        "experiment", "analyze", "--counts", "old=3100/104000", "--counts", "new=3400/100000",
    )  # fmt: skip
    assert code == 0
    assert "sample ratio mismatch" in err
    assert "Caution: old got 51.0% of units instead of 50%" in out


def test_plan_sizes_a_test_and_gives_its_duration() -> None:
    code, out, _ = _invoke(
        "experiment", "plan", "--baseline", "0.1", "--mde", "0.1", "--daily-units", "1000",
        "--json",
    )  # fmt: skip
    assert code == 0
    plan = json.loads(out)
    assert plan["units_per_variant"] == 14751
    assert plan["days"] == 30 and plan["weeks"] == 5
    code, out, _ = _invoke("experiment", "plan", "--baseline", "0.1", "--mde", "0.1")
    assert "14,751 units per variant" in out
    code, out, _ = _invoke("experiment", "plan", "--baseline", "0.1", "--units", "14751", "--json")
    assert json.loads(out)["mde_relative"] == pytest.approx(0.1, rel=1e-3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metric", "bought"], "give exactly one of: a FILE, --experiment ID or --counts"),
        (["--counts", "A=4/x", "--counts", "B=5/10"], "must look like VARIANT=CONVERSIONS/UNITS"),
        (["FILE", "--unit-col", "visitor", "--variant-col", "page", "--metric", "spend"],
         "checkout.csv: no column 'spend'; the columns are: visitor, page, bought"),
        (["FILE", "--unit-col", "visitor", "--variant-col", "page", "--metric", "bought",
          "--method", "magic"], "unknown method 'magic'"),
    ],
)  # fmt: skip
def test_errors_are_one_line(test_file: Path, args: list[str], message: str) -> None:
    args = [str(test_file) if a == "FILE" else a for a in args]
    code, _, err = _invoke("experiment", "analyze", *args)
    assert code == 1
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
