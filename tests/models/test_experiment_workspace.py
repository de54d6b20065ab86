"""Experiments stored in the workspace: outcomes from the business's own tables, and the truth.

The sample business carries two tests with a known effect: a checkout
redesign (sessions, true relative lift +12 % in visit → purchase) and a
win-back e-mail (customers, no effect). Outcomes per unit are checked
against pandas on the raw tables; the analysis must cover the truth.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smbgrowth import init_workspace
from smbgrowth.data.sample import generate_sample_business
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import DataError, ModelError, SmbGrowthWarning
from smbgrowth.metrics.common import REVENUE_STATUSES
from smbgrowth.models.experiments import (
    analyze_workspace_experiment,
    experiment_units,
    list_experiments,
)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    w = init_workspace(tmp_path_factory.mktemp("exp") / "ws")
    generate_sample_business(w, customers=80_000, years=1.5, seed=11)
    yield w
    w.close()


def _table(ws: Workspace, name: str) -> pd.DataFrame:
    frame: pd.DataFrame = ws.table(name).to_pandas()
    return frame


def test_list_shows_both_experiments(ws: Workspace) -> None:
    frame = list_experiments(ws)
    assert frame.experiment_id.tolist() == ["checkout-redesign", "winback-email"]
    assert frame.unit_type.tolist() == ["session", "customer"]
    e = _table(ws, "experiments")
    assert frame.units.tolist() == e.groupby("experiment_id").size().tolist()


def test_session_outcomes_equal_pandas(ws: Workspace) -> None:
    frame, specs, unit_type = experiment_units(ws, "checkout-redesign", ["reached:purchase"])
    assert unit_type == "session" and frame.attrs["window_days"] == 1.0
    assert specs[0].kind == "binomial" and specs[0].covariate is None
    e = _table(ws, "experiments").query("experiment_id == 'checkout-redesign'")
    w = _table(ws, "web_events").query("step == 'purchase'")
    j = e.merge(w, left_on="unit_id", right_on="session_id", how="left")
    inside = (j.occurred_at >= j.assigned_at) & (
        j.occurred_at < j.assigned_at + pd.Timedelta(days=1)
    )
    expected = inside.groupby(j.unit_id).any().astype(int)
    got = frame.set_index("unit_id")["reached:purchase"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)


def test_customer_outcomes_and_pre_period_equal_pandas(ws: Workspace) -> None:
    frame, specs, _ = experiment_units(
        ws, "winback-email", ["converted", "orders", "revenue"], window_days=30, pre_days=366
    )
    assert [s.covariate for s in specs] == ["pre_converted", "pre_orders", "pre_revenue"]
    e = _table(ws, "experiments").query("experiment_id == 'winback-email'")
    o = _table(ws, "orders")
    o = o[o.status.isin(REVENUE_STATUSES)].copy()
    o["net"] = (o.total - o.refunded.fillna(0)).astype(float)
    j = e.merge(o, left_on="unit_id", right_on="customer_id", how="left")
    after = (j.ordered_at >= j.assigned_at) & (j.ordered_at < j.assigned_at + pd.Timedelta(days=30))
    before = (j.ordered_at >= j.assigned_at - pd.Timedelta(days=366)) & (
        j.ordered_at < j.assigned_at
    )
    got = frame.set_index("unit_id").sort_index()
    orders = after.groupby(j.unit_id).sum().sort_index()
    revenue = j.net.where(after, 0.0).groupby(j.unit_id).sum().sort_index()
    pre_orders = before.groupby(j.unit_id).sum().sort_index()
    np.testing.assert_array_equal(got.orders.to_numpy(), orders.to_numpy())
    np.testing.assert_allclose(got.revenue.to_numpy(), revenue.to_numpy(), rtol=1e-9)
    np.testing.assert_array_equal(got.pre_orders.to_numpy(), pre_orders.to_numpy())
    np.testing.assert_array_equal(got.converted.to_numpy(), (orders > 0).astype(int).to_numpy())
    # Lapsed customers last ordered 90–365 calendar days before the assignment day;
    # nearly all of those orders were sold (a few were cancelled or failed).
    assert (got.pre_orders > 0).mean() > 0.9


def test_checkout_analysis_covers_the_true_lift(ws: Workspace) -> None:
    truth = ws.sample_truth()["experiments"]["checkout-redesign"]
    with warnings.catch_warnings():
        # A 50/50 test must not raise the mismatch alarm.
        warnings.simplefilter("error", SmbGrowthWarning)
        result = analyze_workspace_experiment(
            ws, "checkout-redesign", ["reached:purchase"], alpha=0.01
        )
    c = result.comparison("reached:purchase", "new-checkout")
    assert result.control == "control" and result.unit_noun == "sessions"
    assert c.rel_ci[0] < truth["true_relative_lift"] < c.rel_ci[1]
    assert "sessions reached purchase" in result.readout


def test_winback_analysis_finds_no_effect(ws: Workspace) -> None:
    result = analyze_workspace_experiment(
        ws, "winback-email", ["converted", "revenue"], pre_days=365, alpha=0.01
    )
    for metric in ("converted", "revenue"):
        c = result.comparison(metric, "email")
        assert c.rel_ci[0] < 0.0 < c.rel_ci[1]
        assert c.verdict == "inconclusive"
    assert result.recommendation == "no-clear-difference"
    assert "customers placed an order" in result.readout


def test_workspace_errors_are_clear(ws: Workspace) -> None:
    with pytest.raises(DataError, match="no experiment 'nope' in the workspace; the experiments"):
        analyze_workspace_experiment(ws, "nope")
    with pytest.raises(ModelError, match="metric revenue needs customer units"):
        analyze_workspace_experiment(ws, "checkout-redesign", ["revenue"])
    with pytest.raises(ModelError, match="unknown workspace metric 'profit'"):
        analyze_workspace_experiment(ws, "winback-email", ["profit"])


def test_an_empty_workspace_says_to_import_first(tmp_path: Path) -> None:
    w = init_workspace(tmp_path / "empty")
    try:
        with pytest.raises(DataError, match="import one first"):
            analyze_workspace_experiment(w, "x")
    finally:
        w.close()
