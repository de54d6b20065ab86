"""RFM scores, named segments and behavioural clusters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data import generate_sample_business
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ModelError
from smbgrowth.models.segments import (
    RFM_SEGMENTS,
    behavioural_clusters,
    name_segment,
    rfm_scores,
    segment_profiles,
)


def _orders(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(rows))],
            "customer_id": [r[0] for r in rows],
            "ordered_at": [pd.Timestamp(r[1], tz="UTC") for r in rows],
            "total": [r[2] for r in rows],
            "status": [r[3] for r in rows],
        }
    )


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = smbgrowth.init_workspace(tmp_path / "ws", time_zone="America/New_York")
    rows = [
        # c1: 3 orders, last on Jun 30 local (Jul 1 03:00 UTC), spends 300.
        ("c1", "2024-01-10 15:00", 100.0, "completed"),
        ("c1", "2024-03-10 15:00", 100.0, "completed"),
        ("c1", "2024-07-01 03:00", 100.0, "completed"),
        # c2: 1 order in June, 50.
        ("c2", "2024-06-20 15:00", 50.0, "completed"),
        # c3: 2 orders long ago, 500 — the cancelled one does not count.
        ("c3", "2024-01-05 15:00", 250.0, "completed"),
        ("c3", "2024-02-05 15:00", 250.0, "completed"),
        ("c3", "2024-06-25 15:00", 999.0, "cancelled"),
        # c4: 1 order in May, 20; c5: 1 order in April, 10.
        ("c4", "2024-05-15 15:00", 20.0, "completed"),
        ("c5", "2024-04-15 15:00", 10.0, "completed"),
    ]
    ws.append("orders", _orders(rows), "test")
    yield ws
    ws.close()


def test_rfm_measures_and_scores_by_hand(shop: Workspace) -> None:
    rfm = rfm_scores(shop)
    # The history ends on the last sold order's local day, 2024-06-30.
    assert rfm.loc["c1", "recency_days"] == 0
    assert rfm.loc["c2", "recency_days"] == 10
    assert rfm.loc["c3", "recency_days"] == (date(2024, 6, 30) - date(2024, 2, 5)).days
    assert rfm.frequency.to_dict() == {"c1": 3, "c2": 1, "c3": 2, "c4": 1, "c5": 1}
    assert rfm.monetary.to_dict() == {"c1": 300.0, "c2": 50.0, "c3": 500.0, "c4": 20.0, "c5": 10.0}
    # Five customers, one per quintile of recency: c1 newest (5) … c3 oldest (1).
    assert rfm.r.to_dict() == {"c1": 5, "c2": 4, "c4": 3, "c5": 2, "c3": 1}
    # Frequency ties (three customers with 1 order) share the lowest score.
    assert rfm.f.to_dict() == {"c1": 5, "c3": 4, "c2": 1, "c4": 1, "c5": 1}
    assert rfm.m.to_dict() == {"c3": 5, "c1": 4, "c2": 3, "c4": 2, "c5": 1}
    assert rfm.loc["c1", "segment"] == "champions"
    assert rfm.loc["c2", "segment"] == "new"
    assert rfm.loc["c3", "segment"] == "can't lose"
    assert rfm.loc["c4", "segment"] == "promising"
    assert rfm.loc["c5", "segment"] == "hibernating"


def test_as_of_cuts_the_history(shop: Workspace) -> None:
    rfm = rfm_scores(shop, as_of=date(2024, 3, 31))
    assert set(rfm.index) == {"c1", "c3"}
    assert rfm.loc["c1", "frequency"] == 2
    assert rfm.loc["c1", "recency_days"] == (date(2024, 3, 31) - date(2024, 3, 10)).days


def test_every_score_pair_has_exactly_the_documented_segment() -> None:
    for r in range(1, 6):
        for f in range(1, 6):
            rules = {
                "champions": r >= 4 and f >= 4,
                "loyal": r >= 3 and f >= 3,
                "new": r >= 4 and f == 1,
                "promising": r >= 3 and f <= 2,
                "can't lose": r <= 2 and f >= 4,
                "at risk": r <= 2 and f == 3,
                "hibernating": r == 2 and f <= 2,
                "lost": r == 1 and f <= 2,
            }
            first = next(name for name in RFM_SEGMENTS if rules[name])
            assert name_segment(r, f) == first


def test_empty_workspace_is_a_clear_error(tmp_path: Path) -> None:
    with smbgrowth.init_workspace(tmp_path / "e") as ws, pytest.raises(ModelError):
        rfm_scores(ws)


def test_clusters_find_three_planted_groups() -> None:
    rng = np.random.default_rng(3)
    groups = [(5, 20, 2000.0), (60, 4, 300.0), (300, 1, 40.0)]
    rows = []
    for g, (rec, freq, spend) in enumerate(groups):
        for i in range(300):
            rows.append(
                (
                    f"g{g}-{i}",
                    max(0, int(rec * rng.lognormal(0, 0.1))),
                    max(1, int(freq * rng.lognormal(0, 0.1))),
                    spend * rng.lognormal(0, 0.1),
                )
            )
    rfm = pd.DataFrame(rows, columns=["customer_id", "recency_days", "frequency", "monetary"])
    rfm = rfm.set_index("customer_id")
    result = behavioural_clusters(rfm)
    assert result.k == 3
    # The biggest spenders are cluster 1, and each planted group is one cluster.
    assert set(result.labels[[f"g0-{i}" for i in range(300)]]) == {"cluster 1"}
    assert set(result.labels[[f"g2-{i}" for i in range(300)]]) == {"cluster 3"}
    again = behavioural_clusters(rfm)
    assert again.labels.equals(result.labels)


def test_profiles_on_the_sample_business(tmp_path: Path) -> None:
    with smbgrowth.init_workspace(tmp_path / "ws") as ws:
        generate_sample_business(ws, customers=2000, seed=2)
        rfm = rfm_scores(ws)
        profile = segment_profiles(rfm, rfm.segment)
        assert profile.customers.sum() == len(rfm)
        assert profile.customer_share.sum() == pytest.approx(1.0)
        assert profile.revenue_share.sum() == pytest.approx(1.0)
        assert set(profile.index) <= set(RFM_SEGMENTS)
        # Champions spend more on average than lost customers.
        assert profile.loc["champions", "mean_spend"] > profile.loc["lost", "mean_spend"]
        clusters = behavioural_clusters(rfm)
        assert 2 <= clusters.k <= 8
        assert clusters.labels.index.equals(rfm.index)


def test_saving_segments_keeps_when_each_was_entered(shop: Workspace) -> None:
    from datetime import UTC, datetime

    from smbgrowth.models.segments import save_segments

    first = datetime(2024, 7, 1, tzinfo=UTC)
    rfm = rfm_scores(shop)
    changes = save_segments(shop, rfm.segment, method="rfm", scores=rfm.rfm, at=first)
    assert (changes.entered, changes.unchanged) == (5, 0)
    again = save_segments(shop, rfm.segment, method="rfm", scores=rfm.rfm, at=datetime.now(UTC))
    assert (again.entered, again.unchanged) == (0, 5)
    moved = rfm.segment.copy()
    moved["c1"] = "at risk"
    later = datetime(2024, 9, 1, tzinfo=UTC)
    step = save_segments(shop, moved, method="rfm", at=later)
    assert (step.entered, step.unchanged) == (1, 4)
    saved = shop.read("customer_segments").set_index("customer_id")
    assert saved.loc["c1", "segment"] == "at risk"
    assert saved.loc["c1", "previous_segment"] == "champions"
    assert saved.loc["c1", "since"] == pd.Timestamp(later)
    assert saved.loc["c2", "since"] == pd.Timestamp(first)
    with pytest.raises(ModelError):
        save_segments(shop, moved, method="kmeans")
