"""Customer value from a workspace: every model fits, predictions, validation, churn risk."""

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
from smbgrowth.models.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
)
from smbgrowth.models.clv.workflow import (
    MODEL_NAMES,
    churn_risk,
    discrete_summary,
    fit_model,
    predict_customers,
    validate_model,
)

CLASSES = {
    "bgnbd": BetaGeoModel,
    "mbgnbd": ModifiedBetaGeoModel,
    "pareto": ParetoNBDModel,
    "bgbb": BetaGeoBetaBinomModel,
    "gammagamma": GammaGammaModel,
    "sbg": ShiftedBetaGeoModel,
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = smbgrowth.init_workspace(tmp_path_factory.mktemp("clv") / "ws")
    generate_sample_business(ws, customers=3000, seed=3)
    yield ws
    ws.close()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_fits_the_workspace_and_follows_the_contract(
    shop: Workspace, name: str
) -> None:
    cls = CLASSES[name]
    with pytest.raises(NotFittedError):
        cls().to_dict()
    model = fit_model(shop, name)
    assert isinstance(model, cls)
    data = model.to_dict()
    assert set(data) >= {"model", "params", "standard_errors", "log_likelihood", "n_customers"}
    assert data["model"] == name
    assert tuple(data["params"]) == cls.param_names
    assert all(v > 0 and np.isfinite(v) for v in data["params"].values())
    assert all(np.isfinite(v) and v > 0 for v in data["standard_errors"].values())
    again = fit_model(shop, name)
    # Same data, same fit (to float rounding of DuckDB's parallel sums).
    assert again.params_ == pytest.approx(model.params_, rel=1e-9)


def test_sample_truth_is_recovered_from_the_workspace(shop: Workspace) -> None:
    truth = shop.sample_truth()
    assert truth is not None
    fitted = fit_model(shop, "bgnbd")
    for k in ("r", "alpha", "a", "b"):
        assert abs(fitted.params_[k] - truth["bgnbd"][k]) < 3 * fitted.standard_errors_[k], k
    sbg = fit_model(shop, "sbg")
    for k in ("alpha", "beta"):
        assert abs(sbg.params_[k] - truth["sbg"][k]) < 3 * sbg.standard_errors_[k], k


def test_predictions_are_ordered_bounded_and_respond_to_horizon_and_discount(
    shop: Workspace,
) -> None:
    year = predict_customers(shop, horizon_months=12, discount_rate=0.01)
    assert list(year.columns) == [
        "frequency",
        "p_alive",
        "expected_purchases",
        "expected_spend",
        "clv",
    ]
    assert year.clv.is_monotonic_decreasing
    assert year.p_alive.between(0, 1).all()
    assert (year.expected_purchases >= 0).all() and (year.expected_spend > 0).all()
    two_years = predict_customers(shop, horizon_months=24, discount_rate=0.01)
    assert (two_years.clv.reindex(year.index) >= year.clv - 1e-9).all()
    undiscounted = predict_customers(shop, horizon_months=12, discount_rate=0.0)
    assert (undiscounted.clv.reindex(year.index) >= year.clv - 1e-9).all()
    with pytest.raises(ModelError):
        predict_customers(shop, horizon_months=0)


def test_validation_compares_holdout_by_frequency_bucket(shop: Workspace) -> None:
    result = validate_model(shop)
    assert result.actual > 0
    assert result.by_frequency.predicted.sum() == pytest.approx(result.predicted)
    assert result.by_frequency.actual.sum() == pytest.approx(result.actual)
    # The most frequent calibration buyers are expected to buy most in the holdout, and do.
    per_customer = result.by_frequency.predicted / result.by_frequency.customers
    actual = result.by_frequency.actual / result.by_frequency.customers
    assert per_customer.idxmax() == "7+"
    assert actual.idxmax() == "7+"
    assert result.error == pytest.approx(result.predicted / result.actual - 1)
    data = result.to_dict()
    assert data["by_frequency"][0]["frequency"] == "0"


def test_churn_risk_lists_falling_customers_by_value_at_risk(shop: Workspace) -> None:
    risk = churn_risk(shop, top=25)
    assert 0 < len(risk) <= 25
    assert (risk.p_alive < risk.p_alive_before).all()
    assert risk.value_at_risk.is_monotonic_decreasing
    np.testing.assert_allclose(risk.value_at_risk, (1 - risk.p_alive) * risk.value_if_active)
    assert (risk.frequency >= 1).all()


def test_discrete_summary_counts_repeat_periods(tmp_path: Path) -> None:
    with smbgrowth.init_workspace(tmp_path / "ws") as ws:
        days = ["2024-01-01", "2024-01-03", "2024-01-09", "2024-01-30", "2024-01-02"]
        who = ["a", "a", "a", "a", "b"]
        ws.append(
            "orders",
            pd.DataFrame(
                {
                    "order_id": [f"o{i}" for i in range(5)],
                    "customer_id": who,
                    "ordered_at": [pd.Timestamp(d + " 12:00", tz="UTC") for d in days],
                    "status": "completed",
                    "total": 10.0,
                }
            ),
            "test",
        )
        summary = discrete_summary(ws, time_unit="week")
    # a: weeks 0 (Jan 1, 3), 1 (Jan 9) and 4 (Jan 30) → 2 repeat weeks, last 4, seen 4 weeks.
    assert summary.loc["a"].to_dict() == {"frequency": 2, "recency": 4, "n_periods": 4}
    # b: one purchase on Jan 2; 28 days to Jan 30 → 4 weeks seen, no repeats.
    assert summary.loc["b"].to_dict() == {"frequency": 0, "recency": 0, "n_periods": 4}


DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


@pytest.mark.skipif(
    not (DATASETS / "cdnow_sample.csv").exists(), reason=f"CDNOW data not present at {DATASETS}"
)
def test_published_cdnow_estimates_through_the_importer(tmp_path: Path) -> None:
    from datetime import date

    from smbgrowth.data.importer import import_files
    from smbgrowth.data.plan import ImportOptions
    from smbgrowth.models.clv import rfm_summary

    with smbgrowth.init_workspace(tmp_path / "ws", time_zone="UTC") as ws:
        import_files(ws, "csv", [DATASETS / "cdnow_sample.csv"], ImportOptions(table="orders"))
        summary = rfm_summary(ws, time_unit="week", calibration_end=date(1997, 9, 30))
    assert len(summary) == 2357
    published = {
        # Fader, Hardie & Lee (2005), Schmittlein et al. as fitted in the same paper,
        # and the Gamma-Gamma spend model on the 946 repeat buyers.
        "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
        "pareto": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
        "gammagamma": {"p": 6.25, "q": 3.74, "gamma": 15.44},
    }
    rfm = summary[["frequency", "recency", "T"]]
    repeat = summary[summary.frequency > 0]
    fits = {
        "bgnbd": BetaGeoModel().fit(rfm),
        "pareto": ParetoNBDModel().fit(rfm),
        "gammagamma": GammaGammaModel().fit(repeat.frequency, repeat.monetary_value),
    }
    assert len(repeat) == 946
    for name, params in published.items():
        for k, v in params.items():
            assert fits[name].params_[k] == pytest.approx(v, rel=0.005), (name, k)
