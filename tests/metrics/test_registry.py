"""The registry: complete definitions, clear errors, every metric computable everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data import generate_sample_business
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MetricError
from smbgrowth.metrics import DIMENSIONS, DRIVERS, GRAINS, METRICS, compute_metric, list_metrics


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = smbgrowth.init_workspace(tmp_path_factory.mktemp("demo") / "ws", time_zone="Europe/Berlin")
    generate_sample_business(ws, customers=1500, years=2.0, seed=11)
    yield ws
    ws.close()


def test_every_definition_is_complete() -> None:
    assert len(METRICS) >= 5
    for metric in list_metrics():
        assert metric.id and metric.name and metric.unit and metric.formula and metric.convention
        assert metric.driver in DRIVERS
        assert set(metric.grains) <= set(GRAINS)
        assert set(metric.dimensions) <= set(DIMENSIONS)
        described = metric.describe()
        assert described["id"] == metric.id


def test_every_driver_has_metrics() -> None:
    drivers = {m.driver for m in list_metrics()}
    assert "demand" in drivers


def test_unknown_metric_grain_dimension_and_option_are_clear(demo: Workspace) -> None:
    with pytest.raises(MetricError, match="kpis --list"):
        compute_metric(demo, "revenu")
    with pytest.raises(MetricError, match="unknown grain 'fortnight'"):
        compute_metric(demo, "new_customers", grain="fortnight")  # type: ignore[arg-type]
    with pytest.raises(MetricError, match="its dimensions are"):
        compute_metric(demo, "leads", by="plan")
    with pytest.raises(MetricError, match="no option"):
        compute_metric(demo, "new_customers", options={"denominator": "start"})


@pytest.mark.slow
@pytest.mark.parametrize("metric_id", sorted(METRICS))
def test_every_metric_runs_on_the_sample_business_at_every_grain_and_dimension(
    demo: Workspace, metric_id: str
) -> None:
    metric = METRICS[metric_id]
    for grain in metric.grains:
        result = compute_metric(demo, metric_id, grain=grain)
        frame = result.frame
        assert list(frame.columns) == ([] if grain == "total" else ["period"]) + ["value"]
        if grain != "total":
            assert frame["period"].is_monotonic_increasing
        for row in result.to_dict()["rows"]:
            assert ("period" in row) is (grain != "total")
    grain = "month" if "month" in metric.grains else metric.grains[-1]
    keys = [] if grain == "total" else ["period"]
    for dim in metric.dimensions:
        split = compute_metric(demo, metric_id, grain=grain, by=dim).frame
        assert list(split.columns) == [*keys, dim, "value"]
        if metric.additive and keys:
            whole = compute_metric(demo, metric_id, grain=grain).frame.set_index("period")
            sums = split.groupby("period")["value"].sum()
            pd.testing.assert_series_equal(
                sums.reindex(whole.index, fill_value=0.0).astype(float),
                whole["value"].astype(float),
                check_names=False,
                rtol=1e-9,
            )
        elif metric.additive:
            whole_total = compute_metric(demo, metric_id, grain="total").total()
            assert split["value"].sum() == pytest.approx(whole_total)


def test_the_metrics_reference_in_docs_is_generated_from_the_registry() -> None:
    from smbgrowth.metrics import registry_markdown

    docs = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
    assert docs.read_text(encoding="utf-8") == registry_markdown(), (
        "docs/metrics.md is stale: run `make docs`"
    )
