"""Reorder planning: textbook worked examples, a hand-computed plan, and the sample business."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import smbgrowth
from smbgrowth.data.sample import generate_sample_business
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError, DataError, ModelError
from smbgrowth.models.inventory import (
    ReorderPlan,
    days_of_cover,
    economic_order_quantity,
    reorder_plan,
    reorder_point,
    safety_stock,
    stockout_probability,
)

ZONE = "America/New_York"
AS_OF = date(2024, 6, 3)  # a Monday
Z95 = 1.6448536269514722  # Φ⁻¹(0.95)
Z975 = 1.959963984540054  # Φ⁻¹(0.975): hi_95 = mean + Z975 · sd
PHI = NormalDist()


# -- textbook worked examples --------------------------------------------------------------


def test_safety_stock_with_constant_lead_time() -> None:
    # σ_d = 10 units/day, L = 4 days, 95 %: SS = z σ_d √L = 1.645 × 10 × 2 = 32.9.
    assert safety_stock(10.0, 4.0, 0.95) == pytest.approx(32.9, abs=0.01)
    assert safety_stock(10.0, 4.0, 0.95) == pytest.approx(Z95 * 20.0)
    # Heizer, Render & Munson, Operations Management, ch. 12 (Circuit Town iPads): d = 60,
    # σ_d = 7, L = 6 days, 90 % → ROP = 360 + 1.28 × 7 × √6 = 381.9 ≈ 382.
    ss = safety_stock(7.0, 6.0, 0.90)
    assert ss == pytest.approx(1.2815515655446004 * 7 * math.sqrt(6))
    assert reorder_point(60.0, 6.0, ss) == pytest.approx(382.0, abs=0.5)


def test_safety_stock_with_variable_lead_time() -> None:
    # Heizer, Render & Munson, ch. 12: constant demand 10 cameras/day, lead time N(6, 1) days,
    # 98 % → SS = 2.055 × 10 × 1 = 20.55, ROP = 60 + 20.55 ≈ 81.
    ss = safety_stock(0.0, 6.0, 0.98, daily_mean=10.0, lead_time_sd_days=1.0)
    assert ss == pytest.approx(20.54, abs=0.01)
    assert reorder_point(10.0, 6.0, ss) == pytest.approx(80.55, abs=0.05)
    # Same chapter, both variable: d = 150 (σ 16) packs/day, L = N(5, 1) days, 95 %:
    # σ = √(5 × 16² + 150² × 1²) = √23,780 = 154.2, ROP = 750 + 1.65 × 154 ≈ 1,004.
    ss = safety_stock(16.0, 5.0, 0.95, daily_mean=150.0, lead_time_sd_days=1.0)
    assert ss == pytest.approx(Z95 * math.sqrt(23_780))
    assert reorder_point(150.0, 5.0, ss) == pytest.approx(1004.0, abs=0.5)


def test_reorder_point_without_uncertainty() -> None:
    # Heizer, Render & Munson, ch. 12: 8,000 iPhones a year over 250 working days,
    # lead time 3 days → d = 32, ROP = 96.
    assert reorder_point(8000 / 250, 3.0, 0.0) == pytest.approx(96.0)


def test_economic_order_quantity() -> None:
    # Heizer, Render & Munson, ch. 12 (Sharp, Inc.): D = 1,000, S = 10, H = 0.50 → Q* = 200.
    assert economic_order_quantity(1000.0, 10.0, 0.5) == pytest.approx(200.0)
    assert economic_order_quantity(0.0, 10.0, 0.5) == 0.0


def test_days_of_cover() -> None:
    assert days_of_cover(300.0, 10.0) == pytest.approx(30.0)
    assert days_of_cover(5.0, 0.0) == math.inf
    assert days_of_cover(-3.0, 2.0) == 0.0


def test_formulas_reject_impossible_parameters() -> None:
    for level in (0.0, 1.0, 1.2, math.nan):
        with pytest.raises(ConfigError, match="service level"):
            safety_stock(1.0, 1.0, level)
    with pytest.raises(ConfigError, match="lead time"):
        safety_stock(1.0, -1.0, 0.95)
    with pytest.raises(ConfigError, match="holding cost"):
        economic_order_quantity(100.0, 10.0, 0.0)


# -- stock-out probability -----------------------------------------------------------------


@given(
    a=st.floats(-50, 500),
    b=st.floats(-50, 500),
    mean=st.floats(0, 300),
    sd=st.floats(0.01, 100),
)
def test_stockout_probability_falls_as_stock_rises(
    a: float, b: float, mean: float, sd: float
) -> None:
    low, high = sorted((a, b))
    assert stockout_probability(low, mean, sd) >= stockout_probability(high, mean, sd)
    assert 0.0 <= stockout_probability(low, mean, sd) <= 1.0


def test_stockout_probability_is_the_normal_tail() -> None:
    assert stockout_probability(160.0, 160.0, 20.0) == pytest.approx(0.5)
    assert stockout_probability(160 + 20 * Z95, 160.0, 20.0) == pytest.approx(0.05)
    # No uncertainty: certain when the mean exceeds the stock, impossible otherwise.
    assert stockout_probability(10.0, 12.0, 0.0) == 1.0
    assert stockout_probability(12.0, 12.0, 0.0) == 0.0


# -- a hand-built business -----------------------------------------------------------------


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


PRODUCTS = pd.DataFrame(
    {
        "sku": ["ESP-1KG", "FILTER-100", "TEAPOT", "GIFTBOX", "SEASONAL", "BURR-GRINDER",
                "MUG", "NOCOST"],
        "name": ["Espresso beans 1 kg", "Paper filters", "Teapot", "Gift box", "Cold brew",
                 "Burr grinder", "Mug", None],
        "category": ["coffee", "accessories", "tea", "accessories", "coffee", "equipment",
                     "accessories", "accessories"],
        "unit_cost": [9.10, 4.0, 2.0, 3.0, 13.65, 4.0, 5.0, None],
        "stock_on_hand": [300, 10, 500, 5, 200, 20, 30, 3],
        "lead_time_days": [16.0, 9.0, 10.0, 7.0, 10.5, 9.0, None, 7.0],
    }
)  # fmt: skip

# Sold orders end on 3 June New York time (o3 is 4 June in UTC); o4 was cancelled later.
ORDERS = pd.DataFrame(
    {
        "order_id": ["o1", "o2", "o3", "o4"],
        "ordered_at": [utc("2024-05-01 15:00"), utc("2024-05-20 15:00"),
                       utc("2024-06-04 03:00"), utc("2024-06-10 15:00")],
        "status": ["completed", "completed", "completed", "cancelled"],
        "total": [100.0, 50.0, 30.0, 20.0],
    }
)  # fmt: skip
ORDER_LINES = pd.DataFrame(
    {
        "order_id": ["o1", "o2", "o3", "o4"],
        "line_no": [1, 1, 1, 1],
        "sku": ["ESP-1KG", "FILTER-100", "ESP-1KG", "TEAPOT"],
        "quantity": [5, 3, 2, 1],
    }
)


def weeks(sku: str, means: list[float], daily_sds: list[float]) -> pd.DataFrame:
    """A weekly forecast from 3 June whose 95 % bound encodes a daily s.d. (σ_week = σ_d √7)."""
    mean = np.array(means, dtype=float)
    week_sd = np.array(daily_sds, dtype=float) * math.sqrt(7)
    return pd.DataFrame(
        {
            "series_id": sku,
            "period": pd.date_range("2024-06-03", periods=len(means), freq="7D"),
            "mean": mean,
            "lo_80": mean,
            "hi_80": mean,
            "lo_95": mean - Z975 * week_sd,
            "hi_95": mean + Z975 * week_sd,
            "model": "hand",
        }
    )


DEMAND = pd.concat(
    [
        weeks("ESP-1KG", [70.0] * 13, [5.0] * 13),  # d = 10, σ_d = 5
        weeks("FILTER-100", [14.0] * 13, [1.0] * 13),  # d = 2, σ_d = 1
        weeks("BURR-GRINDER", [14.0] * 13, [1.0] * 13),
        weeks("TEAPOT", [7.0] * 13, [0.0] * 13),  # d = 1, certain
        weeks("SEASONAL", [70.0, 140.0], [2.0, 3.0]),  # the second week doubles
        weeks("MUG", [7.0] * 13, [1.0] * 13),
        weeks("NOCOST", [7.0] * 13, [0.0] * 13),
        weeks("NEW-SKU", [21.0] * 13, [1.0] * 13),  # sold, not in the products table
    ],
    ignore_index=True,
)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = smbgrowth.init_workspace(tmp_path / "shop", currency="EUR", time_zone=ZONE)
    ws.append("products", PRODUCTS, source="test")
    ws.append("orders", ORDERS, source="test")
    ws.append("order_lines", ORDER_LINES, source="test")
    yield ws
    ws.close()


@pytest.fixture
def plan(shop: Workspace) -> ReorderPlan:
    return reorder_plan(shop, as_of=AS_OF, demand=DEMAND)


def test_ordering_later_is_the_eoq_on_the_day_stock_meets_the_reorder_point(
    plan: ReorderPlan,
) -> None:
    p = plan.get("ESP-1KG")
    # d = 10/day, σ_d = 5, L = 16: μ_L = 160, σ_L = 5 × 4 = 20, SS = 20 z, ROP = 160 + 20 z.
    assert p.status == "planned"
    assert p.daily_demand == pytest.approx(10.0)
    assert p.lead_time_demand == pytest.approx(160.0)
    assert p.lead_time_sd == pytest.approx(20.0)
    assert p.safety_stock == pytest.approx(20 * Z95)
    assert p.reorder_point == pytest.approx(192.897, abs=1e-3)
    # D = 70 × 52 = 3,640, S = 50, H = 0.25 × 9.10 = 2.275: EOQ = √(364,000 / 2.275) = 400.
    assert p.annual_demand == pytest.approx(3640.0)
    assert p.eoq == pytest.approx(400.0)
    assert p.days_of_cover == pytest.approx(30.0)
    # (300 − 192.9) / 10 = 10.7 days: order by 3 June + 10 = Thursday 13 June, the EOQ.
    assert p.order_by == date(2024, 6, 13)
    assert not p.order_now
    assert p.order_quantity == 400
    assert p.stockout_risk == pytest.approx(1 - PHI.cdf((300 - 160) / 20), abs=1e-12)
    assert not p.overstock
    assert p.overstock_share == 0.0
    assert p.sentence == (
        "Order 400 units of ESP-1KG (Espresso beans 1 kg) by Thursday 13 June: "
        "300 in stock covers 30 days and delivery takes 16 days."
    )


def test_ordering_now_makes_good_the_shortfall(plan: ReorderPlan) -> None:
    p = plan.get("FILTER-100")
    # d = 2, σ_d = 1, L = 9: μ_L = 18, σ_L = 3, ROP = 18 + 3 z = 22.93 > 10 in stock.
    assert p.lead_time_demand == pytest.approx(18.0)
    assert p.lead_time_sd == pytest.approx(3.0)
    assert p.reorder_point == pytest.approx(18 + 3 * Z95)
    # D = 14 × 52 = 728, H = 0.25 × 4 = 1: EOQ = √72,800 = 269.81.
    assert p.eoq == pytest.approx(math.sqrt(72_800))
    assert p.order_now
    assert p.order_by == AS_OF
    # Up to ROP + EOQ: 269.81 + 22.93 − 10 = 282.75 → 283 whole units.
    assert p.order_quantity == 283
    assert p.stockout_risk == pytest.approx(PHI.cdf(8 / 3))
    assert p.days_of_cover == pytest.approx(5.0)
    assert p.sentence.startswith("Order 283 units of FILTER-100 (Paper filters) now: 10 in stock")


def test_lead_time_demand_follows_the_forecast_day_by_day(plan: ReorderPlan) -> None:
    p = plan.get("SEASONAL")
    # L = 10.5 days from Tuesday 4 June: 6 days of the 70-unit week (10/day, σ_d 2) and
    # 4.5 days of the 140-unit week (20/day, σ_d 3).
    assert p.lead_time_demand == pytest.approx(6 * 10 + 4.5 * 20)  # 150
    variance = 6 * 2**2 + 4.5 * 3**2  # 64.5
    assert p.lead_time_sd == pytest.approx(math.sqrt(variance))
    assert p.daily_demand == pytest.approx(150 / 10.5)
    assert p.safety_stock == pytest.approx(Z95 * math.sqrt(variance))
    rop = 150 + Z95 * math.sqrt(variance)  # 163.21
    assert p.reorder_point == pytest.approx(rop)
    # D = 105 × 52 = 5,460, H = 0.25 × 13.65: EOQ = √(546,000 / 3.4125) = 400.
    assert p.eoq == pytest.approx(400.0)
    # (200 − 163.2) / 14.29 = 2.6 days → Wednesday 5 June.
    assert p.order_by == date(2024, 6, 5)
    assert p.order_quantity == 400
    assert p.days_of_cover == pytest.approx(14.0)


def test_negative_demand_never_reaches_the_reorder_list(shop: Workspace) -> None:
    # A demand frame netted of returns: ESP-1KG's weeks swing below zero, FILTER-100 is
    # negative throughout. Demand for stock is units sold: negative weeks read as 0.
    netted = DEMAND.copy()
    esp = netted.series_id == "ESP-1KG"
    netted.loc[esp, "mean"] = [-103.0, 70.0, -20.0] + [70.0] * 10
    netted.loc[esp, "hi_95"] = netted.loc[esp, "mean"] + 30.0
    filt = netted.series_id == "FILTER-100"
    netted.loc[filt, "mean"] = -14.0
    netted.loc[filt, "hi_95"] = -5.0
    plan = reorder_plan(shop, as_of=AS_OF, demand=netted)
    for s in plan.skus:
        if s.status != "planned":
            continue
        for number in (s.daily_demand, s.lead_time_demand, s.lead_time_sd, s.safety_stock,
                       s.reorder_point, s.annual_demand, s.eoq):  # fmt: skip
            assert number >= 0, s
        assert s.order_quantity >= 0
    esp_plan = plan.get("ESP-1KG")
    # 16 days from Tuesday 4 June: 6 days of week 1 (0), 7 of week 2 (10/day), 3 of week 3 (0).
    assert esp_plan.lead_time_demand == pytest.approx(70.0)
    filt_plan = plan.get("FILTER-100")
    assert filt_plan.lead_time_demand == 0.0 and filt_plan.safety_stock == 0.0
    assert "FILTER-100" not in {s.sku for s in plan.reorder}
    assert any("ESP-1KG, FILTER-100 went below 0" in n for n in plan.notes)


def test_safety_stock_is_never_negative_in_a_plan(shop: Workspace) -> None:
    # Below a 50 % service level z < 0; the plan holds no safety stock rather than less.
    plan = reorder_plan(shop, as_of=AS_OF, demand=DEMAND, service_level=0.3)
    esp = plan.get("ESP-1KG")
    assert esp.safety_stock == 0.0
    assert esp.reorder_point == pytest.approx(esp.lead_time_demand)
    assert any("negative safety stock" in n for n in esp.notes)


def test_overstock_is_detected(plan: ReorderPlan) -> None:
    p = plan.get("TEAPOT")
    # 1 a day, certain: ROP = 10, 500 in stock = 500 days of cover; 180 of them sell.
    assert p.reorder_point == pytest.approx(10.0)
    assert p.days_of_cover == pytest.approx(500.0)
    assert p.overstock
    assert p.overstock_share == pytest.approx((500 - 180) / 500)
    assert p.stockout_risk == 0.0
    assert p.order_by == date(2025, 10, 6)  # 490 days on
    assert p.order_quantity == math.ceil(math.sqrt(2 * 364 * 50 / 0.5))  # 270
    assert "Over-stocked: 64% of the stock" in p.sentence
    assert p.sentence.startswith("Order 270 units of TEAPOT (Teapot) by Monday 6 October 2025")


def test_skus_without_sales_or_data_are_reported_not_dropped(plan: ReorderPlan) -> None:
    assert [s.sku for s in plan.skus] == sorted([*PRODUCTS.sku, "NEW-SKU"])
    gift = plan.get("GIFTBOX")
    assert gift.status == "no_sales"
    assert gift.stock == 5.0
    assert math.isnan(gift.reorder_point)
    assert gift.order_quantity == 0
    assert gift.sentence == "GIFTBOX (Gift box) has no sales to forecast from; 5 in stock."
    mug = plan.get("MUG")
    assert mug.status == "no_lead_time"
    assert mug.daily_demand == pytest.approx(1.0)
    assert mug.days_of_cover == pytest.approx(30.0)
    assert math.isnan(mug.reorder_point)
    new = plan.get("NEW-SKU")
    assert new.status == "not_in_products"
    assert new.daily_demand == pytest.approx(3.0)
    assert "not in the products table" in new.sentence
    summary = plan.to_dict()["summary"]
    assert summary["by_status"] == {
        "planned": 6,
        "no_sales": 1,
        "no_lead_time": 1,
        "no_stock": 0,
        "not_in_products": 1,
    }


def test_without_a_unit_cost_one_lead_time_is_ordered(plan: ReorderPlan) -> None:
    p = plan.get("NOCOST")
    # 1 a day, L = 7, certain: ROP = 7; EOQ unknown → 7; order up to 14 from 3 → 11.
    assert p.eoq == pytest.approx(7.0)
    assert p.order_quantity == 11
    assert any("no unit cost" in note for note in p.notes)
    assert p.label == "NOCOST"


def test_reorder_list_is_due_skus_by_date_then_risk(shop: Workspace) -> None:
    plan = reorder_plan(shop, as_of=AS_OF, demand=DEMAND)
    # Three to order now, by risk (certain, 99.6 %, 25 %), then 5 June and 13 June; the
    # teapot's date is 490 days away.
    due = ["NOCOST", "FILTER-100", "BURR-GRINDER", "SEASONAL", "ESP-1KG"]
    assert [s.sku for s in plan.reorder] == due
    grinder = plan.get("BURR-GRINDER")
    assert grinder.stockout_risk == pytest.approx(1 - PHI.cdf(2 / 3))
    assert grinder.order_quantity == math.ceil(math.sqrt(72_800) + 18 + 3 * Z95 - 20)  # 273
    within_5 = reorder_plan(shop, as_of=AS_OF, demand=DEMAND, reorder_within_days=5)
    assert [s.sku for s in within_5.reorder] == due[:-1]


def test_stockout_risk_at_the_reorder_point_is_one_minus_the_service_level(
    shop: Workspace,
) -> None:
    for level in (0.8, 0.95, 0.99):
        for sd_days in (0.0, 2.0):
            plan = reorder_plan(
                shop, as_of=AS_OF, demand=DEMAND, service_level=level, lead_time_sd_days=sd_days
            )
            for p in plan.skus:
                if p.status != "planned" or p.lead_time_sd == 0:
                    continue
                risk = stockout_probability(p.reorder_point, p.lead_time_demand, p.lead_time_sd)
                assert risk == pytest.approx(1 - level)


def test_lead_time_variability_widens_the_safety_stock(shop: Workspace) -> None:
    p = reorder_plan(shop, as_of=AS_OF, demand=DEMAND, lead_time_sd_days=2.0).get("ESP-1KG")
    # √(16 × 5² + 10² × 2²) = √800
    assert p.lead_time_sd == pytest.approx(math.sqrt(800))
    assert p.safety_stock == pytest.approx(Z95 * math.sqrt(800))


def test_as_of_defaults_to_the_local_day_of_the_latest_sale(shop: Workspace) -> None:
    plan = reorder_plan(shop, demand=DEMAND)
    assert plan.as_of == date(2024, 6, 3)
    assert any("2024-06-03" in note for note in plan.notes)


def test_lead_time_past_the_forecast_repeats_its_last_week(shop: Workspace) -> None:
    plan = reorder_plan(shop, as_of=date(2024, 6, 10), demand=DEMAND)
    p = plan.get("SEASONAL")
    # From 11 June: 6 days of week 2 (20/day), then 4.5 days past the forecast at 20/day.
    assert p.lead_time_demand == pytest.approx(10.5 * 20)
    assert any("runs past the forecast" in note for note in p.notes)


def test_to_dict_is_json_and_frame_has_a_row_per_sku(plan: ReorderPlan) -> None:
    data = plan.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["as_of"] == "2024-06-03"
    assert set(data) == {
        "as_of", "service_level", "z", "order_cost", "holding_rate", "lead_time_sd_days",
        "overstock_days", "reorder_within_days", "currency", "summary", "reorder", "skus",
        "notes",
    }  # fmt: skip
    assert data["currency"] == "EUR"
    assert data["z"] == pytest.approx(Z95)
    assert data["summary"]["to_reorder"] == 5
    assert data["summary"]["order_now"] == 3
    assert data["summary"]["overstocked"] == 1
    assert [r["sku"] for r in data["reorder"]] == [s.sku for s in plan.reorder]
    assert data["reorder"][0]["order_by"] == "2024-06-03"
    gift = next(r for r in data["skus"] if r["sku"] == "GIFTBOX")
    assert gift["reorder_point"] is None
    frame = plan.frame()
    assert len(frame) == len(plan.skus) == 9
    assert frame.set_index("sku").loc["ESP-1KG", "order_quantity"] == 400


def test_bad_inputs_raise_one_clear_error(shop: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="service level"):
        reorder_plan(shop, as_of=AS_OF, demand=DEMAND, service_level=1.0)
    with pytest.raises(ConfigError, match="holding rate"):
        reorder_plan(shop, as_of=AS_OF, demand=DEMAND, holding_rate=-0.1)
    with pytest.raises(DataError, match="hi_95"):
        reorder_plan(shop, as_of=AS_OF, demand=DEMAND.drop(columns="hi_95"))
    with (
        smbgrowth.init_workspace(tmp_path / "empty") as empty,
        pytest.raises(ModelError, match="no products"),
    ):
        reorder_plan(empty, as_of=AS_OF, demand=DEMAND)


# -- the sample business with the real forecast ---------------------------------------------


@pytest.fixture(scope="module")
def sample_plan(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ReorderPlan, list[str]]]:
    ws = smbgrowth.init_workspace(tmp_path_factory.mktemp("sample") / "ws")
    try:
        generate_sample_business(ws, customers=3000, years=2, seed=3)
        skus = list(ws.read("products")["sku"])
        yield reorder_plan(ws), skus
    finally:
        ws.close()


@pytest.mark.slow
def test_sample_business_plans_every_sku(sample_plan: tuple[ReorderPlan, list[str]]) -> None:
    plan, skus = sample_plan
    assert sorted(s.sku for s in plan.skus) == sorted(skus)
    planned = [s for s in plan.skus if s.status == "planned"]
    assert len(planned) >= len(skus) - 5
    for s in planned:
        numbers = [
            s.daily_demand, s.lead_time_demand, s.lead_time_sd, s.safety_stock,
            s.reorder_point, s.annual_demand, s.eoq, s.stockout_risk, s.overstock_share,
        ]  # fmt: skip
        assert all(math.isfinite(x) for x in numbers), s
        assert s.reorder_point >= s.lead_time_demand >= 0
        assert 0.0 <= s.stockout_risk <= 1.0
        assert s.model
    for s in plan.skus:
        if s.status == "no_sales":
            assert s.sentence.endswith("in stock.")
    due = plan.reorder
    assert due, "the sample business has SKUs to reorder"
    keys = [(s.order_by, -s.stockout_risk) for s in due]
    assert keys == sorted(keys)
    assert all(s.order_quantity >= 1 and s.sentence.startswith("Order ") for s in due)
    json.dumps(plan.to_dict(), allow_nan=False)
