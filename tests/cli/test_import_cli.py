"""`smbgrowth import` from the command line, as a separate process, as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

SMBGROWTH = [sys.executable, "-c", "from smbgrowth.cli.main import run; run()"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SMBGROWTH, *args], capture_output=True, text=True, timeout=120, check=False
    )


def _workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    assert _run("init", "--workspace", str(path), "--currency", "usd").returncode == 0
    return path


def test_an_unrecognised_file_gets_one_line_and_a_mapping_to_edit(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    sales = tmp_path / "till.csv"
    sales.write_text("Receipt,When,Buyer,Paid\nR1,2024-01-02,a@x.com,10.50\n")
    failed = _run("import", "csv", str(sales), "--table", "orders", "--workspace", str(ws))
    assert failed.returncode != 0
    assert "Traceback" not in failed.stdout + failed.stderr
    said = [line for line in (failed.stdout + failed.stderr).splitlines() if line.strip()]
    assert len(said) <= 2  # one line, which a narrow terminal may wrap
    assert "till.csv" in said[0] and "--suggest-mapping" in " ".join(said)

    out = tmp_path / "till.yaml"
    suggested = _run(
        "import", "csv", str(sales), "--table", "orders", "--workspace", str(ws),
        "--suggest-mapping", str(out), "--json",
    )  # fmt: skip
    assert suggested.returncode == 0, suggested.stderr
    info = json.loads(suggested.stdout)
    assert info == {
        "mapping": str(out),
        "table": "orders",
        "found": {},
        "missing": ["ordered_at", "total"],
    }
    mapping = yaml.safe_load(out.read_text())
    assert mapping["table"] == "orders" and mapping["columns"] is None
    out.write_text(
        out.read_text()
        .replace("  # ordered_at:", "  ordered_at: When")
        .replace("  # total:", "  total: Paid")
        .replace("  # order_id:", "  order_id: Receipt")
    )
    done = _run("import", "csv", str(sales), "--mapping", str(out), "-w", str(ws), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tables"]["orders"]["inserted"] == 1


def test_suggested_mapping_for_a_recognised_export_lists_what_was_found(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    fixtures = Path(__file__).resolve().parents[1] / "data" / "fixtures"
    export = tmp_path / "orders_export.csv"
    shutil.copy(fixtures / "shopify" / "orders_export.csv", export)
    out = tmp_path / "shopify.yaml"
    result = _run(
        "import", "shopify", str(export), "-w", str(ws), "--suggest-mapping", str(out), "--json"
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["table"] == "order_lines" and info["missing"] == []
    assert info["found"]["order_id"] == "Name"
    assert yaml.safe_load(out.read_text())["columns"]["sku"] == "Lineitem sku"
    # Nothing was imported.
    status = json.loads(_run("status", "-w", str(ws), "--json").stdout)
    assert all(t["rows"] == 0 for t in status["tables"])
