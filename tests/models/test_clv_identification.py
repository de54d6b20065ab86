"""Identifiability: a fit the data cannot pin down says so, and so does what is built on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data.importer import import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.workspace import Workspace
from smbgrowth.models.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    fit_mle,
)
from smbgrowth.models.clv.base import FloatArray
from smbgrowth.models.clv.workflow import (
    churn_risk,
    fit_model,
    identification,
    predict_customers,
    validate_model,
)

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
CAL_END = pd.Timestamp("1997-09-30")


def one_year_few_repeats(n: int = 2000, share: float = 0.02, seed: int = 1) -> pd.DataFrame:
    """(frequency, recency, T) in weeks: n customers met within a year, ``share`` bought again."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(1, 52, n)
    repeat = rng.random(n) < share
    frequency = repeat.astype(float)
    recency = np.where(repeat, rng.uniform(0, age), 0.0)
    return pd.DataFrame({"frequency": frequency, "recency": recency, "T": age})


@pytest.mark.parametrize("model", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_a_clv_fit_on_one_year_with_almost_no_repeat_purchases_is_not_identified(
    model: type[BetaGeoModel] | type[ModifiedBetaGeoModel] | type[ParetoNBDModel],
) -> None:
    data = one_year_few_repeats()
    fitted = model().fit(data)
    assert fitted.identified_ is False
    issue = fitted.identification_issue_
    assert issue is not None and issue.startswith("the history")
    if model is BetaGeoModel:
        # The shop's case: the dropout parameters run off and nobody is told.
        assert "how fast customers drop out" in issue
        assert "almost no customer bought twice" in issue
        assert max(fitted.params_["a"], fitted.params_["b"]) > 1e4
    shown = fitted.to_dict()
    assert shown["identified"] is False and shown["identification_issue"] == issue


def test_a_flat_likelihood_is_not_identified_even_when_the_optimiser_converges() -> None:
    def only_the_sum_matters(z: FloatArray) -> tuple[float, FloatArray]:
        d = z[0] + z[1] - 1.0
        return d * d, np.array([2 * d, 2 * d])

    result = fit_mle(only_the_sum_matters, (1.0, 1.0), ("u", "v"), what="test")
    assert not result.identified
    assert result.identification_issue is not None
    assert "very different values" in result.identification_issue


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """CDNOW 1/10 sample: calibration summary in weeks to 1997-09-30, with mean repeat spend."""
    if not (DATASETS / "cdnow_sample.csv").exists():
        pytest.skip(f"the shared CDNOW data are not at {DATASETS}")
    tx = pd.read_csv(DATASETS / "cdnow_sample.csv", dtype={"customer_id": str, "date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    days = tx.groupby(["customer_id", "date"], as_index=False)["dollar_value"].sum()
    first = days.groupby("customer_id")["date"].min()
    cal = days[days["date"] <= CAL_END]
    grouped = cal.groupby("customer_id")["date"]
    repeat = cal[cal.groupby("customer_id").cumcount() > 0]
    spend = repeat.groupby("customer_id")["dollar_value"].mean()
    return pd.DataFrame(
        {
            "frequency": (grouped.count() - 1).astype(float),
            "recency": (grouped.max() - first).dt.days / 7.0,
            "T": (CAL_END - first).dt.days / 7.0,
            "monetary_value": spend,
        }
    ).fillna({"monetary_value": 0.0})


@pytest.mark.parametrize("model", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel])
def test_the_cdnow_sample_stays_identified(
    cdnow: pd.DataFrame,
    model: type[BetaGeoModel] | type[ModifiedBetaGeoModel] | type[ParetoNBDModel],
) -> None:
    fitted = model().fit(cdnow[["frequency", "recency", "T"]])
    assert fitted.identified_ is True
    assert fitted.identification_issue_ is None
    assert all(np.isfinite(v) for v in fitted.standard_errors_.values())


def test_the_cdnow_spend_model_stays_identified(cdnow: pd.DataFrame) -> None:
    repeat = cdnow[cdnow.frequency > 0]
    fitted = GammaGammaModel().fit(repeat.frequency, repeat.monetary_value)
    assert fitted.identified_ and fitted.to_dict()["identification_issue"] is None


@pytest.fixture(scope="module")
def thin_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A workspace with one year of orders: 2,000 customers, about 2 % bought a second time."""
    folder = tmp_path_factory.mktemp("thin")
    rng = np.random.default_rng(7)
    start = date(2024, 1, 1)
    rows = ["customer_id,date,amount"]
    for i in range(2000):
        first = int(rng.integers(0, 358))
        rows.append(f"c{i},{start + timedelta(days=first)},{rng.uniform(20, 80):.2f}")
        if rng.random() < 0.02:
            again = first + int(rng.integers(1, 365 - first))
            rows.append(f"c{i},{start + timedelta(days=again)},{rng.uniform(20, 80):.2f}")
    orders = folder / "orders.csv"
    orders.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ws = smbgrowth.init_workspace(folder / "ws", time_zone="UTC")
    import_files(ws, "csv", [orders], ImportOptions(table="orders"))
    yield ws
    ws.close()


def test_results_built_on_an_unidentified_fit_say_so(thin_shop: Workspace) -> None:
    fitted = fit_model(thin_shop, "bgnbd")
    assert not fitted.identified_
    table = predict_customers(thin_shop)
    fit = identification(table)
    assert fit["identified"] is False
    assert "purchase model (BG/NBD)" in fit["identification_issue"]
    assert identification(table.head(5)) == fit  # survives what callers do with the table
    risk = identification(churn_risk(thin_shop, top=5))
    assert risk["identified"] is False
    validation = validate_model(thin_shop).to_dict()
    assert validation["identified"] is False and validation["identification_issue"]


def test_the_simulator_does_not_take_churn_from_an_unidentified_fit(thin_shop: Workspace) -> None:
    from smbgrowth.dynamics.calibration import _bgnbd_churn

    notes: list[str] = []
    assert _bgnbd_churn(thin_shop, notes) is None
    assert len(notes) == 1 and "cannot tell how fast customers drop out" in notes[0]


def test_the_report_says_the_customer_values_are_not_reliable(thin_shop: Workspace) -> None:
    from smbgrowth.report.data import Note, customer_section

    section = customer_section(thin_shop, top=3)
    notes = [b.text for b in section.blocks if isinstance(b, Note)]
    assert any(n.startswith("Not reliable:") and "drop out" in n for n in notes), notes


def test_the_dashboard_says_the_customer_values_are_not_reliable(thin_shop: Workspace) -> None:
    from smbgrowth.web.routes.customers import _churn, _clv

    clv = _clv(thin_shop)["data"]
    assert clv["identified"] is False and "drop out" in clv["identification_issue"]
    churn = _churn(thin_shop)["data"]
    assert churn["identified"] is False
