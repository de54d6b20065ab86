"""Acquisition-cohort retention: a hand-computed matrix, the revenue measure, invariants."""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import smbgrowth
from smbgrowth.data.sample import generate_sample_business
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MetricError
from smbgrowth.metrics.cohorts import cohort_retention

ORDERS = [
    ("o1", "X", "2024-01-05 15:00", "completed", 100, 0),
    ("o2", "X", "2024-01-20 15:00", "completed", 50, 0),
    ("o3", "X", "2024-02-10 15:00", "completed", 30, 0),
    ("o4", "Y", "2024-02-01 04:30", "completed", 20, 0),  # 31 Jan in New York
    ("o5", "Y", "2024-02-15 15:00", "completed", 40, 0),
    ("o6", "Z", "2024-02-03 15:00", "cancelled", 99, 0),
    ("o7", "Z", "2024-03-04 15:00", "completed", 60, 0),
    ("o8", "W", "2024-01-10 15:00", "refunded", 80, 80),
    ("o9", "W", "2024-03-10 15:00", "completed", 70, 0),
    ("o10", "V", "2024-05-05 15:00", "completed", 10, 0),
]
COLUMNS = ["order_id", "customer_id", "ordered_at", "status", "total", "refunded"]


def _orders(rows: list[tuple[str, str, str, str, float, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], utc=True)
    return frame


@pytest.fixture
def shop(workspace: Workspace) -> Workspace:
    workspace.append("orders", _orders(ORDERS), source="test")
    return workspace


def _rows(frame: pd.DataFrame) -> dict[str, list[float]]:
    return {str(k): [float(v) for v in row if not np.isnan(v)] for k, row in frame.iterrows()}


def test_customer_matrix_by_hand(shop: Workspace) -> None:
    m = cohort_retention(shop)
    # Cohorts (New York months): Jan = X, Y (31 Jan local), W (refunded still sold);
    # Mar = Z (the cancelled February order does not count); May = V.
    assert m.sizes.to_dict() == {"2024-01": 3, "2024-03": 1, "2024-05": 1}
    assert _rows(m.counts) == {
        "2024-01": [3, 2, 1, 0, 0],
        "2024-03": [1, 0, 0],
        "2024-05": [1],
    }
    assert _rows(m.shares) == {
        "2024-01": [1.0, 2 / 3, 1 / 3, 0.0, 0.0],
        "2024-03": [1.0, 0.0, 0.0],
        "2024-05": [1.0],
    }


def test_customer_matrix_matches_pandas(shop: Workspace) -> None:
    orders = shop.read("orders")
    sold = orders[orders.status != "cancelled"]
    local = sold.ordered_at.dt.tz_convert("America/New_York").dt.tz_localize(None)
    month = local.dt.year * 12 + local.dt.month - 1
    sold = sold.assign(month=month)
    first = sold.groupby("customer_id").month.transform("min")
    sold = sold.assign(age=sold.month - first, cohort=first)
    counts = sold.groupby(["cohort", "age"]).customer_id.nunique().unstack(fill_value=0)
    sizes = sold.groupby("cohort").customer_id.nunique()
    m = cohort_retention(shop)
    np.testing.assert_allclose(
        np.nan_to_num(m.shares.to_numpy(), nan=0.0),
        (counts.div(sizes, axis=0)).reindex(columns=m.shares.columns, fill_value=0).to_numpy(),
    )


def test_revenue_measure(shop: Workspace) -> None:
    m = cohort_retention(shop, measure="revenue")
    # January net revenue: X 150 + Y 20 + W 0 (refunded) = 170; Feb X 30 + Y 40; Mar W 70.
    assert _rows(m.counts)["2024-01"] == [170, 70, 70, 0, 0]
    assert _rows(m.shares)["2024-01"] == pytest.approx([1.0, 70 / 170, 70 / 170, 0.0, 0.0])
    assert _rows(m.shares)["2024-03"] == [1.0, 0.0, 0.0]
    assert m.sizes.to_dict() == {"2024-01": 3, "2024-03": 1, "2024-05": 1}


def test_quarter_grain_and_window(shop: Workspace) -> None:
    m = cohort_retention(shop, grain="quarter")
    # Q1 = X, Y, W, Z; nobody of them buys in Q2, where V is a new cohort.
    assert _rows(m.shares) == {"2024-Q1": [1.0, 0.0], "2024-Q2": [1.0]}
    assert m.sizes.to_dict() == {"2024-Q1": 4, "2024-Q2": 1}
    w = cohort_retention(shop, start=date(2024, 2, 1), end=date(2024, 3, 31))
    # Only Z's cohort (March) is acquired in the window, and May is cut off.
    assert _rows(w.shares) == {"2024-03": [1.0]}


def test_to_dict_is_json_ready(shop: Workspace) -> None:
    d = cohort_retention(shop).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["measure"] == "customers" and d["grain"] == "month"
    assert d["cohorts"][0] == {
        "cohort": "2024-01",
        "size": 3,
        "values": [1.0, 2 / 3, 1 / 3, 0.0, 0.0],
    }
    assert [c["values"] for c in d["cohorts"][1:]] == [[1.0, 0.0, 0.0], [1.0]]


def test_empty_workspace_and_bad_arguments(workspace: Workspace) -> None:
    m = cohort_retention(workspace)
    assert m.shares.empty and m.sizes.empty
    assert m.to_dict()["cohorts"] == []
    with pytest.raises(MetricError):
        cohort_retention(workspace, grain="week")  # type: ignore[arg-type]
    with pytest.raises(MetricError):
        cohort_retention(workspace, measure="orders")  # type: ignore[arg-type]


_order = st.tuples(
    st.sampled_from(["c1", "c2", "c3", "c4", "c5", "c6"]),
    st.integers(min_value=0, max_value=700 * 24),
    st.sampled_from(["completed", "refunded", "cancelled", "partially_refunded"]),
    st.integers(min_value=1, max_value=500),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_order, min_size=1, max_size=40))
def test_age_zero_is_the_whole_cohort(orders: list[tuple[str, int, str, int]]) -> None:
    origin = datetime(2023, 1, 1)
    rows = [
        (f"o{i}", c, str(origin + timedelta(hours=h)), status, total, 0)
        for i, (c, h, status, total) in enumerate(orders)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        ws = smbgrowth.init_workspace(
            Path(tmp) / "ws", currency="USD", time_zone="America/New_York"
        )
        try:
            ws.append("orders", _orders(rows), source="test")
            sold = {c for c, _, status, _ in orders if status != "cancelled"}
            for grain in ("month", "quarter"):
                m = cohort_retention(ws, grain=grain)  # type: ignore[arg-type]
                assert int(m.sizes.sum()) == len(sold)
                if sold:
                    assert (m.shares[0] == 1.0).all()
                    assert (m.counts.fillna(0).to_numpy() <= m.sizes.to_numpy()[:, None]).all()
                r = cohort_retention(ws, measure="revenue", grain=grain)  # type: ignore[arg-type]
                if sold:
                    assert (r.shares[0] == 1.0).all()
        finally:
            ws.close()


@pytest.mark.slow
def test_demo_business_cohorts(tmp_path: Path) -> None:
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency="USD", time_zone="America/New_York")
    try:
        generate_sample_business(ws, customers=2000, seed=1)
        for measure in ("customers", "revenue"):
            m = cohort_retention(ws, measure=measure)  # type: ignore[arg-type]
            assert len(m.sizes) > 12
            assert (m.shares[0] == 1.0).all()
        m = cohort_retention(ws)
        later = m.shares.drop(columns=0).stack().dropna()
        assert not later.empty
        assert ((later >= 0) & (later <= 1)).all()
        orders = ws.read("orders")
        buyers = orders[orders.status.isin(["completed", "partially_refunded", "refunded"])]
        assert int(m.sizes.sum()) == buyers.customer_id.nunique()
    finally:
        ws.close()
