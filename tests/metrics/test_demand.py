"""Demand metrics against hand-computed answers and independent pandas computations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import smbgrowth
from smbgrowth.data.workspace import Workspace
from smbgrowth.metrics import compute_metric

NY = "America/New_York"


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["c1", "c2", "c3", "c4"],
        "created_at": [
            _utc("2024-01-05 15:00"),
            _utc("2024-02-01 04:30"),  # 2024-01-31 23:30 in New York
            _utc("2024-03-10 12:00"),
            pd.NaT,
        ],
        "segment": ["consumer", "consumer", "business", None],
        "acquisition_channel": ["google_ads", "organic", "organic", None],
        "country": ["US", "US", "CA", None],
    }
)
ORDERS = pd.DataFrame(
    {
        "order_id": ["o1", "o2", "o3", "o4", "o5"],
        "customer_id": ["c1", "c1", "c2", "c3", "c3"],
        "ordered_at": [
            _utc("2024-01-05 15:00"),
            _utc("2024-03-02 15:00"),
            _utc("2024-02-01 04:30"),
            _utc("2024-03-10 12:00"),
            _utc("2024-03-11 12:00"),
        ],
        "status": ["completed", "refunded", "completed", "cancelled", "partially_refunded"],
        "total": [100.0, 50.0, 30.0, 200.0, 80.0],
        "refunded": [0.0, 50.0, 0.0, 0.0, 20.0],
    }
)
DEALS = pd.DataFrame(
    {
        "deal_id": ["d1", "d2"],
        "created_at": [_utc("2024-01-10 12:00"), _utc("2024-03-01 12:00")],
        "customer_id": ["c3", "c3"],
    }
)
EVENTS = pd.DataFrame(
    {
        "event_id": ["e1", "e2", "e3", "e4"],
        "session_id": ["s1", "s1", "s2", "s3"],
        "occurred_at": [
            _utc("2024-01-03 10:00"),
            _utc("2024-01-03 10:05"),
            _utc("2024-02-10 10:00"),
            _utc("2024-02-11 10:00"),
        ],
        "step": ["visit", "product_view", "visit", "visit"],
        "channel": ["organic", "organic", "organic", "email"],
    }
)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    w = smbgrowth.init_workspace(tmp_path / "ws", currency="USD", time_zone=NY)
    w.append("customers", CUSTOMERS, "test")
    w.append("orders", ORDERS, "test")
    w.append("deals", DEALS, "test")
    w.append("web_events", EVENTS, "test")
    yield w
    w.close()


def _values(ws: Workspace, metric: str, **kw: object) -> dict[object, float]:
    result = compute_metric(ws, metric, **kw)  # type: ignore[arg-type]
    frame = result.frame
    keys = [c for c in frame.columns if c != "value"]
    if not keys:
        return {"total": float(frame["value"].iloc[0])}
    index = frame[keys[0]] if len(keys) == 1 else list(zip(*(frame[k] for k in keys), strict=True))
    return dict(zip(index, frame["value"].astype(float), strict=True))


def _pandas_month(ts: pd.Series) -> pd.Series:
    return ts.dt.tz_convert(NY).dt.strftime("%Y-%m")


def test_new_customers_by_month_counts_local_months_and_fills_gaps(ws: Workspace) -> None:
    assert _values(ws, "new_customers") == {"2024-01": 2, "2024-02": 0, "2024-03": 1}
    expected = (
        CUSTOMERS.dropna(subset=["created_at"])
        .assign(m=lambda f: _pandas_month(f.created_at))
        .groupby("m")
        .size()
    )
    got = _values(ws, "new_customers")
    for month, n in expected.items():
        assert got[month] == n


def test_new_customers_by_channel_total(ws: Workspace) -> None:
    assert _values(ws, "new_customers", grain="total", by="channel") == {
        "google_ads": 1,
        "organic": 2,
    }


def test_active_customers_count_sold_orders_only(ws: Workspace) -> None:
    # March: c1 (refunded order still sold) and c3 (partially refunded; cancelled one ignored).
    assert _values(ws, "active_customers") == {"2024-01": 2, "2024-02": 0, "2024-03": 2}
    assert _values(ws, "active_customers", grain="total") == {"total": 3}


def test_sessions_and_leads(ws: Workspace) -> None:
    assert _values(ws, "sessions") == {"2024-01": 1, "2024-02": 2}
    assert _values(ws, "sessions", grain="total", by="channel") == {"email": 1, "organic": 2}
    assert _values(ws, "leads") == {"2024-01": 1, "2024-02": 0, "2024-03": 1}


def test_revenue_share_by_segment_is_net_of_refunds(ws: Workspace) -> None:
    got = _values(ws, "revenue_share", grain="total", by="segment")
    assert got["consumer"] == pytest.approx(130 / 190)
    assert got["business"] == pytest.approx(60 / 190)
    assert sum(got.values()) == pytest.approx(1.0)


def test_window_limits_periods_and_keeps_empty_ones(ws: Workspace) -> None:
    got = _values(ws, "new_customers", start=date(2024, 2, 1), end=date(2024, 4, 30))
    assert got == {"2024-02": 0, "2024-03": 1, "2024-04": 0}


def test_total_result_has_no_period_key(ws: Workspace) -> None:
    result = compute_metric(ws, "new_customers", grain="total")
    assert result.to_dict() == {
        "metric": "new_customers",
        "unit": "customers",
        "grain": "total",
        "rows": [{"value": 3.0}],
    }


_days = st.integers(min_value=0, max_value=400)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(_days, st.sampled_from(["a", "b", "c"]), st.sampled_from(["x", "y"])),
        min_size=1,
        max_size=40,
    )
)
def test_new_customers_split_by_dimension_adds_up(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[int, str, str]]
) -> None:
    path = tmp_path_factory.mktemp("ws") / "ws"
    with smbgrowth.init_workspace(path, time_zone=NY) as w:
        frame = pd.DataFrame(
            {
                "customer_id": [f"c{i}" for i in range(len(rows))],
                "created_at": [_utc("2024-01-01") + pd.Timedelta(days=d) for d, _, _ in rows],
                "segment": [s for _, s, _ in rows],
                "acquisition_channel": [c for _, _, c in rows],
            }
        )
        w.append("customers", frame, "test")
        total = compute_metric(w, "new_customers").frame.set_index("period")["value"]
        for dim in ("segment", "channel"):
            split = compute_metric(w, "new_customers", by=dim).frame
            sums = split.groupby("period")["value"].sum()
            assert sums.reindex(total.index, fill_value=0).tolist() == total.tolist()
        expected = frame.assign(m=lambda f: _pandas_month(f.created_at)).groupby("m").size()
        assert total[total > 0].to_dict() == expected.to_dict()
