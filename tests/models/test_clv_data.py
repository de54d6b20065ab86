"""RFM summaries: the CDNOW reference summary and hand-made day-boundary cases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data.importer import import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ModelError
from smbgrowth.models.clv.data import calibration_holdout, rfm_summary

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
CDNOW_SAMPLE = DATASETS / "cdnow_sample.csv"
CDNOW_SUMMARY = DATASETS / "cdnow_customers_summary.csv"


def _needs_cdnow() -> None:
    if not (CDNOW_SAMPLE.exists() and CDNOW_SUMMARY.exists()):
        pytest.skip(f"CDNOW data not found in {DATASETS} (shared datasets folder absent)")


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    _needs_cdnow()
    ws = smbgrowth.init_workspace(tmp_path_factory.mktemp("cdnow") / "ws", time_zone="UTC")
    import_files(ws, "csv", [CDNOW_SAMPLE], ImportOptions(table="orders"))
    try:
        yield ws
    finally:
        ws.close()


def _orders(ws: Workspace, rows: list[tuple[str, str, datetime, str, float, float | None]]) -> None:
    frame = pd.DataFrame(
        rows, columns=["order_id", "customer_id", "ordered_at", "status", "total", "refunded"]
    )
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], utc=True)
    ws.append("orders", frame, source="test")


def test_cdnow_summary_equals_the_published_one(cdnow: Workspace) -> None:
    got = rfm_summary(cdnow, calibration_end=date(1997, 9, 30), observation_end=date(1998, 6, 30))
    ref = pd.read_csv(CDNOW_SUMMARY)
    assert len(got) == len(ref) == 2357
    assert list(got.index.astype(int)) == list(ref["ID"])
    assert (got["frequency"].to_numpy() == ref["frequency"].to_numpy()).all()
    # The reference file rounds to 2 decimals.
    assert got["recency"].to_numpy() == pytest.approx(ref["recency"].to_numpy(), abs=0.0051)
    assert got["T"].to_numpy() == pytest.approx(ref["T"].to_numpy(), abs=0.0051)
    assert got["frequency"].sum() == 2457
    assert got["recency"].mean() == pytest.approx(6.8458, abs=1e-4)
    assert got["T"].mean() == pytest.approx(32.7158, abs=1e-4)
    assert (got["duration_holdout"] == 39.0).all()


def test_cdnow_monetary_value_is_the_mean_repeat_purchase(cdnow: Workspace) -> None:
    path = DATASETS / "cdnow_customers_summary_with_transactions.csv"
    if not path.exists():
        pytest.skip(f"{path.name} not found in {DATASETS}")
    got = calibration_holdout(cdnow, date(1997, 9, 30), observation_end=date(1998, 6, 30))
    ref = pd.read_csv(path)
    assert got["monetary_value"].to_numpy() == pytest.approx(ref["zbar"].to_numpy(), abs=0.0051)


def test_same_day_orders_are_one_purchase_and_refunds_are_netted(workspace: Workspace) -> None:
    # The fixture's zone is America/New_York (UTC−5 in January).
    _orders(
        workspace,
        [
            ("o1", "c1", datetime(2024, 1, 1, 15), "completed", 10.0, None),
            ("o2", "c1", datetime(2024, 1, 1, 20), "completed", 5.0, None),
            ("o3", "c1", datetime(2024, 1, 8, 15), "completed", 30.0, None),
            ("o4", "c1", datetime(2024, 1, 8, 16), "partially_refunded", 20.0, 5.0),
            ("o5", "c1", datetime(2024, 1, 15, 15), "cancelled", 99.0, None),
            ("o6", "c1", datetime(2024, 1, 22, 15), "refunded", 12.0, 12.0),
            ("o7", "c2", datetime(2024, 1, 15, 15), "completed", 7.0, None),
            ("o8", "c3", datetime(2024, 1, 15, 15), "pending", 7.0, None),
        ],
    )
    got = rfm_summary(workspace, time_unit="day", observation_end=date(2024, 1, 29))
    assert list(got.index) == ["c1", "c2"]
    c1 = got.loc["c1"]
    assert c1["frequency"] == 2
    assert c1["recency"] == 21
    assert c1["T"] == 28
    # Repeat purchases: 30 + (20 − 5) on day 7 and 12 − 12 on day 21.
    assert c1["monetary_value"] == pytest.approx(45.0 / 2)
    assert list(got.loc["c2"]) == [0, 0.0, 14.0, 0.0]


def test_days_are_local_days_of_the_workspace_time_zone(workspace: Workspace) -> None:
    # 03:00 UTC on 2 Jan is 22:00 on 1 Jan in New York: the same local day as o1.
    _orders(
        workspace,
        [
            ("o1", "c1", datetime(2024, 1, 1, 15), "completed", 10.0, None),
            ("o2", "c1", datetime(2024, 1, 2, 3), "completed", 5.0, None),
            ("o3", "c1", datetime(2024, 1, 2, 6), "completed", 5.0, None),
        ],
    )
    got = rfm_summary(workspace, time_unit="day")
    assert got.loc["c1", "frequency"] == 1
    assert got.loc["c1", "recency"] == 1
    assert got.loc["c1", "T"] == 1


def test_units_divide_whole_days(workspace: Workspace) -> None:
    _orders(
        workspace,
        [
            ("o1", "c1", datetime(2024, 1, 1, 15), "completed", 10.0, None),
            ("o2", "c1", datetime(2024, 3, 1, 15), "completed", 10.0, None),
        ],
    )
    end = date(2024, 4, 1)
    weeks = rfm_summary(workspace, observation_end=end)
    months = rfm_summary(workspace, time_unit="month", observation_end=end)
    assert weeks.loc["c1", "recency"] == pytest.approx(60 / 7)
    assert months.loc["c1", "T"] == pytest.approx(91 / 30.4375)


def test_calibration_and_holdout_split(workspace: Workspace) -> None:
    _orders(
        workspace,
        [
            ("o1", "c1", datetime(2024, 1, 1, 15), "completed", 10.0, None),
            ("o2", "c1", datetime(2024, 1, 5, 15), "completed", 10.0, None),
            ("o3", "c1", datetime(2024, 1, 20, 15), "completed", 10.0, None),
            ("o4", "c1", datetime(2024, 1, 25, 15), "completed", 10.0, None),
            ("o5", "c1", datetime(2024, 2, 20, 15), "completed", 10.0, None),
            ("o6", "c2", datetime(2024, 1, 12, 15), "completed", 10.0, None),
            ("o7", "c3", datetime(2024, 1, 15, 15), "completed", 10.0, None),
        ],
    )
    got = rfm_summary(
        workspace,
        time_unit="day",
        calibration_end=date(2024, 1, 12),
        observation_end=date(2024, 1, 31),
    )
    # c3 first bought after the calibration end; o5 is after the observation end.
    assert list(got.index) == ["c1", "c2"]
    assert list(got.loc["c1"]) == [1, 4.0, 11.0, 10.0, 2, 19.0]
    assert list(got.loc["c2"]) == [0, 0.0, 0.0, 0.0, 0, 19.0]


def test_empty_workspace_gives_an_empty_frame(workspace: Workspace) -> None:
    got = rfm_summary(workspace, calibration_end=date(2024, 1, 1))
    assert got.empty
    assert list(got.columns) == [
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "frequency_holdout",
        "duration_holdout",
    ]


def test_bad_arguments_raise_model_error(workspace: Workspace) -> None:
    with pytest.raises(ModelError, match="time unit"):
        rfm_summary(workspace, time_unit="year")  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="after the observation end"):
        rfm_summary(workspace, calibration_end=date(2024, 2, 1), observation_end=date(2024, 1, 1))
