"""Cash-flow projection: hand-computed balance paths, payment behaviour, scenarios, real data."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data.importer import import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.sample import generate_sample_business
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError
from smbgrowth.models.cashflow import (
    CashBalance,
    Hire,
    Investment,
    LatePayer,
    Scenario,
    learn_payment_behaviour,
    load_scenario,
    opening_balance,
    project_cash,
)

REPO = Path(__file__).resolve().parents[2]
DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
IBM_MAPPING = REPO / "tests" / "data" / "fixtures" / "generic" / "ibm_ar_invoices_mapping.yaml"
AS_OF = dt.date(2025, 1, 31)


def noon(day: str) -> pd.Timestamp:
    """Noon UTC: the same local day in New York (the test workspace's zone)."""
    return pd.Timestamp(f"{day} 12:00", tz="UTC")


def invoice(
    invoice_id: str, customer: str, issued: str, due: str, paid: str | None, amount: float
) -> dict[str, Any]:
    return {
        "invoice_id": invoice_id,
        "customer_id": customer,
        "issued_at": noon(issued),
        "due_at": noon(due),
        "paid_at": noon(paid) if paid else pd.NaT,
        "amount": amount,
        "paid_amount": amount if paid else 0.0,
    }


def expense(
    expense_id: str,
    category: str,
    incurred: str,
    amount: float,
    *,
    recurring: bool = False,
    due: str | None = None,
    paid: str | None = None,
) -> dict[str, Any]:
    return {
        "expense_id": expense_id,
        "incurred_at": noon(incurred),
        "category": category,
        "vendor": f"{category} vendor",
        "amount": amount,
        "due_at": noon(due) if due else pd.NaT,
        "paid_at": noon(paid) if paid else pd.NaT,
        "recurring": recurring,
    }


def forecast(means: dict[str, float], width: float = 0.0) -> pd.DataFrame:
    """A hand-made monthly revenue forecast; ``width`` is the half-width of the 95 % interval."""
    periods = [pd.Timestamp(p) for p in means]
    mean = np.array(list(means.values()))
    return pd.DataFrame(
        {"period": periods, "mean": mean, "lo_95": mean - width, "hi_95": mean + width}
    )


# 100 a day in each month.
FLAT = forecast({"2025-02-01": 2800.0, "2025-03-01": 3100.0, "2025-04-01": 3000.0})


@pytest.fixture
def hand(workspace: Workspace) -> Workspace:
    """C1 is invoiced 5,000 on the 1st of every month (net 30) and always pays 10 days late.

    Paid: Sep-Dec 2024 (40 days from issue to payment each). Open at 2025-01-31:
    the 1 January invoice, due 31 January. Rent 2,000 is paid on the 1st of each month.
    """
    rows = [
        invoice("I1", "C1", "2024-09-01", "2024-10-01", "2024-10-11", 5000.0),
        invoice("I2", "C1", "2024-10-01", "2024-10-31", "2024-11-10", 5000.0),
        invoice("I3", "C1", "2024-11-01", "2024-12-01", "2024-12-11", 5000.0),
        invoice("I4", "C1", "2024-12-01", "2024-12-31", "2025-01-10", 5000.0),
        invoice("I5", "C1", "2025-01-01", "2025-01-31", None, 5000.0),
    ]
    workspace.append("invoices", pd.DataFrame(rows), "test")
    rent = [
        expense(f"R{i}", "rent", day, 2000.0, recurring=True, paid=day)
        for i, day in enumerate(["2024-11-01", "2024-12-01", "2025-01-01"])
    ]
    workspace.append("expenses", pd.DataFrame(rent), "test")
    return workspace


def project(ws: Workspace, opening: float = 10_000.0, **kwargs: Any) -> Any:
    kwargs.setdefault("months", 3)
    kwargs.setdefault("revenue_forecast", FLAT)
    kwargs.setdefault("paths", 200)
    return project_cash(ws, opening, as_of=AS_OF, **kwargs)


# -- hand-computed paths -------------------------------------------------------------------


def test_monthly_balance_equals_the_hand_computation(hand: Workspace) -> None:
    result = project(hand)
    # Feb: -2,000 rent (1st) + 5,000 open invoice (31 Jan + 10 days late = 10 Feb) + 2,800 sales.
    # Mar: -2,000 + 5,000 (invoice of 1 Feb, paid 40 days later: 13 Mar) + 3,100.
    # Apr: -2,000 + 5,000 (invoice of 1 Mar, paid 10 Apr) + 3,000; 1 Apr's invoice pays in May.
    expected = [15_800.0, 21_900.0, 27_900.0]
    frame = result.frame()
    assert list(frame["period"]) == [dt.date(2025, 2, 1), dt.date(2025, 3, 1), dt.date(2025, 4, 1)]
    assert list(frame["end"]) == [dt.date(2025, 2, 28), dt.date(2025, 3, 31), dt.date(2025, 4, 30)]
    for column in ("mean", "p5", "p10", "p50", "p90", "p95"):
        assert frame[column].to_numpy() == pytest.approx(expected, abs=0.005)
    assert list(frame["p_negative"]) == [0.0, 0.0, 0.0]
    assert result.p_negative_any == 0.0
    assert result.first_negative_period is None
    assert result.runway_period is None
    assert "stays at or above zero through 2025-04-30" in result.runway_text
    flows = result.flows
    assert flows.loc[dt.date(2025, 2, 1), "open invoices"] == pytest.approx(5000.0)
    assert flows["invoiced sales"].to_list() == pytest.approx([0.0, 5000.0, 5000.0])
    assert flows["rent"].to_list() == pytest.approx([-2000.0] * 3)
    assert flows["sales"].to_list() == pytest.approx([2800.0, 3100.0, 3000.0])
    assert result.assumptions["invoices_in_orders"] is False
    assert result.assumptions["invoiced_sales_per_month"] == pytest.approx(5000.0)


def test_a_dip_below_zero_is_seen_inside_a_period(hand: Workspace) -> None:
    result = project(hand, opening=1000.0, months=None, weeks=4)
    # 1 Feb: 1,000 - 2,000 + 100 = -900; +100 a day to -300 on 7 Feb and -100 on 9 Feb;
    # 10 Feb: +5,000 + 100 = 5,000; then +100 a day.
    frame = result.frame()
    assert frame["p50"].to_numpy() == pytest.approx([-300.0, 5400.0, 6100.0, 6800.0], abs=0.005)
    assert list(frame["p_negative"]) == [1.0, 0.0, 0.0, 0.0]
    assert result.p_negative_any == 1.0
    assert result.first_negative_period == dt.date(2025, 2, 1)
    assert result.first_negative_probability == 1.0
    assert result.runway_period == dt.date(2025, 2, 1)
    assert result.lowest_period == dt.date(2025, 2, 1)
    drivers = result.drivers.set_index("item")["amount"]
    assert drivers.index[0] == "rent"
    assert drivers["rent"] == pytest.approx(-2000.0)
    assert drivers["sales"] == pytest.approx(700.0)


def test_a_balance_that_stays_negative_has_probability_one(hand: Workspace) -> None:
    result = project(hand, opening=-50_000.0)
    assert list(result.frame()["p_negative"]) == [1.0, 1.0, 1.0]
    assert result.runway_period == dt.date(2025, 2, 1)


def test_open_bills_are_paid_when_due_and_other_costs_at_their_daily_average(
    workspace: Workspace,
) -> None:
    # A legal bill of 600 incurred 20 Jan, due 5 Feb, unpaid at 31 Jan: the only cost
    # history is those 12 days, so "legal" runs at 600 / 12 = 50 a day.
    bill = expense("L1", "legal", "2025-01-20", 600.0, due="2025-02-05")
    paid_earlier = expense("L0", "legal_paid", "2025-01-20", 0.01, paid="2025-01-20")
    workspace.append("expenses", pd.DataFrame([bill, paid_earlier]), "test")
    result = project(workspace, opening=0.0, months=None, weeks=2)
    flows = result.flows
    assert flows["open bills"].to_list() == pytest.approx([-600.0, 0.0])
    assert flows["legal"].to_list() == pytest.approx([-350.0, -350.0])


def test_without_a_recurring_flag_the_category_decides(workspace: Workspace) -> None:
    # "Office Rent"-style names are normalised; "Rent" without a flag counts as recurring
    # and continues monthly at its last amount, on the month's last day as last seen.
    rows = [
        expense(f"R{i}", "Rent", day, amount, paid=day)
        for i, (day, amount) in enumerate(
            [("2024-10-31", 1500.0), ("2024-11-30", 1500.0), ("2024-12-31", 1800.0)]
        )
    ]
    frame = pd.DataFrame(rows).assign(recurring=None)
    workspace.append("expenses", frame, "test")
    result = project(workspace, opening=0.0, months=3)
    assert result.flows["rent"].to_list() == pytest.approx([-1800.0, -1800.0, -1800.0])
    assert result.assumptions["recurring"] == [
        {"category": "rent", "vendor": "Rent vendor", "amount": 1800.0, "every": "monthly",
         "lag_days": 0}
    ]  # fmt: skip


def test_variable_costs_follow_sales_at_their_ratio_and_lag(workspace: Workspace) -> None:
    # Six months of 1,000 sales and 400 COGS bills paid 30 days later: ratio 0.4, lag 30.
    months = ["2024-08", "2024-09", "2024-10", "2024-11", "2024-12", "2025-01"]
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(6)],
            "customer_id": "web",
            "ordered_at": [noon(f"{m}-15") for m in months],
            "status": "completed",
            "currency": "USD",
            "total": 1000.0,
        }
    )
    workspace.append("orders", orders, "test")
    cogs = [
        expense(
            f"C{i}",
            "COGS",
            f"{m}-15",
            400.0,
            due=str((pd.Timestamp(f"{m}-15") + pd.Timedelta(days=30)).date()),
            paid=str((pd.Timestamp(f"{m}-15") + pd.Timedelta(days=30)).date()),
        )
        for i, m in enumerate(months)
    ]
    workspace.append("expenses", pd.DataFrame(cogs), "test")
    result = project(workspace, opening=0.0, months=2)
    assert result.assumptions["variable_cost_ratios"] == {"cogs": pytest.approx(0.4)}
    # Feb: 2,800 sales, January's COGS bill (due 14 Feb, unpaid at 31 Jan) -400.
    # Mar: 3,100 sales, COGS of sales from 1 Feb paid from 3 Mar: 29 days x 40.
    assert result.flows["cogs"].to_list() == pytest.approx([0.0, -1160.0])
    assert result.flows["open bills"].to_list() == pytest.approx([-400.0, 0.0])
    assert result.frame()["p50"].to_numpy() == pytest.approx([2400.0, 4340.0], abs=0.005)


def test_invoices_that_are_also_orders_are_not_projected_twice(workspace: Workspace) -> None:
    rows = [
        invoice(f"I{i}", "B1", f"2024-{m:02d}-01", f"2024-{m:02d}-20", f"2024-{m:02d}-25", 700.0)
        for i, m in enumerate(range(9, 13))
    ]
    workspace.append("invoices", pd.DataFrame(rows), "test")
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(4)],
            "customer_id": "B1",
            "ordered_at": [r["issued_at"] for r in rows],
            "status": "completed",
            "currency": "USD",
            "total": 700.0,
        }
    )
    workspace.append("orders", orders, "test")
    result = project(workspace)
    assert result.assumptions["invoices_in_orders"] is True
    assert "invoiced sales" not in result.flows.columns


# -- payment behaviour ---------------------------------------------------------------------


@pytest.fixture
def varied(workspace: Workspace) -> Workspace:
    """C2 paid five invoices -5, 0, 10, 25 and 40 days late; C3 paid one, 3 days late.

    C2 also has an invoice due 11 Jan 2025, unpaid at 31 Jan: 20 days overdue.
    """
    late = [-5, 0, 10, 25, 40]
    rows = []
    for i, days in enumerate(late):
        issued = pd.Timestamp("2024-03-01") + pd.DateOffset(months=i)
        due = issued + pd.Timedelta(days=30)
        paid = due + pd.Timedelta(days=days)
        rows.append(
            invoice(f"V{i}", "C2", str(issued.date()), str(due.date()), str(paid.date()), 1000.0)
        )
    rows.append(invoice("W1", "C3", "2024-05-01", "2024-05-31", "2024-06-03", 800.0))
    rows.append(invoice("V9", "C2", "2024-12-12", "2025-01-11", None, 1000.0))
    workspace.append("invoices", pd.DataFrame(rows), "test")
    return workspace


def test_customer_summaries_and_the_own_or_pooled_rule(varied: Workspace) -> None:
    behaviour = learn_payment_behaviour(varied)
    c2 = behaviour.customers.loc["C2"]
    assert c2["invoices"] == 5
    assert c2["mean_days_late"] == pytest.approx(14.0)
    assert c2["median_days_late"] == pytest.approx(10.0)
    assert c2["p90_days_late"] == pytest.approx(np.quantile([-5, 0, 10, 25, 40], 0.9))
    assert c2["share_paid_late"] == pytest.approx(0.6)
    assert c2["mean_days_to_pay"] == pytest.approx(44.0)
    assert bool(c2["uses_own"]) and behaviour.uses_own("C2")
    assert not behaviour.uses_own("C3") and not behaviour.uses_own("nobody")
    assert behaviour.pooled["mean_days_late"] == pytest.approx((70 + 3) / 6)
    assert behaviour.pooled["invoices"] == 6
    json.dumps(behaviour.to_dict())


def test_the_sampler_is_conditional_on_being_unpaid(varied: Workspace) -> None:
    behaviour = learn_payment_behaviour(varied, as_of=AS_OF)
    rng = np.random.default_rng(1)
    draws = behaviour.sample_days_late(["C2"], rng, already_overdue_days=20, size=4000)[:, 0]
    assert set(np.unique(draws)) == {25.0, 40.0}
    assert np.mean(draws == 25.0) == pytest.approx(0.5, abs=0.05)
    free = behaviour.sample_days_late(["C2"] * 3, rng, size=500)
    assert set(np.unique(free)) == {-5.0, 0.0, 10.0, 25.0, 40.0}
    # Later than anyone ever paid: not collected. C3 draws from the pooled six.
    assert np.isinf(behaviour.sample_days_late(["C2"], rng, 40)).all()
    pooled = behaviour.sample_days_late(["C3"], rng, 5, size=500)
    assert set(np.unique(pooled)) == {10.0, 25.0, 40.0}


def test_an_overdue_invoice_is_never_collected_before_its_possible_dates(
    varied: Workspace,
) -> None:
    # Due 11 Jan, unpaid at 31 Jan (20 days late): C2 then pays 25 days late (5 Feb, week 1)
    # or 40 days late (20 Feb, week 3), never in week 2.
    result = project(varied, opening=0.0, months=None, weeks=3, paths=2000)
    collected = result.flows["open invoices"].to_numpy()
    assert collected[1] == 0.0
    assert collected.sum() == pytest.approx(1000.0)
    assert collected[0] == pytest.approx(500.0, abs=50.0)


# -- scenarios -----------------------------------------------------------------------------


def test_hires_lower_the_median_by_their_cost_every_month(hand: Workspace) -> None:
    base = project(hand, months=4).frame()["p50"].to_numpy()
    plan = Scenario(hires=[Hire(month=3, count=2, monthly_cost=5000.0)])
    hired = project(hand, months=4, scenario=plan)
    assert (hired.frame()["p50"].to_numpy() - base) == pytest.approx([0, 0, -10_000, -20_000])
    assert hired.flows["hires"].to_list() == pytest.approx([0, 0, -10_000, -10_000])


def test_lower_sales_lower_sales_inflows_by_the_stated_share(hand: Workspace) -> None:
    base = project(hand, revenue_forecast=forecast(
        {"2025-02-01": 2800.0, "2025-03-01": 3100.0, "2025-04-01": 3000.0}, width=600.0
    ), paths=500)  # fmt: skip
    lower = project(
        hand,
        scenario={"sales_change": -0.2},
        revenue_forecast=forecast(
            {"2025-02-01": 2800.0, "2025-03-01": 3100.0, "2025-04-01": 3000.0}, width=600.0
        ),
        paths=500,
    )
    for item in ("sales", "invoiced sales"):
        assert lower.flows[item].to_numpy() == pytest.approx(0.8 * base.flows[item].to_numpy())
    assert lower.flows["open invoices"].sum() == pytest.approx(base.flows["open invoices"].sum())


def test_a_late_payer_shifts_collection_by_the_extra_days(hand: Workspace) -> None:
    plan = Scenario(late_payers=[LatePayer(customer_id="C1", extra_days=30)])
    result = project(hand, scenario=plan)
    # 10 Feb + 30 days = 12 March; 1 Feb's invoice moves from 13 March to 12 April.
    assert result.flows["open invoices"].to_list() == pytest.approx([0.0, 5000.0, 0.0])
    assert result.flows["invoiced sales"].to_list() == pytest.approx([0.0, 0.0, 5000.0])


def test_an_unknown_late_payer_is_a_config_error(hand: Workspace) -> None:
    with pytest.raises(ConfigError, match="'C9' has no invoices"):
        project(hand, scenario={"late_payers": [{"customer_id": "C9", "extra_days": 30}]})


def test_investments_are_paid_on_their_day_and_outside_ones_noted(hand: Workspace) -> None:
    plan = Scenario(
        investments=[
            Investment(date=dt.date(2025, 3, 5), amount=8000.0, label="roaster"),
            Investment(date=dt.date(2026, 1, 1), amount=1.0, label="later"),
        ]
    )
    result = project(hand, scenario=plan)
    assert result.flows["investment: roaster"].to_list() == pytest.approx([0.0, -8000.0, 0.0])
    assert result.frame()["p50"].to_numpy() == pytest.approx([15_800.0, 13_900.0, 19_900.0])
    assert any("'later'" in note for note in result.notes)


def test_same_seed_same_result_and_another_seed_differs(hand: Workspace) -> None:
    wide = forecast({"2025-02-01": 2800.0, "2025-03-01": 3100.0, "2025-04-01": 3000.0}, 900.0)
    first = project(hand, revenue_forecast=wide, seed=7)
    again = project(hand, revenue_forecast=wide, seed=7)
    other = project(hand, revenue_forecast=wide, seed=8)
    pd.testing.assert_frame_equal(first.frame(), again.frame())
    pd.testing.assert_frame_equal(first.flows, again.flows)
    assert first.to_dict() == again.to_dict()
    assert not first.frame()["p50"].equals(other.frame()["p50"])


def test_load_scenario_reads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(
        "sales_change: -0.2\n"
        "late_payers:\n  - {customer_id: 1042, extra_days: 30}\n"
        "hires:\n  - {month: 3, count: 2, monthly_cost: 5000}\n"
        "investments:\n  - {date: 2025-03-05, amount: 8000, label: roaster}\n",
        encoding="utf-8",
    )
    plan = load_scenario(path)
    assert plan == Scenario(
        sales_change=-0.2,
        late_payers=[LatePayer(customer_id="1042", extra_days=30)],
        hires=[Hire(month=3, count=2, monthly_cost=5000.0)],
        investments=[Investment(date=dt.date(2025, 3, 5), amount=8000.0, label="roaster")],
    )


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("hires:\n  - {month: 0, count: 2, monthly_cost: 5000}\n", "hires[0].month"),
        ("sale_change: -0.2\n", "unknown field sale_change"),
        ("hires:\n  - {month: 2, cnt: 3}\n", "hires[0].cnt; the fields there are month, count"),
        ("sales_change: lots\n", "sales_change"),
        ("investments:\n  - {date: soon, amount: 5}\n", "investments[0].date"),
        ("hires: [\n", "not valid YAML at line 2"),
        ("- just a list\n", "must be a mapping"),
    ],
)
def test_a_bad_scenario_is_one_line_naming_file_and_field(
    tmp_path: Path, text: str, field: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert str(path) in message
    assert field in message
    assert "\n" not in message


def test_a_missing_scenario_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_scenario(tmp_path / "nope.yaml")


def test_bad_horizons_are_config_errors(hand: Workspace) -> None:
    with pytest.raises(ConfigError, match="not both"):
        project_cash(hand, 0.0, weeks=4, months=3, revenue_forecast=FLAT)
    with pytest.raises(ConfigError, match="months must be between"):
        project_cash(hand, 0.0, months=0, revenue_forecast=FLAT)


def test_without_a_stored_balance_the_error_says_pass_balance(workspace: Workspace) -> None:
    with pytest.raises(ConfigError, match="--balance"):
        opening_balance(workspace)


# -- the sample business -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = smbgrowth.init_workspace(tmp_path_factory.mktemp("sample") / "ws")
    generate_sample_business(ws, customers=3000, years=2, seed=3)
    yield ws
    ws.close()


def test_the_sample_stores_three_months_of_expenses_as_cash(sample: Workspace) -> None:
    stored = opening_balance(sample)
    expenses = sample.read("expenses")
    since = pd.Timestamp("2026-10-31", tz="UTC") - pd.Timedelta(days=90)
    recent = expenses.loc[expenses["incurred_at"] >= since, "amount"].astype(float).sum()
    assert stored == CashBalance(round(recent / 100) * 100.0, dt.date(2026, 10, 31))
    assert stored.amount > 0


def test_sample_b2b_invoices_are_separate_from_orders(sample: Workspace) -> None:
    invoiced = set(sample.read("invoices")["customer_id"])
    ordering = set(sample.read("orders")["customer_id"])
    assert invoiced and not invoiced & ordering
    result = project_cash(sample, 100_000.0, weeks=4, paths=100, revenue_forecast=forecast(
        {"2026-11-01": 30_000.0, "2026-12-01": 30_000.0}
    ))  # fmt: skip
    assert result.assumptions["invoices_in_orders"] is False
    assert result.flows["invoiced sales"].sum() > 0


@pytest.mark.parametrize("horizon", [{"weeks": 13}, {"months": 12}])
def test_the_sample_projection_is_coherent(sample: Workspace, horizon: dict[str, int]) -> None:
    stored = opening_balance(sample)
    result = project_cash(sample, stored.amount, as_of=stored.as_of, paths=400, **horizon)
    frame = result.frame()
    assert len(frame) == next(iter(horizon.values()))
    ordered = frame[["p5", "p10", "p50", "p90", "p95"]].to_numpy()
    assert (np.diff(ordered, axis=1) >= 0).all()
    assert frame["p_negative"].between(0, 1).all()
    assert 0 <= result.p_negative_any <= 1
    assert result.p_negative_any >= frame["p_negative"].max()
    assert not result.drivers.empty
    below = frame.index[frame["p50"] < 0]
    if len(below):
        assert result.runway_period == frame.loc[below[0], "period"]
    else:
        assert result.runway_period is None
    # The mean end balance is the opening balance plus every item's mean flow.
    total = stored.amount + result.flows.sum(axis=1).cumsum()
    assert frame["mean"].to_numpy() == pytest.approx(total.to_numpy(), abs=0.01)
    for name in ("sales", "payroll", "rent", "cogs", "open bills"):
        assert name in result.flows.columns
    data = result.to_dict()
    assert json.loads(json.dumps(data)) == data
    # Money is rounded to the cent in JSON; probabilities and ratios are not.
    assert data["p_negative_any"] == result.p_negative_any
    assert data["periods"][0]["p50"] == round(frame["p50"].iloc[0], 2)
    ratios = result.assumptions["variable_cost_ratios"]
    assert data["assumptions"]["variable_cost_ratios"] == ratios


# -- real data -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ibm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, pd.DataFrame]]:
    source = DATASETS / "ibm_accounts_receivable.csv"
    if not source.exists():
        pytest.skip(f"real data set not present: {source}")
    ws = smbgrowth.init_workspace(
        tmp_path_factory.mktemp("ibm") / "ws", currency="USD", time_zone="America/New_York"
    )
    import_files(ws, "csv", [source], ImportOptions(mapping_file=str(IBM_MAPPING)))
    frame = pd.read_csv(source, dtype={"invoiceNumber": str})
    for column in ("InvoiceDate", "DueDate", "SettledDate"):
        frame[column] = pd.to_datetime(frame[column], format="%m/%d/%Y")
    yield ws, frame
    ws.close()


def test_ibm_days_late_per_customer_match_pandas(ibm: tuple[Workspace, pd.DataFrame]) -> None:
    ws, frame = ibm
    behaviour = learn_payment_behaviour(ws)
    days_late = (frame.SettledDate - frame.DueDate).dt.days
    # The data set's own DaysLate is the same quantity floored at zero.
    assert (days_late.clip(lower=0) == frame.DaysLate).all()
    by = days_late.groupby(frame.customerID)
    got = behaviour.customers
    assert sorted(got.index) == sorted(by.groups)
    pd.testing.assert_series_equal(
        got["mean_days_late"].sort_index(), by.mean().sort_index(), check_names=False
    )
    pd.testing.assert_series_equal(
        got["median_days_late"].sort_index(), by.median().astype(float).sort_index(),
        check_names=False,
    )  # fmt: skip
    late_share = (frame.DaysLate > 0).groupby(frame.customerID).mean()
    pd.testing.assert_series_equal(
        got["share_paid_late"].sort_index(), late_share.sort_index(), check_names=False
    )
    to_pay = frame.DaysToSettle.groupby(frame.customerID).mean()
    pd.testing.assert_series_equal(
        got["mean_days_to_pay"].sort_index(), to_pay.astype(float).sort_index(), check_names=False
    )
    assert (got["uses_own"] == (by.size().sort_index() >= 3)).all()
    assert behaviour.pooled["mean_days_late"] == pytest.approx(days_late.mean())
    assert behaviour.pooled["share_paid_late"] == pytest.approx((frame.DaysLate > 0).mean())
