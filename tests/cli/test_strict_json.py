"""Every ``--json`` output is strict JSON: never NaN or Infinity, on a full and a thin workspace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from smbgrowth.cli.main import app
from smbgrowth.cli.output import finite
from smbgrowth.data.sample import generate_sample_business
from smbgrowth.data.workspace import init_workspace

runner = CliRunner()
SHOPIFY_ORDERS = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "datasets"
    / "real_exports"
    / "shopify_enavant_orders_export_1.csv"
)

#: Commands run on each workspace, with the arguments they need besides -w and --json.
RUN: dict[str, list[str]] = {
    "status": [],
    "kpis": ["-m", "revenue_net", "-g", "month"],
    "scorecard": [],
    "runway": ["--balance", "25000"],
    "ar-ageing": [],
    "cohorts": [],
    "stage": [],
    "insights": [],
    "segments": ["--no-save"],
    "churn-risk": ["--top", "5"],
    "forecast": ["--horizon", "3"],
    "cashflow": ["--paths", "200", "--balance", "10000"],
    "clv fit": [],
    "clv predict": ["--top", "5"],
    "clv validate": [],
    "experiment list": [],
    "experiment analyze": [],
    "experiment plan": ["--baseline", "0.03"],
    "inventory reorder": [],
    "simulate calibrate": [],
    "plan processes": [],
    "plan catalogue": [],
    "plan realised": [],
    "automate list": [],
    "automate approvals": [],
    "automate history": [],
    "automate schema": [],
    "users list": [],
}
#: More fits whose numbers come from the customer-value models.
EXTRA: list[list[str]] = [
    ["clv", "fit", "--model", "pareto"],
    ["clv", "fit", "--model", "gammagamma"],
    ["clv", "fit", "--model", "bgbb"],
    ["clv", "predict", "--model", "bgbb", "--horizon", "26", "--top", "5"],
    ["clv", "predict", "--model", "sbg"],
]
#: Commands with --json that this test does not run, and why.
NOT_RUN = {
    "init": "run by the fixtures",
    "import": "run by the orders-only fixture",
    "demo": "generates a large sample; tests/cli/test_cli.py runs it",
    "report": "writes an HTML report; slow, covered by the report tests",
    "serve": "starts a web server",
    "automate worker": "runs until stopped",
    "plan roadmap": "Monte Carlo over every opportunity; slow, covered by the plan tests",
    "plan survey": "asks questions",
    "simulate export": "writes a model file",
    "automate validate": "needs a workflow file",
    "automate dry-run": "needs a workflow file",
    "automate enable": "changes the workspace",
    "automate disable": "changes the workspace",
    "automate approve": "needs a waiting run",
    "automate unsubscribe": "changes the workspace",
    "automate consent": "changes the workspace",
    "users add": "changes the user store",
    "users remove": "changes the user store",
}


def strict_loads(text: str) -> Any:
    """``json.loads`` that refuses NaN, Infinity and -Infinity."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def json_commands() -> set[str]:
    """Every command (``"clv fit"``) that has a --json option."""
    root = get_command(app)
    ctx = click.Context(root)
    found: set[str] = set()

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name])
        elif any("--json" in p.opts for p in command.params):
            found.add(" ".join(path))

    walk(root, [])
    return found


def test_every_json_command_is_run_here_or_excluded_with_a_reason() -> None:
    assert json_commands() == set(RUN) | set(NOT_RUN)


def test_finite_turns_every_kind_of_missing_number_into_null() -> None:
    data = {
        "nan": float("nan"),
        "inf": np.float64("inf"),
        "f32": np.float32("-inf"),
        "nested": [pd.NA, pd.NaT, (np.int64(3), np.bool_(True)), np.array([1.5, np.nan])],
        "kept": [1, "text", None, 2.5],
    }
    text = json.dumps(finite(data), allow_nan=False, default=str)
    assert strict_loads(text) == {
        "nan": None,
        "inf": None,
        "f32": None,
        "nested": [None, None, [3, True], [1.5, None]],
        "kept": [1, "text", None, 2.5],
    }


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def sample_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample business (300 customers, two years)."""
    path = tmp_path_factory.mktemp("strict-sample") / "ws"
    ws = init_workspace(path)
    try:
        generate_sample_business(ws, customers=300, years=2.0, seed=3)
    finally:
        ws.close()
    return path


@pytest.fixture(scope="module")
def orders_only_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding nothing but a real Shopify orders export."""
    if not SHOPIFY_ORDERS.exists():
        pytest.skip(f"the real Shopify export is not at {SHOPIFY_ORDERS} (shared folder absent)")
    path = tmp_path_factory.mktemp("strict-orders") / "ws"
    code, out, err = _invoke("init", "-w", str(path), "--json")
    assert code == 0, err
    strict_loads(out)
    code, out, err = _invoke("import", "shopify", str(SHOPIFY_ORDERS), "-w", str(path), "--json")
    assert code == 0, err
    strict_loads(out)
    return path


def _check(path: Path, args: list[str]) -> None:
    code, out, err = _invoke(*args, "-w", str(path), "--json")
    # A command may refuse what the workspace cannot answer, but only in one JSON line.
    assert code in (0, 1), f"{args}: exit {code}\n{err}"
    assert out.strip(), f"{args} printed nothing on stdout\n{err}"
    data = strict_loads(out)
    assert isinstance(data, dict | list)
    if code == 1:
        assert set(data) == {"error"}, f"{args}: {data}"


COMMANDS = [name.split() + args for name, args in RUN.items()] + EXTRA
#: Run on the orders-only workspace only: on the sample business they forecast every
#: SKU, which takes seconds and exercises no other JSON path.
ORDERS_ONLY = {"inventory reorder"}


@pytest.mark.parametrize(
    "args", [c for c in COMMANDS if " ".join(c[:2]) not in ORDERS_ONLY], ids=" ".join
)
def test_json_output_is_strict_on_the_sample_business(sample_path: Path, args: list[str]) -> None:
    _check(sample_path, args)


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_json_output_is_strict_on_an_orders_only_workspace(
    orders_only_path: Path, args: list[str]
) -> None:
    _check(orders_only_path, args)


@pytest.mark.parametrize(
    "args",
    [
        ["clv", "fit"],
        ["clv", "fit", "--model", "sbg"],
        ["clv", "predict", "--top", "3"],
        ["clv", "predict", "--model", "bgbb", "--top", "3"],
        ["clv", "validate"],
        ["churn-risk"],
    ],
    ids=" ".join,
)
def test_customer_value_json_says_whether_the_fit_is_identified(
    sample_path: Path, args: list[str]
) -> None:
    code, out, err = _invoke(*args, "-w", str(sample_path), "--json")
    assert code == 0, err
    data = strict_loads(out)
    assert isinstance(data["identified"], bool)
    # 300 customers over two years do not pin the BG/NBD's dropout down: it must say why.
    assert data["identified"] is (data["identification_issue"] is None)
