"""Lifecycle stage from synthetic truth, the estimator contract, and sample workspaces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data import generate_sample_business
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ModelError, NotFittedError
from smbgrowth.models.lifecycle import LifecycleModel, StageJudgement, judge_stage


def _labels(n: int) -> list[str]:
    return [str(p) for p in pd.period_range("2022-01", periods=n, freq="M")]


def _logistic_business(share_at_end: float, seed: int, n: int = 36) -> tuple[pd.Series, pd.Series]:
    """Revenue and cumulative customers following one logistic curve, ending at a known share."""
    rng = np.random.default_rng(seed)
    rate = 0.15
    t = np.arange(n)
    midpoint = (n - 1) + np.log(1 / share_at_end - 1) / rate
    base = 1000 / (1 + np.exp(-rate * (t - midpoint)))
    revenue = pd.Series(base * 50 * (1 + rng.normal(0, 0.03, n)), _labels(n))
    customers = pd.Series(base * (1 + rng.normal(0, 0.01, n)), _labels(n)).cummax()
    return revenue, customers


@pytest.mark.parametrize(("share", "stage"), [(0.2, "growth"), (0.5, "growth"), (0.95, "maturity")])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_logistic_truth_gives_the_expected_stage(share: float, stage: str, seed: int) -> None:
    judgement = LifecycleModel().fit(*_logistic_business(share, seed)).explain()
    assert judgement.stage == stage
    assert judgement.fitted["share_of_ceiling"] == pytest.approx(share, abs=0.1)
    assert judgement.confidence >= 0.5


def test_declining_revenue_is_decline() -> None:
    rng = np.random.default_rng(0)
    level = np.r_[np.linspace(1, 1.5, 24), 1.5 * 0.96 ** np.arange(1, 13)]
    revenue = pd.Series(5000 * level * (1 + rng.normal(0, 0.02, 36)), _labels(36))
    judgement = LifecycleModel().fit(revenue).explain()
    assert judgement.stage == "decline"
    assert any("fallen for two quarters" in line for line in judgement.evidence)


def test_dip_then_reacceleration_is_renewal() -> None:
    rng = np.random.default_rng(0)
    level = np.r_[
        np.linspace(1, 2, 18), 2 * 0.95 ** np.arange(1, 9), 2 * 0.95**8 * 1.06 ** np.arange(1, 11)
    ]
    revenue = pd.Series(5000 * level * (1 + rng.normal(0, 0.02, 36)), _labels(36))
    judgement = LifecycleModel().fit(revenue).explain()
    assert judgement.stage == "renewal"
    assert any("below its previous peak" in line for line in judgement.evidence)


def test_four_months_is_a_low_confidence_startup() -> None:
    revenue = pd.Series([1000.0, 1300.0, 900.0, 1600.0], _labels(4))
    judgement = LifecycleModel().fit(revenue).explain()
    assert judgement.stage == "startup"
    assert judgement.confidence <= 0.3
    assert judgement.months_of_history == 4
    assert any("Only 4 months of data" in line for line in judgement.evidence)


def test_evidence_carries_numbers() -> None:
    judgement = LifecycleModel().fit(*_logistic_business(0.5, 0)).explain()
    assert all(any(ch.isdigit() for ch in line) for line in judgement.evidence[:1])
    assert any("% of its ceiling" in line for line in judgement.evidence)


def test_contract_not_fitted_fit_returns_self_and_is_deterministic() -> None:
    model = LifecycleModel()
    with pytest.raises(NotFittedError):
        model.explain()
    with pytest.raises(NotFittedError):
        model.predict()
    revenue, customers = _logistic_business(0.5, 3)
    assert model.fit(revenue, customers) is model
    again = LifecycleModel().fit(revenue, customers)
    assert model.explain() == again.explain()
    np.testing.assert_array_equal(model.predict(6), again.predict(6))
    assert len(model.predict(6)) == 36 + 6


def test_fit_needs_data_and_known_curves() -> None:
    with pytest.raises(ModelError):
        LifecycleModel().fit()
    with pytest.raises(ModelError):
        LifecycleModel(curves=("weibull",)).fit(pd.Series([1.0] * 8, _labels(8)))


def test_judgement_to_dict_is_plain_data() -> None:
    data = LifecycleModel().fit(*_logistic_business(0.5, 0)).explain().to_dict()
    assert set(data) == {"stage", "confidence", "evidence", "months_of_history", "fitted"}
    assert isinstance(data["evidence"], list)


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    path: Path = tmp_path_factory.mktemp("lifecycle") / "ws"
    ws = smbgrowth.init_workspace(path, currency="USD", time_zone="America/New_York")
    generate_sample_business(ws, customers=3000, seed=3)
    try:
        yield ws
    finally:
        ws.close()


def test_judge_stage_on_the_demo_business(demo_ws: Workspace) -> None:
    judgement = judge_stage(demo_ws)
    assert isinstance(judgement, StageJudgement)
    assert judgement.stage in {"startup", "growth"}
    assert judgement.months_of_history == 36
    assert judgement.evidence


def test_judge_stage_on_a_six_month_old_business(tmp_path: Path) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency="USD", time_zone="America/New_York")
    try:
        generate_sample_business(ws, customers=300, years=1.0, seed=5)
        cutoff = "2026-05-01 04:00:00"  # 2026-05-01 00:00 in New York, in UTC
        for table, column in (
            ("order_lines", None),
            ("orders", "ordered_at"),
            ("customers", "created_at"),
        ):
            if column is None:
                ws.duck.execute(
                    "DELETE FROM order_lines WHERE order_id IN "
                    f"(SELECT order_id FROM orders WHERE ordered_at < TIMESTAMP '{cutoff}')"
                )
            else:
                ws.duck.execute(f"DELETE FROM {table} WHERE {column} < TIMESTAMP '{cutoff}'")
        judgement = judge_stage(ws)
    finally:
        ws.close()
    assert judgement.months_of_history == 6
    assert judgement.stage == "startup"
    assert 0 < judgement.confidence < 0.9
