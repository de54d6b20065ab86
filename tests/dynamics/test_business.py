"""The business model: its structure, its properties, scenarios and explanations."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbgrowth.dynamics.business import BusinessParameters, Channel, Segment, business_model
from smbgrowth.dynamics.calibration import Calibration, Estimate, calibrate, history_from_run
from smbgrowth.dynamics.engine import simulate
from smbgrowth.dynamics.explain import binding_constraints, sensitivity
from smbgrowth.dynamics.projection import simulate_business
from smbgrowth.dynamics.scenarios import (
    Scenario,
    builtin_scenarios,
    load_scenario,
    scenario_from_mapping,
    scenario_overrides,
)
from smbgrowth.dynamics.uncertainty import Distribution
from smbgrowth.dynamics.xmile import export_xmile
from smbgrowth.errors import ConfigError

BASE = BusinessParameters(
    market_size=300_000,
    customers_ever=3000,
    organic_customers=90,
    wom_rate=0.015,
    channels={"search": Channel(4000, 40, 0.8), "social": Channel(3000, 60, 0.6)},
    segments={
        "retail": Segment(0.8, 0.06, 0.5, 45.0, initial=2000),
        "trade": Segment(0.2, 0.03, 0.9, 120.0, initial=500),
    },
    subscription_take_rate=0.1,
    subscription_churn=0.04,
    subscription_fee=30,
    initial_subscribers=200,
    tasks_per_order=0.05,
    tasks_per_subscriber=0.05,
    productivity=200,
    initial_staff=3,
    salary=4000,
    seasonality=(0.9, 0.8, 1.0, 1.0, 0.9, 0.8, 0.7, 0.8, 1.0, 1.1, 1.4, 1.6),
    fixed_costs=5000,
    cogs_share=0.4,
    initial_cash=200_000,
)


def _calibration(params: BusinessParameters, distributions: dict[str, Distribution]) -> Calibration:
    """A calibration built from known parameters and distributions (no data needed)."""
    model = business_model(params, months=12)
    history = history_from_run(simulate(model, t_end=12, dt=0.25), params, months=12)
    estimates = [
        Estimate(name, value, None, "", "data", "known", distributions.get(name))
        for name, value in model.compiled.constants.items()
    ]
    return Calibration(params, estimates, [], history)


UNCERTAIN = {
    "churn_retail": Distribution("lognormal", 0.06, 0.2),
    "cac_search": Distribution("lognormal", 40.0, 0.15),
    "order_value_retail": Distribution("lognormal", 45.0, 0.1),
    "productivity": Distribution("lognormal", 200.0, 0.2),
}


def test_the_model_is_plain_data_with_units() -> None:
    model = business_model(BASE, months=24)
    assert model.time_unit == "month"
    stocks = {s.name for s in model.stocks}
    assert {
        "potential_market",
        "leads",
        "customers_retail",
        "customers_trade",
        "subscribers",
        "experienced_staff",
        "new_staff",
        "recruits",
        "backlog",
        "service_quality",
        "automation_level",
        "cash",
    } <= stocks
    assert all(v.unit for v in (*model.stocks, *model.flows, *model.auxiliaries))
    assert all(c.unit for c in model.constants)
    # Every channel and segment has its own flows.
    flows = {f.name for f in model.flows}
    assert {"leads_from_search", "leads_from_social", "churned_retail", "acquired_trade"} <= flows


def test_customers_are_conserved() -> None:
    result = simulate(business_model(BASE, months=24), t_end=24, dt=0.25)
    for seg in ("retail", "trade"):
        level = result[f"customers_{seg}"][:, 0]
        net = result[f"acquired_{seg}"][:-1, 0] - result[f"churned_{seg}"][:-1, 0]
        np.testing.assert_allclose(np.diff(level), net * 0.25, rtol=1e-12, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    churn=st.floats(0.0, 3.0),
    productivity=st.floats(1.0, 5000.0),
    cash=st.floats(-50_000.0, 1e6),
    spend_change=st.floats(-1.0, 5.0),
    fixed=st.floats(0.0, 200_000.0),
)
def test_stocks_that_cannot_be_negative_never_are(
    churn: float, productivity: float, cash: float, spend_change: float, fixed: float
) -> None:
    params = BASE.with_values(
        productivity=productivity,
        initial_cash=cash,
        fixed_costs=fixed,
        spend_change=spend_change,
        spend_change_from=0.0,
        segments={"retail": Segment(1.0, churn, 0.5, 45.0, initial=2000)},
    )
    model = business_model(params, months=36)
    result = simulate(model, t_end=36, dt=0.25)
    for stock in model.stocks:
        values = result[stock.name]
        assert np.isfinite(values).all(), stock.name
        if stock.non_negative:
            assert values.min() >= 0, stock.name
    assert 0 <= result["service_quality"].min() <= result["service_quality"].max() <= 1


def test_halving_dt_converges() -> None:
    """Euler's error on the business model roughly halves with the step (first order)."""
    model = business_model(BASE, months=24)
    reference = simulate(model, t_end=24, dt=1 / 256, record_every=1.0)["customers"][:, 0]
    errors = []
    for dt in (0.25, 0.125, 0.0625):
        run = simulate(model, t_end=24, dt=dt, record_every=1.0)["customers"][:, 0]
        errors.append(float(np.max(np.abs(run - reference))))
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    assert all(1.6 < r < 2.4 for r in ratios), (errors, ratios)
    rk4 = simulate(model, t_end=24, dt=0.5, method="rk4", record_every=1.0)["customers"][:, 0]
    assert np.max(np.abs(rk4 - reference)) < errors[-1]


def test_same_seed_same_simulation() -> None:
    calibration = _calibration(BASE, UNCERTAIN)
    scenarios = [load_scenario(builtin_scenarios()["more_marketing"])]
    one = simulate_business(calibration, scenarios, months=12, runs=200, seed=5, explain=False)
    two = simulate_business(calibration, scenarios, months=12, runs=200, seed=5, explain=False)
    other = simulate_business(calibration, scenarios, months=12, runs=200, seed=6, explain=False)
    assert json.dumps(one.to_dict()) == json.dumps(two.to_dict())
    assert json.dumps(one.to_dict()) != json.dumps(other.to_dict())


def test_scenarios_move_the_outcomes_the_way_their_levers_do() -> None:
    calibration = _calibration(BASE, UNCERTAIN)
    shipped = builtin_scenarios()
    scenarios = [load_scenario(shipped[name]) for name in sorted(shipped)]
    result = simulate_business(calibration, scenarios, months=24, runs=300, seed=1, explain=False)
    by_name = {s.name: s for s in result.scenarios}
    base = by_name["baseline"]
    assert base.vs_baseline == {}
    marketing = by_name["More marketing"]
    # Common random numbers: more spend means more revenue in every single run.
    assert marketing.vs_baseline["p_more_revenue"] == 1.0
    assert marketing.customers_end["p50"] > base.customers_end["p50"]
    hire = by_name["Hire one person"]
    assert hire.cash_end["p50"] < base.cash_end["p50"]  # the hire costs salary
    automation = by_name["Support automation"]
    assert automation.overrides["automation_capacity_gain"] == pytest.approx(1 / 0.65 - 1)
    price = by_name["Price +5%"]
    assert price.overrides["price_change"] == pytest.approx(0.05)
    assert price.overrides["price_change_from"] == 1.0  # month 2 = model time 1
    fan = base.fan
    assert list(fan["month_index"]) == list(range(1, 25))
    assert (fan["revenue_p10"] <= fan["revenue_p50"]).all()
    assert (fan["revenue_p50"] <= fan["revenue_p90"]).all()


def test_automation_effects_move_their_targets() -> None:
    """Each customer-facing effect raises the customer base; a cost saving adds exactly to cash."""
    calibration = _calibration(BASE, {})
    effects = {
        "conversion": {"conversion_lift": 0.1},
        "retention": {"churn_reduction": 0.2},
        "referrals": {"wom_lift": 0.3},
        "back office": {"cost_saving": 1000.0},
    }
    scenarios = [
        scenario_from_mapping({"name": k, "automation": {"ramp_months": 0, **v}})
        for k, v in effects.items()
    ]
    result = simulate_business(calibration, scenarios, months=12, deterministic=True, explain=False)
    by_name = {s.name: s for s in result.scenarios}
    base = by_name["baseline"]
    for name in ("conversion", "retention", "referrals"):
        assert by_name[name].customers_end["p50"] > base.customers_end["p50"] * 1.005, name
    saving = by_name["back office"]
    assert saving.customers_end["p50"] == pytest.approx(base.customers_end["p50"], rel=1e-12)
    # Immediate adoption (ramp 0) from month 1: 12 months x 1,000 saved.
    assert saving.cash_end["p50"] - base.cash_end["p50"] == pytest.approx(12_000, rel=1e-9)


def test_deterministic_run_equals_the_central_model_run() -> None:
    calibration = _calibration(BASE, UNCERTAIN)
    result = simulate_business(calibration, months=12, deterministic=True, explain=False)
    direct = simulate(business_model(BASE, months=12), t_end=12, dt=0.25)
    revenue = direct["total_revenue"][:-1, 0].reshape(12, 4).sum(axis=1) * 0.25
    assert result.scenarios[0].revenue["p50"] == pytest.approx(revenue.sum(), rel=1e-12)
    assert result.scenarios[0].cash_end["p50"] == pytest.approx(direct["cash"][-1, 0])
    assert result.runs == 1


def test_probability_of_cash_out_and_runway() -> None:
    broke = BASE.with_values(initial_cash=20_000, fixed_costs=60_000)
    result = simulate_business(_calibration(broke, {}), months=12, deterministic=True)
    base = result.scenarios[0]
    assert base.p_cash_out == 1.0
    cash = simulate(business_model(broke, months=12), t_end=12, dt=0.25)["cash"][:, 0]
    assert base.runway_months == pytest.approx(0.25 * int(np.argmax(cash < 0)))
    assert any(p.constraint == "cash" for p in base.binding_constraints)


def _periods(params: BusinessParameters) -> list[str]:
    model = business_model(params, months=24)
    return [p.constraint for p in binding_constraints(model, {}, months=24)]


def test_capacity_binds_when_the_team_is_too_small() -> None:
    periods = binding_constraints(
        business_model(BASE.with_values(productivity=20), months=24), {}, months=24
    )
    assert periods[0].constraint == "capacity"
    assert periods[0].from_month == 1
    assert "utilisation" in periods[0].sentence and "service quality" in periods[0].sentence
    assert periods[0].evidence["utilisation"] > 1


def test_market_binds_when_it_is_nearly_used_up() -> None:
    small = BASE.with_values(market_size=4000, productivity=5000)
    assert "market" in _periods(small)


def test_demand_binds_when_no_limit_does() -> None:
    roomy = BASE.with_values(productivity=5000, market_size=1e9, initial_cash=1e8)
    assert _periods(roomy) == ["demand"]


def test_sensitivity_ranks_by_effect_and_is_exact_for_a_proportional_parameter() -> None:
    params = BASE.with_values(
        segments={"retail": Segment(1.0, 0.06, 0.5, 45.0, initial=2000)},
        subscription_take_rate=0.0,
        initial_subscribers=0.0,
    )
    model = business_model(params, months=12)
    dists = {
        "order_value_retail": Distribution("uniform", 40.0, 50.0),
        "cost_per_hire": Distribution("uniform", 1000.0, 5000.0),
    }
    bars = sensitivity(model, dists, {}, months=12)["revenue_total"]
    assert [b.name for b in bars] == ["order_value_retail", "cost_per_hire"]
    top = bars[0]
    # Revenue is proportional to order value: the outcomes scale with the p10 and p90.
    assert top.outcome_at_high / top.outcome_at_low == pytest.approx(top.high / top.low, rel=1e-9)
    assert top.low == pytest.approx(41.0, abs=0.1) and top.high == pytest.approx(49.0, abs=0.1)
    assert bars[1].swing == pytest.approx(0.0, abs=1e-6)


def test_projected_stage_uses_the_lifecycle_classifier() -> None:
    result = simulate_business(_calibration(BASE, {}), months=24, deterministic=True)
    stage = result.scenarios[0].stage
    assert stage["stage"] in {"startup", "growth", "maturity", "renewal", "decline"}
    assert stage["evidence"]


def test_scenario_files_validate_with_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nmarketing:\n  chnage: 10%\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    message = str(err.value)
    assert "\n" not in message and "marketing.chnage" in message and "from_month" in message
    path.write_text("price:\n  change: lots\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"price\.change"):
        load_scenario(path)
    path.write_text("marketing: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line"):
        load_scenario(path)
    with pytest.raises(ConfigError, match="no paid channel 'tiktok'"):
        scenario_overrides(
            scenario_from_mapping({"marketing": {"channels": {"tiktok": "10%"}}}), BASE
        )
    both = Scenario.model_validate(
        {"automation": {"capacity_gain": 0.2, "time_saved_per_task": 0.2}}
    )
    with pytest.raises(ConfigError, match="not both"):
        scenario_overrides(both, BASE)
    with pytest.raises(ConfigError, match="not a parameter"):
        simulate_business(
            _calibration(BASE, {}),
            [Scenario(name="odd", parameters={"warp_speed": 9})],
            deterministic=True,
        )


def test_percentages_and_fractions_are_the_same() -> None:
    a = scenario_from_mapping({"marketing": {"change": "+20%", "from_month": 3}})
    b = scenario_from_mapping({"marketing": {"change": 0.2, "from_month": 3}})
    assert scenario_overrides(a, BASE) == scenario_overrides(b, BASE)
    assert scenario_overrides(a, BASE)["spend_change_from"] == 2.0


def test_shipped_scenarios_load() -> None:
    shipped = builtin_scenarios()
    assert {"more_marketing", "hire_support", "price_rise", "support_automation"} <= set(shipped)
    for path in shipped.values():
        assert load_scenario(path).name


def test_calibrated_business_model_runs_identically_in_pysd(tmp_path: Path) -> None:
    """The exported XMILE of a calibrated business runs in PySD like in smbgrowth."""
    pysd = pytest.importorskip("pysd")
    _, history = _history()
    params = calibrate(history, market_size=(300_000, 1000), cash=2e5).params.with_values(
        automation_start=6.0,
        automation_capacity_gain=0.3,
        automation_error_reduction=0.5,
        automation_setup_cost=5000.0,
        automation_setup_months=2.0,
        automation_monthly_cost=200.0,
        price_change=0.05,
        price_change_from=3.0,
    )
    model = business_model(params, months=24)
    ours = simulate(model, t_end=24, dt=0.25)
    assert all(count == 0 for count in ours.clipped.values())
    path = tmp_path / "business.xmile"
    export_xmile(model, path, t_end=24, dt=0.25)
    names = [*ours.stocks, *ours.flows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = pysd.read_xmile(str(path)).run(return_columns=names, return_timestamps=ours.time)
    worst = 0.0
    for name in names:
        mine = ours[name][:, 0]
        other = theirs[name].to_numpy(dtype=float)
        scale = np.maximum(np.abs(mine), 1e-9)
        worst = max(worst, float(np.max(np.abs(other - mine) / scale)))
    assert worst <= 1e-6


def _history() -> tuple[object, object]:
    rng = np.random.default_rng(11)
    spend = {n: c.spend * np.exp(rng.normal(0, 0.3, 24)) for n, c in BASE.channels.items()}
    result = simulate(business_model(BASE, months=24, spend_history=spend), t_end=24, dt=0.25)
    return result, history_from_run(result, BASE, months=24, noise=rng)
