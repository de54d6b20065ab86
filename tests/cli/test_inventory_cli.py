"""`smbgrowth inventory reorder`: the documented JSON, the human table and one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import smbgrowth
from smbgrowth.cli import inventory

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    inventory.register(app)

    @app.callback()
    def main() -> None:
        """Test command."""

    return app


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(_app(), list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 weeks of steady sales: 10 coffee bags every day, 1 mug every Monday."""
    path = tmp_path_factory.mktemp("cli") / "ws"
    days = pd.date_range("2024-01-01 12:00", "2024-07-28 12:00", freq="D", tz="UTC")
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(days))],
            "ordered_at": days,
            "status": "completed",
            "total": 100.0,
        }
    )
    lines = pd.DataFrame(
        {"order_id": orders.order_id, "line_no": 1, "sku": "BEAN", "quantity": 10.0}
    )
    mondays = orders[days.dayofweek == 0]
    mugs = pd.DataFrame({"order_id": mondays.order_id, "line_no": 2, "sku": "MUG", "quantity": 1.0})
    products = pd.DataFrame(
        {
            "sku": ["BEAN", "MUG", "GIFT"],
            "name": ["House blend 1 kg", "Mug", "Gift box"],
            "unit_cost": [10.0, 5.0, 3.0],
            "stock_on_hand": [50.0, 500.0, 5.0],
            "lead_time_days": [7.0, 14.0, 7.0],
        }
    )
    with smbgrowth.init_workspace(path) as ws:
        ws.append("orders", orders, source="test")
        ws.append("order_lines", pd.concat([lines, mugs]), source="test")
        ws.append("products", products, source="test")
    return path


def test_reorder_json_has_the_documented_keys(shop: Path) -> None:
    code, out, err = _invoke("inventory", "reorder", "--workspace", str(shop), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"as_of", "service_level", "z", "order_cost", "holding_rate", "currency",
            "summary", "reorder", "skus", "notes"} <= set(data)  # fmt: skip
    assert data["as_of"] == "2024-07-28"
    assert data["order_cost"] == 50.0
    skus = {r["sku"]: r for r in data["skus"]}
    assert set(skus) == {"BEAN", "MUG", "GIFT"}
    assert skus["GIFT"]["status"] == "no_sales"
    bean = skus["BEAN"]
    # A steady 70 a week forecasts 10 a day; 50 in stock is below one week's lead-time demand.
    assert bean["daily_demand"] == pytest.approx(10.0, rel=0.05)
    assert bean["order_now"] is True
    # Order up to ROP + EOQ: EOQ = √(2 × D × 50 / (0.25 × 10)), plus the shortfall below the ROP.
    eoq = math.sqrt(2 * bean["annual_demand"] * 50 / 2.5)
    assert bean["eoq"] == pytest.approx(eoq)
    assert bean["order_quantity"] == math.ceil(eoq + bean["reorder_point"] - 50)
    assert [r["sku"] for r in data["reorder"]] == ["BEAN"]
    assert {"sku", "name", "stock", "reorder_point", "safety_stock", "eoq", "order_quantity",
            "order_by", "stockout_risk", "overstock", "overstock_share", "days_of_cover",
            "status", "sentence"} <= set(bean)  # fmt: skip
    assert skus["MUG"]["overstock"] is True


def test_reorder_prints_the_list_and_sentences(shop: Path) -> None:
    code, out, err = _invoke(
        "inventory", "reorder", "-w", str(shop), "--service-level", "0.9", "--order-cost", "20"
    )
    assert code == 0, err
    lines = out.splitlines()
    top, bottom = lines[1].split(), lines[2].split()  # two-line headers
    assert top == ["reorder", "order", "stock-out"]
    assert bottom == ["sku", "name", "stock", "point", "qty", "order", "by", "risk"]
    bean = next(line.split() for line in lines if line.startswith(" BEAN"))
    assert bean[0] == "BEAN" and bean[-2:] == ["now", "100%"]
    assert "Order " in out and "BEAN (House blend 1 kg) now" in out
    assert "GIFT" not in out.split("SKUs to order")[0]
    assert "1 of 3 SKUs to order within 14 days (1 now)" in out
    assert "Service level 90%, order cost 20.00 USD" in out


def test_all_shows_every_sku(shop: Path) -> None:
    code, out, err = _invoke("inventory", "reorder", "-w", str(shop), "--all")
    assert code == 0, err
    for sku in ("BEAN", "MUG", "GIFT"):
        assert sku in out
    assert "GIFT (Gift box) has no sales to forecast from" in out
    assert "Over-stocked" in out


def test_as_of_moves_the_plan(shop: Path) -> None:
    code, out, err = _invoke("inventory", "reorder", "-w", str(shop), "--as-of", "2024-08-01",
                             "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["as_of"] == "2024-08-01"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--service-level", "1.5"], "service level 1.5 must be between 0 and 1"),
        (["--as-of", "last friday"], "--as-of 'last friday' is not a date"),
        (["--holding-rate", "-1"], "holding rate is -1.0"),
    ],
)
def test_bad_options_give_one_line_errors(shop: Path, args: list[str], message: str) -> None:
    code, _, err = _invoke("inventory", "reorder", "-w", str(shop), *args)
    assert code == 1
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_workspace_is_one_json_error(tmp_path: Path) -> None:
    code, out, _ = _invoke("inventory", "reorder", "-w", str(tmp_path / "nowhere"), "--json")
    assert code == 1
    assert "no workspace at" in json.loads(out)["error"]
