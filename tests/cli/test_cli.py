"""The command line: thin, JSON-stable, one-line errors, documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smbgrowth.cli.main import app
from smbgrowth.data.migrations import DUCKDB_MIGRATIONS

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

ORDERS_CSV = """customer_id,date,amount
c1,2024-01-05,10.00
c1,2024-01-05,10.00
c2,2024-02-01,"1,250.50"
"""


EXPERIMENT_KEYS = {
    "method",
    "alpha",
    "correction",
    "control",
    "variants",
    "units",
    "expected_split",
    "srm_p_value",
    "srm_detected",
    "metrics",
    "excluded_units",
    "notes",
    "recommendation",
    "readout",
    "unit_noun",
    "goal",
    "winner",
    "caution",
}


#: Whether a customer-value fit is pinned down by the data, and if not why.
IDENTIFICATION = {"identified", "identification_issue"}


def _invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    code, out, _ = _invoke("init", "--workspace", str(path), "--currency", "eur", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["reporting_currency"] == "EUR"
    assert info["schema_version"] == DUCKDB_MIGRATIONS[-1].version
    return path


def test_init_honours_the_environment_variable(tmp_path: Path) -> None:
    path = tmp_path / "from-env"
    code, out, _ = _invoke("init", "--json", env={"SMBGROWTH_WORKSPACE": str(path)})
    assert code == 0
    assert json.loads(out)["workspace"] == str(path)
    assert (path / "business.duckdb").exists()
    assert (path / "ops.sqlite").exists()


def test_init_twice_is_a_one_line_error(ws_path: Path) -> None:
    code, _, err = _invoke("init", "--workspace", str(ws_path))
    assert code == 1
    assert "already a workspace" in err
    assert "Traceback" not in err


def test_import_json_reports_counts_and_reimport_changes_nothing(
    ws_path: Path, tmp_path: Path
) -> None:
    csv_file = tmp_path / "tx.csv"
    csv_file.write_text(ORDERS_CSV, encoding="utf-8")
    args = ("import", "csv", str(csv_file), "--table", "orders", "-w", str(ws_path), "--json")
    code, out, _ = _invoke(*args)
    assert code == 0, out
    first = json.loads(out)
    assert set(first) == {"import_id", "source", "dry_run", "files", "tables"}
    assert first["tables"]["orders"]["inserted"] == 3
    assert first["tables"]["customers"]["inserted"] == 2
    assert first["files"][0]["mapping"] == {
        "customer_id": "customer_id",
        "ordered_at": "date",
        "total": "amount",
    }
    code, out, _ = _invoke(*args)
    again = json.loads(out)
    assert again["tables"]["orders"] == {
        "table": "orders",
        "rows": 3,
        "inserted": 0,
        "updated": 0,
        "unchanged": 3,
        "removed": 0,
    }


def test_dry_run_writes_nothing(ws_path: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "tx.csv"
    csv_file.write_text(ORDERS_CSV, encoding="utf-8")
    code, out, _ = _invoke(
        "import", "csv", str(csv_file), "-t", "orders", "-w", str(ws_path), "--dry-run", "--json"
    )
    assert code == 0
    assert json.loads(out)["dry_run"] is True
    code, out, _ = _invoke("status", "-w", str(ws_path), "--json")
    rows = {t["table"]: t["rows"] for t in json.loads(out)["tables"]}
    assert rows["orders"] == 0


def test_bad_cell_is_one_line_naming_file_row_and_column(ws_path: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(ORDERS_CSV + "c3,2024-03-01,twelve\n", encoding="utf-8")
    code, out, err = _invoke(
        "import", "csv", str(csv_file), "-t", "orders", "-w", str(ws_path), "--json"
    )
    assert code == 1
    message = json.loads(out)["error"]
    assert message.startswith("bad.csv, row 5, column 'amount' (total): 'twelve' is not an amount")
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3  # one message, wrapped at most by the terminal


def test_status_json_lists_every_table(ws_path: Path) -> None:
    code, out, _ = _invoke("status", "-w", str(ws_path), "--json")
    assert code == 0
    data = json.loads(out)
    assert {t["table"] for t in data["tables"]} >= {
        "customers",
        "orders",
        "order_lines",
        "products",
        "subscriptions",
        "marketing_spend",
        "web_events",
        "deals",
        "invoices",
        "expenses",
        "tickets",
        "processes",
    }
    assert data["reporting_currency"] == "EUR"


def test_missing_workspace_says_how_to_create_one(tmp_path: Path) -> None:
    code, _, err = _invoke("status", "-w", str(tmp_path / "nope"))
    assert code == 1
    assert "smbgrowth init" in err


def test_unknown_source_lists_the_known_ones(ws_path: Path, tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("a\n1\n")
    code, _, err = _invoke("import", "square", str(f), "-w", str(ws_path))
    assert code == 1
    assert "shopify" in err and "quickbooks" in err


def test_every_command_has_help_and_appears_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [
        [c.name or (c.callback.__name__ if c.callback else "")] for c in app.registered_commands
    ]
    for group in app.registered_groups:
        assert group.typer_instance is not None
        commands += [
            [group.name or "", c.name or ""] for c in group.typer_instance.registered_commands
        ]
    assert {"init", "import", "status", "demo"} <= {c[0] for c in commands}
    assert ["clv", "fit"] in commands
    for words in commands:
        code, out, _ = _invoke(*words, "--help")
        assert code == 0
        assert "--workspace" in out and "--json" in out
        name = " ".join(words)
        assert re.search(rf"smbgrowth {name}\b", readme), f"README does not document {name}"


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "ws"
    code, out, err = _invoke("demo", "-w", str(path), "--customers", "800", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert set(report) == {
        "workspace",
        "tables",
        "years",
        "warnings",
        "scorecard",
        "stage",
        "segments",
        "clv",
        "experiments",
        "cashflow",
        "reorder",
        "simulation",
        "plan",
        "truth",
        "report",
    }
    assert len(report["cashflow"]["periods"]) == 13
    assert all(row["sentence"] for row in report["reorder"])
    assert [e["experiment"] for e in report["experiments"]] == [
        "checkout-redesign",
        "winback-email",
    ]
    names = [s["name"] for s in report["simulation"]["scenarios"]]
    assert names == ["baseline", "Support automation"]
    top = report["plan"]["opportunities"]
    assert [o["rank"] for o in top] == [1, 2, 3]
    assert all(o["explanation"].startswith(f"Ranks {o['rank']} of") for o in top)
    assert top[0]["roi"]["npv"]["p10"] <= top[0]["roi"]["npv"]["p50"] <= top[0]["roi"]["npv"]["p90"]
    assert (path / "plan.json").is_file()
    assert report["tables"]["orders"] > 0
    assert report["stage"]["stage"] in ("startup", "growth", "maturity", "renewal", "decline")
    return path


def test_demo_twice_replaces_the_demo_but_never_imported_data(
    demo_path: Path, ws_path: Path
) -> None:
    code, _, _ = _invoke("demo", "-w", str(demo_path), "--customers", "800", "--json")
    assert code == 0
    tx = ws_path.parent / "tx.csv"
    tx.write_text(ORDERS_CSV, encoding="utf-8")
    assert _invoke("import", "csv", str(tx), "-t", "orders", "-w", str(ws_path))[0] == 0
    code, _, err = _invoke("demo", "-w", str(ws_path))
    assert code == 1
    assert "holds imported data" in err


@pytest.mark.parametrize(
    ("args", "keys"),
    [
        (["kpis", "-m", "revenue_net", "-g", "year"], {"metric", "unit", "grain", "rows"}),
        (["kpis", "--list"], {"metrics"}),
        (["scorecard"], {"period", "drivers"}),
        (["cohorts"], {"measure", "grain", "cohorts"}),
        (["stage"], {"stage", "confidence", "evidence", "months_of_history", "fitted"}),
        (["segments"], {"method", "k", "customers", "entered", "segments"}),
        (
            ["clv", "fit", "--model", "bgnbd"],
            {"model", "params", "standard_errors", "log_likelihood", "n_customers", "converged"}
            | IDENTIFICATION,
        ),
        (
            ["clv", "predict", "--horizon", "6"],
            {"model", "horizon_months", "discount_rate", "customers", "total_clv", "top"}
            | IDENTIFICATION,
        ),
        (
            ["clv", "validate"],
            {
                "model",
                "calibration_end",
                "holdout_end",
                "predicted",
                "actual",
                "error",
                "by_frequency",
            }
            | IDENTIFICATION,
        ),
        (["churn-risk", "--top", "5"], {"customers"} | IDENTIFICATION),
        (
            ["clv", "predict", "--model", "sbg"],
            {"model", "params", "standard_errors", "months", "residual_lifetime"} | IDENTIFICATION,
        ),
        (
            ["clv", "predict", "--model", "bgbb", "--horizon", "26"],
            {"model", "horizon_periods", "time_unit", "top"} | IDENTIFICATION,
        ),
        (
            ["segments", "--method", "cluster", "--no-save"],
            {"method", "k", "customers", "entered", "segments"},
        ),
        (["insights"], {"insights"}),
        (["runway", "--balance", "25000"], {"opening_balance", "months_averaged", "runway_months"}),
        (["ar-ageing", "--as-of", "2026-10-31"], {"as_of", "buckets"}),
        (["experiment", "list"], {"experiments"}),
        (["forecast", "--horizon", "3"], {"metric", "unit", "grain", "horizon", "series"}),
        (
            ["forecast", "--demand", "--horizon", "2", "--windows", "1"],
            {"metric", "unit", "grain", "horizon", "series"},
        ),
        (
            ["experiment", "analyze", "--experiment", "winback-email"],
            EXPERIMENT_KEYS,
        ),
    ],
)
def test_analysis_commands_print_their_documented_json(
    demo_path: Path, args: list[str], keys: set[str]
) -> None:
    code, out, err = _invoke(*args, "-w", str(demo_path), "--json")
    assert code == 0, err
    assert set(json.loads(out)) == keys


def test_kpis_rows_follow_the_documented_shape(demo_path: Path) -> None:
    code, out, _ = _invoke(
        "kpis",
        "-m",
        "new_customers",
        "-g",
        "total",
        "--by",
        "channel",
        "-w",
        str(demo_path),
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["by"] == "channel"
    assert all(set(row) == {"channel", "value"} for row in data["rows"])
    code, out, _ = _invoke(
        "kpis",
        "-m",
        "orders",
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-31",
        "-w",
        str(demo_path),
        "--json",
    )
    assert [r["period"] for r in json.loads(out)["rows"]] == ["2026-01", "2026-02", "2026-03"]
