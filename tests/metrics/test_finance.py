"""Finance metrics against hand-computed values and independent pandas computations."""

from __future__ import annotations

import math
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import smbgrowth
from smbgrowth.data.importer import import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MetricError
from smbgrowth.metrics import compute_metric
from smbgrowth.metrics.finance import ar_ageing, cash_runway_months

ZONE = "America/New_York"
REPO = Path(__file__).resolve().parents[2]
DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
IBM_MAPPING = REPO / "tests" / "data" / "fixtures" / "generic" / "ibm_ar_invoices_mapping.yaml"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


CUSTOMERS = pd.DataFrame({"customer_id": ["c1", "c2"], "segment": ["smb", "ent"]})

# January: o1 (100) and o2 (50, placed 2024-01-31 23:30 New York = February in UTC);
# February: o3 fully refunded (40); o4 cancelled; March: nothing; April: o5 (80, 20 back).
ORDERS = pd.DataFrame(
    {
        "order_id": ["o1", "o2", "o3", "o4", "o5"],
        "customer_id": ["c1", "c2", "c1", "c2", "c1"],
        "ordered_at": [
            utc("2024-01-10 15:00"),
            utc("2024-02-01 04:30"),
            utc("2024-02-15 12:00"),
            utc("2024-02-20 12:00"),
            utc("2024-04-05 12:00"),
        ],
        "fulfilled_at": [
            utc("2024-01-12 15:00"),
            utc("2024-02-02 16:30"),
            None,
            None,
            utc("2024-04-08 12:00"),
        ],
        "status": ["completed", "completed", "refunded", "cancelled", "partially_refunded"],
        "total": [100.0, 50.0, 40.0, 999.0, 80.0],
        "tax": [8.0, 0.0, 0.0, 0.0, 0.0],
        "shipping": [5.0, 0.0, 0.0, 0.0, 0.0],
        "refunded": [0.0, 0.0, 40.0, 0.0, 20.0],
    }
)

ORDER_LINES = pd.DataFrame(
    {
        "order_id": ["o1", "o1", "o2", "o3", "o4", "o5"],
        "line_no": [1, 2, 1, 1, 1, 1],
        "sku": ["A", "B", "C", "A", "A", "A"],
        "quantity": [2, 1, 1, 1, 10, 2],
        "unit_price": [40.0, 20.0, 50.0, 40.0, 40.0, 40.0],
        "line_total": [80.0, 20.0, 50.0, 40.0, 400.0, 80.0],
        "unit_cost": [10.0, None, None, 10.0, 10.0, 30.0],
    }
)

PRODUCTS = pd.DataFrame(
    {
        "sku": ["A", "B", "C"],
        "category": ["toys", "books", "games"],
        "unit_cost": [10.0, 5.0, None],
        "stock_on_hand": [10, 4, -3],
    }
)

INVOICES = pd.DataFrame(
    {
        "invoice_id": ["i1", "i2", "i3", "i4"],
        "customer_id": ["c1", "c2", "c1", "c2"],
        "issued_at": [
            utc("2024-01-05 15:00"),
            utc("2024-01-20 15:00"),
            utc("2024-02-10 15:00"),
            utc("2024-01-07 15:00"),
        ],
        "due_at": [
            utc("2024-02-04 15:00"),
            utc("2024-02-19 15:00"),
            utc("2024-03-11 15:00"),
            utc("2024-02-06 15:00"),
        ],
        "amount": [100.0, 200.0, 300.0, 999.0],
        "paid_at": [utc("2024-02-04 20:00"), utc("2024-03-10 15:00"), None, None],
        "paid_amount": [100.0, 200.0, 50.0, None],
        "status": ["paid", "paid", "open", "void"],
    }
)

EXPENSES = pd.DataFrame(
    {
        "expense_id": ["e1", "e2"],
        "incurred_at": [utc("2024-01-15 15:00"), utc("2024-03-01 15:00")],
        "amount": [500.0, 100.0],
    }
)


def build_shop(path: Path) -> Workspace:
    """The small hand-made business above, in a fresh workspace."""
    ws = smbgrowth.init_workspace(path, currency="USD", time_zone=ZONE)
    for name, frame in (
        ("customers", CUSTOMERS),
        ("orders", ORDERS),
        ("order_lines", ORDER_LINES),
        ("products", PRODUCTS),
        ("invoices", INVOICES),
        ("expenses", EXPENSES),
    ):
        ws.append(name, frame, source="test")
    return ws


@pytest.fixture
def shop(tmp_path: Path) -> Any:
    ws = build_shop(tmp_path / "shop")
    yield ws
    ws.close()


def values(ws: Workspace, metric: str, **kw: Any) -> dict[Any, float | None]:
    """``{period or (period, group) or group or 'total': value}`` of a metric."""
    res = compute_metric(ws, metric, **kw)
    keys = [c for c in res.frame.columns if c != "value"]
    out: dict[Any, float | None] = {}
    for rec in res.rows:
        key: Any = (
            tuple(rec[k] for k in keys) if len(keys) > 1 else rec[keys[0]] if keys else "total"
        )
        out[key] = rec["value"]
    return out


def pandas_revenue(net: bool) -> pd.Series:
    """Revenue by New York month, computed with pandas from the input frames."""
    o = ORDERS[ORDERS.status.isin(["completed", "partially_refunded", "refunded"])].copy()
    o["month"] = o.ordered_at.dt.tz_convert(ZONE).dt.strftime("%Y-%m")
    o["v"] = o.total - (o.refunded if net else 0)
    return o.groupby("month")["v"].sum()


# -- revenue ---------------------------------------------------------------------------


def test_revenue_by_month_matches_hand_values_and_pandas(shop: Workspace) -> None:
    gross = values(shop, "revenue_gross")
    net = values(shop, "revenue_net")
    assert gross == {"2024-01": 150.0, "2024-02": 40.0, "2024-03": 0.0, "2024-04": 80.0}
    assert net == {"2024-01": 150.0, "2024-02": 0.0, "2024-03": 0.0, "2024-04": 60.0}
    for metric, series in (
        ("revenue_gross", pandas_revenue(False)),
        ("revenue_net", pandas_revenue(True)),
    ):
        got = values(shop, metric)
        for month, value in series.items():
            assert got[month] == pytest.approx(value)


def test_revenue_total_and_basis_option(shop: Workspace) -> None:
    assert values(shop, "revenue_gross", grain="total") == {"total": 270.0}
    assert values(shop, "revenue_net", grain="total") == {"total": 210.0}
    excl_tax = values(shop, "revenue_gross", grain="total", options={"basis": "excl_tax"})
    assert excl_tax == {"total": 262.0}
    excl_both = values(shop, "revenue_net", grain="total", options={"basis": "excl_tax_shipping"})
    assert excl_both == {"total": 197.0}


def test_revenue_by_segment(shop: Workspace) -> None:
    assert values(shop, "revenue_net", grain="total", by="segment") == {"ent": 50.0, "smb": 160.0}
    by_month = values(shop, "revenue_gross", by="segment")
    assert by_month[("2024-01", "smb")] == 100.0
    assert by_month[("2024-01", "ent")] == 50.0
    assert by_month[("2024-03", "ent")] == 0.0


def test_orders_exclude_cancelled_and_count_late_evening_in_january(shop: Workspace) -> None:
    assert values(shop, "orders") == {"2024-01": 2, "2024-02": 1, "2024-03": 0, "2024-04": 1}
    assert values(shop, "orders", grain="total") == {"total": 4}


def test_aov_has_no_value_in_empty_months(shop: Workspace) -> None:
    aov = values(shop, "aov")
    assert aov["2024-01"] == 75.0
    assert aov["2024-02"] == 0.0
    assert aov["2024-03"] is None
    assert aov["2024-04"] == 60.0
    assert values(shop, "aov", grain="total") == {"total": 52.5}


def test_window_cuts_by_local_day(shop: Workspace) -> None:
    feb = {"start": date(2024, 2, 1), "end": date(2024, 2, 29)}
    assert values(shop, "orders", **feb) == {"2024-02": 1}
    assert values(shop, "revenue_gross", grain="total", **feb) == {"total": 40.0}
    jan = values(shop, "revenue_gross", start=date(2024, 1, 31), end=date(2024, 1, 31))
    assert jan == {"2024-01": 50.0}


def test_gross_margin(shop: Workspace) -> None:
    # January: lines A (80 revenue, 20 cost) and B (20, product cost 5); C has no cost.
    # April: A (80, 60). The refunded and the cancelled orders drop out.
    margin = values(shop, "gross_margin")
    assert margin["2024-01"] == pytest.approx(0.75)
    assert margin["2024-02"] is None
    assert margin["2024-04"] == pytest.approx(0.25)
    assert values(shop, "gross_margin", grain="total")["total"] == pytest.approx(95 / 180)
    by_cat = values(shop, "gross_margin", grain="total", by="category")
    assert by_cat == pytest.approx({"toys": 0.5, "books": 0.75})


# -- growth ----------------------------------------------------------------------------


def test_mom_growth(shop: Workspace) -> None:
    mom = values(shop, "revenue_growth_mom")
    assert mom == {"2024-01": None, "2024-02": -1.0, "2024-03": None, "2024-04": None}
    assert values(shop, "revenue_growth_mom", start=date(2024, 2, 1)) == {
        "2024-02": -1.0,
        "2024-03": None,
        "2024-04": None,
    }
    with pytest.raises(MetricError):
        compute_metric(shop, "revenue_growth_mom", grain="quarter")


@pytest.fixture
def years(tmp_path: Path) -> Any:
    """Net revenue 2022 (part): 100, 2023: 200, 2024: 300, 2025: 500, 2026 (part): 10."""
    ws = smbgrowth.init_workspace(tmp_path / "years", currency="USD", time_zone=ZONE)
    stamps = [
        "2022-06-01 15:00",
        "2023-03-01 15:00",
        "2023-09-01 15:00",
        "2024-05-01 15:00",
        "2025-02-01 15:00",
        "2026-01-01 04:30",  # 2025-12-31 23:30 in New York
        "2026-01-10 15:00",
    ]
    totals = [100.0, 100.0, 100.0, 300.0, 450.0, 50.0, 10.0]
    frame = pd.DataFrame(
        {
            "order_id": [f"y{i}" for i in range(len(stamps))],
            "ordered_at": [utc(s) for s in stamps],
            "status": "completed",
            "total": totals,
        }
    )
    ws.append("orders", frame, source="test")
    yield ws
    ws.close()


def test_yoy_growth_by_year_and_month(years: Workspace) -> None:
    yoy = values(years, "revenue_growth_yoy", grain="year")
    assert yoy == pytest.approx(
        {"2022": None, "2023": 1.0, "2024": 0.5, "2025": 500 / 300 - 1, "2026": 10 / 500 - 1},
        nan_ok=True,
    )
    monthly = values(years, "revenue_growth_yoy", grain="month")
    assert monthly["2023-06"] == -1.0
    assert monthly["2024-03"] == -1.0
    assert monthly["2023-03"] is None
    with pytest.raises(MetricError):
        compute_metric(years, "revenue_growth_yoy", grain="total")


def test_revenue_cagr(years: Workspace) -> None:
    # Full years from the data: 2023 (200) to 2025 (500, incl. the New Year's Eve order).
    assert values(years, "revenue_cagr", grain="total")["total"] == pytest.approx(
        math.sqrt(500 / 200) - 1
    )
    window = {"start": date(2023, 1, 1), "end": date(2024, 12, 31)}
    assert values(years, "revenue_cagr", grain="total", **window)["total"] == pytest.approx(0.5)
    one_year = {"start": date(2023, 1, 1), "end": date(2024, 6, 30)}
    assert values(years, "revenue_cagr", grain="total", **one_year) == {"total": None}
    with pytest.raises(MetricError):
        compute_metric(years, "revenue_cagr", grain="month")


# -- costs, burn, runway ---------------------------------------------------------------


def test_operating_expenses_and_burn(shop: Workspace) -> None:
    assert values(shop, "operating_expenses") == {
        "2024-01": 500.0,
        "2024-02": 0.0,
        "2024-03": 100.0,
    }
    burn = values(shop, "burn")
    assert burn == {"2024-01": 350.0, "2024-02": 0.0, "2024-03": 100.0, "2024-04": -60.0}
    assert values(shop, "burn", grain="total") == {"total": 390.0}
    expenses = EXPENSES.assign(m=EXPENSES.incurred_at.dt.tz_convert(ZONE).dt.strftime("%Y-%m"))
    expected = expenses.groupby("m")["amount"].sum().sub(pandas_revenue(True), fill_value=0)
    for month, value in expected.items():
        assert burn[month] == pytest.approx(value)


def test_cash_runway_months(shop: Workspace) -> None:
    # January to March burn 350 + 0 + 100 = 450, 150 a month.
    runway = cash_runway_months(shop, Decimal(1000), 3, as_of=date(2024, 4, 20))
    assert runway == pytest.approx(1000 / 150)
    assert cash_runway_months(shop, Decimal(1000), 1, as_of=date(2024, 5, 10)) is None
    with pytest.raises(ValueError, match="months"):
        cash_runway_months(shop, Decimal(1000), 0)


# -- receivables -----------------------------------------------------------------------


def test_dso_by_month_and_total(shop: Workspace) -> None:
    # Data days 5 Jan .. 10 Feb. Jan: AR 300 ÷ invoiced 300 × 27 days; Feb (to the 10th):
    # i2 200 + i3 300 − 50 paid = 450 ÷ 300 × 10. The void invoice never counts.
    assert values(shop, "dso") == pytest.approx({"2024-01": 27.0, "2024-02": 15.0})
    assert values(shop, "dso", grain="total")["total"] == pytest.approx(450 / 600 * 37)
    window = values(shop, "dso", start=date(2024, 1, 1), end=date(2024, 3, 31))
    assert window["2024-01"] == pytest.approx(31.0)
    assert window["2024-02"] == pytest.approx(450 / 300 * 29)
    assert window["2024-03"] is None
    by_segment = values(shop, "dso", by="segment")
    assert by_segment[("2024-01", "smb")] == pytest.approx(27.0)
    assert by_segment[("2024-02", "smb")] == pytest.approx(250 / 300 * 10)


def test_ar_overdue_amount(shop: Workspace) -> None:
    assert values(shop, "ar_overdue_amount", grain="total", end=date(2024, 3, 31)) == {
        "total": 250.0
    }
    assert values(shop, "ar_overdue_amount", grain="total", end=date(2024, 3, 5)) == {
        "total": 200.0
    }
    by = values(shop, "ar_overdue_amount", grain="total", by="segment", end=date(2024, 3, 5))
    assert by == {"ent": 200.0}


def test_ar_ageing_buckets(shop: Workspace) -> None:
    march = ar_ageing(shop, date(2024, 3, 5)).set_index("bucket")
    assert march["invoices"].to_dict() == {
        "current": 1,
        "1-30": 1,
        "31-60": 0,
        "61-90": 0,
        "90+": 0,
    }
    assert march.loc["current", "amount"] == 250.0
    assert march.loc["1-30", "amount"] == 200.0
    june = ar_ageing(shop, date(2024, 6, 15)).set_index("bucket")
    assert june.loc["90+", "amount"] == 250.0
    assert june["invoices"].sum() == 1


def test_invoices_paid_late_share(shop: Workspace) -> None:
    # i1 paid on its due day (on time), i2 paid three weeks late.
    assert values(shop, "invoices_paid_late_share") == {"2024-02": 0.0, "2024-03": 1.0}
    assert values(shop, "invoices_paid_late_share", grain="total") == {"total": 0.5}


# -- invariants ------------------------------------------------------------------------

_order = st.tuples(
    st.sampled_from(["a", "b", "c", None]),
    st.sampled_from(["completed", "refunded", "partially_refunded", "cancelled", "pending"]),
    st.integers(min_value=0, max_value=800),  # days after 2023-01-01
    st.integers(min_value=0, max_value=23),
    st.decimals(min_value=0, max_value=1000, places=2),
    st.decimals(min_value=0, max_value=1, places=2),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_order, min_size=1, max_size=30))
def test_revenue_by_segment_sums_to_total(orders: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = smbgrowth.init_workspace(Path(tmp) / "ws", currency="USD", time_zone=ZONE)
        try:
            ws.append(
                "customers",
                pd.DataFrame({"customer_id": ["a", "b", "c"], "segment": ["x", "y", None]}),
                source="test",
            )
            frame = pd.DataFrame(
                {
                    "order_id": [f"o{i}" for i in range(len(orders))],
                    "customer_id": [o[0] for o in orders],
                    "status": [o[1] for o in orders],
                    "ordered_at": [
                        pd.Timestamp("2023-01-01", tz="UTC") + pd.Timedelta(days=o[2], hours=o[3])
                        for o in orders
                    ],
                    "total": [str(o[4]) for o in orders],
                    "refunded": [str((o[4] * o[5]).quantize(Decimal("0.01"))) for o in orders],
                }
            )
            ws.append("orders", frame, source="test")
            for metric in ("revenue_gross", "revenue_net", "orders"):
                for grain in ("month", "total"):
                    whole = compute_metric(ws, metric, grain=grain).frame
                    split = compute_metric(ws, metric, grain=grain, by="segment").frame
                    if grain == "total":
                        assert split["value"].sum() == pytest.approx(whole["value"].sum())
                        continue
                    sums = split.groupby("period")["value"].sum()
                    for period, value in zip(whole["period"], whole["value"], strict=True):
                        assert sums.get(period, 0.0) == pytest.approx(value)
        finally:
            ws.close()


# -- real data -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ibm(tmp_path_factory: pytest.TempPathFactory) -> Any:
    source = DATASETS / "ibm_accounts_receivable.csv"
    if not source.exists():
        pytest.skip(f"real data set not present: {source}")
    ws = smbgrowth.init_workspace(
        tmp_path_factory.mktemp("ibm") / "ws", currency="USD", time_zone=ZONE
    )
    import_files(ws, "csv", [source], ImportOptions(mapping_file=str(IBM_MAPPING)))
    frame = pd.read_csv(source, dtype={"invoiceNumber": str})
    for col in ("InvoiceDate", "DueDate", "SettledDate"):
        frame[col] = pd.to_datetime(frame[col], format="%m/%d/%Y")
    yield ws, frame
    ws.close()


def test_ibm_late_share_matches_days_late(ibm: Any) -> None:
    ws, frame = ibm
    total = values(ws, "invoices_paid_late_share", grain="total")["total"]
    assert total == pytest.approx((frame.DaysLate > 0).mean())
    monthly = values(ws, "invoices_paid_late_share")
    expected = (frame.DaysLate > 0).groupby(frame.SettledDate.dt.strftime("%Y-%m")).mean()
    for month, value in expected.items():
        assert monthly[month] == pytest.approx(value)


def pandas_dso(frame: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> float:
    """DSO over [first, last]: open at ``last`` ÷ invoiced in the days × days."""
    issued = frame.InvoiceDate
    open_at_end = (issued <= last) & (frame.SettledDate > last)
    invoiced = frame.InvoiceAmount[(issued >= first) & (issued <= last)].sum()
    days = (last - first).days + 1
    return float(frame.InvoiceAmount[open_at_end].sum() / invoiced * days)


def test_ibm_dso_matches_pandas(ibm: Any) -> None:
    ws, frame = ibm
    first, last = frame.InvoiceDate.min(), frame.InvoiceDate.max()
    total = values(ws, "dso", grain="total")["total"]
    assert total == pytest.approx(pandas_dso(frame, first, last))
    monthly = values(ws, "dso")
    for start in pd.period_range(first, last, freq="M"):
        lo = max(start.start_time, first)
        hi = min(start.end_time.normalize(), last)
        assert monthly[str(start)] == pytest.approx(pandas_dso(frame, lo, hi)), start
