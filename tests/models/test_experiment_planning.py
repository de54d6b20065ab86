"""Test planning: sample sizes, durations and minimum detectable effects by hand."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from smbgrowth.errors import ModelError
from smbgrowth.models.experiments import minimum_detectable_effect, plan_sample_size, power

Z_A = 1.959963984540054
Z_B = 0.8416212335729143


def test_conversion_sample_size_is_fleiss_formula() -> None:
    # 10 % baseline, +10 % relative: 14,751 per variant (Evan Miller's calculator agrees).
    plan = plan_sample_size(0.10, 0.10)
    root = Z_A * math.sqrt(2 * 0.105 * 0.895) + Z_B * math.sqrt(0.1 * 0.9 + 0.11 * 0.89)
    assert plan.units_per_variant == math.ceil(root**2 / 0.01**2) == 14751
    assert plan.total_units == 2 * 14751
    assert plan.target == pytest.approx(0.11)
    assert plan.mde_absolute == pytest.approx(0.01)


def test_absolute_mde_and_duration() -> None:
    plan = plan_sample_size(0.031, 0.003, relative=False, daily_units=2500)
    rel = plan_sample_size(0.031, 0.003 / 0.031, daily_units=2500)
    assert plan.units_per_variant == rel.units_per_variant
    assert plan.days == math.ceil(plan.total_units / 2500)
    assert plan.weeks == math.ceil(plan.days / 7)


def test_more_variants_split_alpha() -> None:
    three = plan_sample_size(0.10, 0.10, variants=3)
    p1, p2 = 0.1, 0.11
    z = sps.norm.ppf(1 - 0.025 / 2)
    root = z * math.sqrt(2 * 0.105 * 0.895) + Z_B * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    assert three.units_per_variant == math.ceil(root**2 / 0.01**2)
    assert three.total_units == 3 * three.units_per_variant


def test_mean_sample_size_is_the_normal_formula() -> None:
    plan = plan_sample_size(50.0, 0.05, sd=40.0)
    n = 2 * 40.0**2 * (Z_A + Z_B) ** 2 / 2.5**2
    assert plan.units_per_variant == math.ceil(n) == 4019


def test_mde_inverts_the_sample_size() -> None:
    plan = plan_sample_size(0.10, 0.10)
    mde = minimum_detectable_effect(0.10, plan.units_per_variant)
    assert mde.mde_relative == pytest.approx(0.10, rel=2e-4)
    assert power(0.10, mde.mde_absolute, plan.units_per_variant) == pytest.approx(0.8)
    m = minimum_detectable_effect(50.0, 4019, sd=40.0)
    assert m.mde_absolute == pytest.approx(2.5, rel=2e-4)


def test_bigger_tests_detect_smaller_changes() -> None:
    small = minimum_detectable_effect(0.05, 5000).mde_relative
    big = minimum_detectable_effect(0.05, 20000).mde_relative
    assert big == pytest.approx(small / 2, rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"baseline": 1.5, "mde": 0.1}, "not a rate between 0 and 1"),
        ({"baseline": 0.9, "mde": 0.2}, "outside 0–1"),
        ({"baseline": 0.1, "mde": 0.0}, "non-zero"),
        ({"baseline": 0.1, "mde": 0.1, "power": 1.2}, "power 1.2"),
        ({"baseline": 0.1, "mde": 0.1, "variants": 1}, "at least 2 variants"),
        ({"baseline": 0.1, "mde": 0.1, "daily_units": 0}, "daily units"),
    ],
)
def test_impossible_plans_are_one_clear_error(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        plan_sample_size(**kwargs)  # type: ignore[arg-type]
