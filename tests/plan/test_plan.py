"""The automation plan on constructed businesses whose bottleneck is known."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from smbgrowth.automation.playbooks import list_playbooks
from smbgrowth.dynamics.business import Segment
from smbgrowth.dynamics.uncertainty import Distribution
from smbgrowth.errors import ConfigError
from smbgrowth.metrics.registry import METRICS
from smbgrowth.plan.catalogue import Catalogue, Opportunity, load_catalogue
from smbgrowth.plan.inventory import Process
from smbgrowth.plan.planner import build_plan
from smbgrowth.plan.roadmap import build_roadmap
from smbgrowth.plan.roi import evaluate_opportunities
from tests.dynamics.test_business import BASE as BUSINESS
from tests.dynamics.test_business import _calibration

# The test business of the growth-model tests, with a flat season and plenty of cash.
BASE = BUSINESS.with_values(seasonality=(1.0,) * 12, initial_cash=500_000)
UNCERTAIN = {
    "churn_retail": Distribution("lognormal", 0.06, 0.2),
    "cac_search": Distribution("lognormal", 40.0, 0.15),
}


def _process(name: str, department: str, runs: float, minutes: float, hourly: float) -> Process:
    return Process(
        process_id=name[:3].upper(),
        name=name,
        department=department,
        runs_per_month=runs,
        minutes_per_run=minutes,
        error_rate=0.02,
        error_cost=20.0,
        hourly_cost=hourly,
        touches_customers=department == "support",
        origin="survey",
        basis="constructed",
    )


INVENTORY = [
    _process("Customer e-mail replies", "support", 300, 10, 28),
    _process("Order fulfilment (pick, pack, label)", "operations", 800, 4, 24),
    _process("Invoicing wholesale accounts", "finance", 40, 12, 38),
    _process("Bookkeeping and bank reconciliation", "finance", 20, 45, 45),
    _process("Social media posting", "marketing", 20, 30, 30),
    _process("Inventory reorder", "operations", 20, 25, 32),
]


def test_support_bound_business_ranks_the_support_automation_first() -> None:
    # Too few hands and no hiring: the workload is nearly twice what the team can do.
    bound = BASE.with_values(productivity=35, hire_to_workload=0.0)
    plan = build_plan(_calibration(bound, UNCERTAIN), INVENTORY, load_catalogue(), runs=200)
    assert plan.binding[0].constraint == "capacity"
    assert plan.needs["operations"].binding > 0.9
    first = plan.ranked[0]
    assert first.id == "chatbot_deflection"
    assert first.roi.model_effects["capacity_gain"] > 0.2
    assert first.roi.p_npv_positive > 0.9
    assert "support and operations capacity" in first.explanation
    assert "Ranks 1 of" in first.explanation
    # The roadmap pilots it first, with its holdout.
    item = plan.roadmap.items[0]
    assert item.id == "chatbot_deflection"
    assert item.phases[0].name == "pilot" and item.phases[0].holdout == pytest.approx(0.2)
    assert item.phases[1].name == "scale" and item.phases[1].start_month == 3


def test_a_driver_without_pain_ranks_its_automations_low() -> None:
    # Ample capacity, customers who hardly ever leave, plenty of cash.
    calm = BASE.with_values(
        productivity=5000,
        initial_staff=4,
        hire_to_workload=0.0,
        segments={
            "retail": Segment(0.8, 0.002, 0.5, 45.0, initial=2000),
            "trade": Segment(0.2, 0.001, 0.9, 120.0, initial=500),
        },
        subscription_churn=0.001,
    )
    plan = build_plan(_calibration(calm, {}), INVENTORY, load_catalogue(), deterministic=True)
    assert all(b.constraint != "capacity" for b in plan.binding)
    assert plan.needs["operations"].binding == 0
    assert plan.needs["customers"].score < 0.1
    ranks = {r.id: r.rank for r in plan.ranked}
    half = len(ranks) / 2
    for retention in ("win_back", "vip_thanks", "welcome"):
        assert ranks[retention] > half, retention
    # Support time saved buys nothing in the model when support is idle: only the
    # errors it avoids are money, so the chatbot falls well behind the back office.
    assert ranks["chatbot_deflection"] > ranks["bookkeeping_import"]
    chatbot = plan.ranked[ranks["chatbot_deflection"] - 1]
    assert "need is low" in chatbot.explanation or chatbot.roi.npv["p50"] <= 0


def _single(**fields: object) -> Catalogue:
    base: dict[str, object] = {
        "id": "books",
        "name": "Bank feeds",
        "driver": "finance",
        "processes": {"keywords": ["bookkeeping"]},
        "effects": {"time_saved": 0.5},
        "setup_cost": 1000,
        "monthly_cost": 100,
        "setup_months": 1,
        "ramp_months": 0,
    }
    base.update(fields)
    return Catalogue([Opportunity.model_validate(base)], ["test"])


def test_zero_uncertainty_roi_equals_the_closed_form_payback_and_npv() -> None:
    # Saving: 0.5 x (20 runs x 60 min = 20 h) x 50/h = 500 a month; errors cost nothing.
    process = Process("B1", "Bookkeeping", "finance", 20, 60, 0.0, 0.0, 50.0, False, "survey", "")
    cat = _single()
    result = evaluate_opportunities(
        _calibration(BASE, UNCERTAIN),
        list(cat),
        [process],
        runs=40,
        months=24,
        discount_rate=0.12,
        parameter_uncertainty=False,
    )
    roi = result.get("books")
    setup, net = 1000.0, 500.0 - 100.0
    payback = math.ceil(setup / net)  # 2.5 -> month 3
    assert roi.payback_month == {"p10": payback, "p50": payback, "p90": payback}
    flows = np.full(24, net)
    flows[0] -= setup
    npv = float((flows / 1.12 ** (np.arange(1, 25) / 12)).sum())
    for q in ("p10", "p50", "p90"):
        assert roi.npv[q] == pytest.approx(npv, rel=1e-9)
        assert roi.net_benefit[q] == pytest.approx(24 * net - setup, rel=1e-9)
        assert roi.monthly_net_benefit[q] == pytest.approx(net, rel=1e-9)
    assert roi.hours_saved["p50"] == pytest.approx(10.0)
    assert roi.p_payback_12 == 1.0 and roi.p_npv_positive == 1.0
    # Customers and revenue are untouched by a back-office saving.
    assert roi.customers_change["p50"] == pytest.approx(0.0, abs=1e-6)
    # Set-up spread over 2 months and paid back later.
    slow = evaluate_opportunities(
        _calibration(BASE, {}),
        list(_single(setup_cost=3000, setup_months=2)),
        [process],
        deterministic=True,
    ).get("books")
    # cumulative: m x 400 - 3000 until month 2, then 400m - 3000 -> positive at month 8.
    assert slow.payback_month["p50"] == math.ceil(3000 / 400) + (3000 % 400 == 0)


def test_effect_ranges_spread_the_roi_and_never_pay_back_is_reported() -> None:
    process = Process("B1", "Bookkeeping", "finance", 20, 60, 0.0, 0.0, 50.0, False, "survey", "")
    cat = _single(effects={"time_saved": [0.1, 0.4, 0.8]})
    roi = evaluate_opportunities(_calibration(BASE, {}), list(cat), [process], runs=400).get(
        "books"
    )
    assert roi.npv["p10"] < roi.npv["p50"] < roi.npv["p90"]
    assert roi.hours_saved["p10"] < 6 < roi.hours_saved["p90"]
    never = evaluate_opportunities(
        _calibration(BASE, {}),
        list(_single(monthly_cost=900)),
        [process],
        deterministic=True,
    ).get("books")
    assert never.payback_month["p50"] is None and never.p_payback_12 == 0.0


def test_shipped_catalogue_is_consistent() -> None:
    cat = load_catalogue()
    assert len(cat) >= 12
    playbooks = {p["name"] for p in list_playbooks()}
    for o in cat:
        for metric in o.measure:
            assert metric in METRICS, (o.id, metric)
        if o.playbook:
            assert o.playbook in playbooks, o.id
        assert o.effects.named(), o.id
    assert {o.driver for o in cat} == {
        "demand",
        "sales & marketing",
        "operations",
        "customers",
        "finance",
    }


def test_workspace_catalogue_overrides_fields_and_adds_entries(tmp_path: Path) -> None:
    (tmp_path / "catalogue.yaml").write_text(
        "win_back:\n  effects: {churn_reduction: [5%, 10%, 20%]}\n"
        "sms_reminders:\n  name: SMS appointment reminders\n  driver: operations\n"
        "  effects: {time_saved: 0.2}\n"
        "vip_thanks: null\n",
        encoding="utf-8",
    )
    cat = load_catalogue(tmp_path)
    win = cat["win_back"]
    assert win.effects.churn_reduction is not None
    assert win.effects.churn_reduction.to_list() == [0.05, 0.1, 0.2]
    assert win.playbook == "winback"  # untouched fields stay
    assert cat["sms_reminders"].effects.time_saved is not None
    assert "vip_thanks" not in {o.id for o in cat}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("win_back:\n  effects: {churn_reduction: [0.2, 0.1, 0.3]}\n", "low <= likely <= high"),
        ("win_back:\n  effect: {churn_reduction: 0.1}\n", "unknown field effect"),
        ("win_back:\n  effects: {churn_reduction: 2}\n", "between 0 and 1"),
        ("new_one:\n  name: X\n", "driver"),
        ("win_back:\n  depends_on: [nothing]\n", "depends on 'nothing'"),
        ("win_back: [1, 2\n", "not valid YAML at line"),
    ],
)
def test_catalogue_errors_are_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_catalogue(None, path)
    message = str(err.value)
    assert expected in message and "\n" not in message
    assert "mine.yaml" in message or "depends" in message


def test_roadmap_respects_dependencies_and_parallel_pilots() -> None:
    process = Process("B1", "Bookkeeping", "finance", 20, 60, 0.0, 0.0, 50.0, False, "survey", "")
    entries = [
        {"id": "a", "name": "A", "effects": {"time_saved": 0.6}, "monthly_cost": 10},
        {"id": "b", "name": "B", "effects": {"time_saved": 0.5}, "monthly_cost": 10},
        {"id": "c", "name": "C", "effects": {"time_saved": 0.4}, "depends_on": ["d"]},
        {"id": "d", "name": "D", "effects": {"time_saved": 0.01}, "monthly_cost": 1},
        {"id": "e", "name": "E", "effects": {"time_saved": 0.3}, "monthly_cost": 5000},
    ]
    cat = Catalogue(
        [
            Opportunity.model_validate(
                {
                    "driver": "finance",
                    "processes": {"keywords": ["bookkeeping"]},
                    "setup_cost": 100,
                    "ramp_months": 0,
                    "pilot": {"months": 2, "holdout": 0},
                    **e,
                }
            )
            for e in entries
        ],
        ["test"],
    )
    plan = build_plan(_calibration(BASE, {}), [process], cat, deterministic=True)
    roadmap = build_roadmap(plan.ranked, months=24, max_items=4, parallel_pilots=2)
    order = [i.id for i in roadmap.items]
    assert order.index("d") < order.index("c")  # the dependency comes first
    assert "e" not in order  # costs more than it saves
    assert {x["id"] for x in roadmap.left_out} >= {"e"}
    starts = {i.id: i.phases[0].start_month for i in roadmap.items}
    ends = {i.id: i.phases[0].end_month for i in roadmap.items}
    assert starts["c"] > ends["d"]
    for month in range(1, 25):
        running = sum(1 for i in roadmap.items if starts[i.id] <= month <= (ends[i.id] or 0))
        assert running <= 2
    back_office = roadmap.items[0].phases[0]
    assert back_office.holdout == 0 and any("hours" in m for m in back_office.measure)
