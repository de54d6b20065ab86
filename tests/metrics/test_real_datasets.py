"""KPIs on the real Superstore orders against independent pandas computations."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data.importer import import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.workspace import Workspace
from smbgrowth.metrics import compute_metric

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
SUPERSTORE = DATASETS / "superstore_sample.csv"
MAPPING = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "generic"
pytestmark = pytest.mark.skipif(
    not SUPERSTORE.exists(), reason=f"real data sets not present at {DATASETS}"
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = smbgrowth.init_workspace(tmp_path_factory.mktemp("s") / "ws", time_zone="UTC")
    import_files(
        ws,
        "csv",
        [SUPERSTORE],
        ImportOptions(mapping_file=str(MAPPING / "order_lines_mapping.yaml")),
    )
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = pd.read_csv(SUPERSTORE, encoding="utf-8-sig", dtype={"Sales": str})
    # The workspace stores each line as the file writes it (up to four decimals).
    df["amount"] = [Decimal(v) for v in df["Sales"]]
    df["year"] = pd.to_datetime(df["Order Date"], format="%m/%d/%Y").dt.year.astype(str)
    return df


def test_revenue_by_year_matches_pandas(store: Workspace, frame: pd.DataFrame) -> None:
    got = compute_metric(store, "revenue_net", grain="year").series()
    expected = frame.groupby("year")["amount"].agg(lambda s: float(sum(s, Decimal(0))))
    assert got.round(2).to_dict() == expected.round(2).to_dict()


def test_orders_by_year_match_pandas(store: Workspace, frame: pd.DataFrame) -> None:
    got = compute_metric(store, "orders", grain="year").series()
    expected = frame.groupby("year")["Order ID"].nunique()
    assert got.astype(int).to_dict() == expected.to_dict()


def test_revenue_and_customers_by_segment_match_pandas(
    store: Workspace, frame: pd.DataFrame
) -> None:
    revenue = compute_metric(store, "revenue_net", grain="total", by="segment").frame
    expected = frame.groupby("Segment")["amount"].agg(lambda s: float(sum(s, Decimal(0))))
    assert (
        dict(zip(revenue.segment, revenue.value.round(2), strict=True))
        == expected.round(2).to_dict()
    )
    customers = compute_metric(store, "new_customers", grain="total", by="segment").frame
    per_segment = frame.groupby("Segment")["Customer ID"].nunique()
    assert dict(zip(customers.segment, customers.value.astype(int), strict=True)) == (
        per_segment.to_dict()
    )
