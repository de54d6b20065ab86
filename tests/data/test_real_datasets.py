"""Real public data sets through the importers, checked against an independent pandas reading.

The files live outside the repository in ``shared/datasets`` (see its SOURCES.md);
the tests are skipped when that folder is absent. Money is compared exactly at the
file's precision: pandas reads each amount as text and sums it as a Decimal, as the
workspace stores it (up to four decimals, as in Superstore's line totals).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import smbgrowth
from smbgrowth.data.importer import ImportResult, import_files
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.workspace import Workspace

# tests/data/test_real_datasets.py -> parents[3] is the folder holding the repo and shared/
DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TIME_ZONE = "America/New_York"


def dataset(name: str) -> Path:
    path = DATASETS / name
    if not path.is_file():
        pytest.skip(f"real data set {name} not found in {DATASETS}")
    return path


def exact(text: str) -> Decimal:
    """An amount written as text, exactly as the file writes it."""
    return Decimal(text)


def total(values: pd.Series) -> Decimal:
    """The exact sum of amounts written as text."""
    return sum((exact(v) for v in values), Decimal(0))


def _workspace(factory: pytest.TempPathFactory, name: str) -> Workspace:
    return smbgrowth.init_workspace(
        factory.mktemp(name) / "ws", currency="USD", time_zone=TIME_ZONE
    )


@pytest.fixture(scope="module")
def imported(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Workspace, dict[str, ImportResult]]]:
    """Superstore orders and IBM receivables, imported once into one workspace."""
    superstore = dataset("superstore_sample.csv")
    receivables = dataset("ibm_accounts_receivable.csv")
    ws = _workspace(tmp_path_factory, "real")
    try:
        results = {
            "superstore": import_files(
                ws,
                "csv",
                [superstore],
                ImportOptions(mapping_file=str(FIXTURES / "generic" / "order_lines_mapping.yaml")),
            ),
            "receivables": import_files(
                ws,
                "csv",
                [receivables],
                ImportOptions(
                    mapping_file=str(FIXTURES / "generic" / "ibm_ar_invoices_mapping.yaml")
                ),
            ),
        }
        yield ws, results
    finally:
        ws.close()


@pytest.fixture(scope="module")
def cdnow_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """CDNOW transactions (customer, date, CDs, dollars) imported as orders, no mapping."""
    path = dataset("cdnow_sample.csv")
    ws = _workspace(tmp_path_factory, "cdnow")
    try:
        result = import_files(ws, "csv", [path], ImportOptions(table="orders"))
        assert result.files[0].mapping == {
            "customer_id": "customer_id",
            "ordered_at": "date",
            "total": "dollar_value",
        }
        yield ws
    finally:
        ws.close()


# -- Superstore ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def superstore_frame() -> pd.DataFrame:
    frame = pd.read_csv(dataset("superstore_sample.csv"), dtype=str, encoding="utf-8-sig")
    frame["amount"] = frame["Sales"].map(exact)
    return frame


def test_superstore_orders_and_lines_are_counted(
    imported: tuple[Workspace, dict[str, ImportResult]], superstore_frame: pd.DataFrame
) -> None:
    ws, results = imported
    assert ws.row_count("order_lines") == len(superstore_frame) == 9994
    assert ws.row_count("orders") == superstore_frame["Order ID"].nunique() == 5009
    assert ws.row_count("products") == superstore_frame["Product ID"].nunique()
    assert results["superstore"].files[0].rows_read == 9994


def test_superstore_revenue_matches_the_file_exactly(
    imported: tuple[Workspace, dict[str, ImportResult]], superstore_frame: pd.DataFrame
) -> None:
    ws, _ = imported
    lines = ws.duck.execute("SELECT sum(line_total) FROM order_lines").fetchone()
    orders = ws.duck.execute("SELECT sum(total) FROM orders").fetchone()
    assert lines is not None and orders is not None
    # 2,297,200.8603 in the file; rounding each line to cents gave 2,297,201.07
    assert lines[0] == orders[0] == total(superstore_frame["Sales"])


def test_superstore_revenue_per_segment_matches_pandas(
    imported: tuple[Workspace, dict[str, ImportResult]], superstore_frame: pd.DataFrame
) -> None:
    ws, _ = imported
    got = {
        segment: amount
        for segment, amount in ws.duck.execute(
            "SELECT c.segment, sum(l.line_total) FROM order_lines l "
            "JOIN orders o USING (order_id) JOIN customers c USING (customer_id) "
            "GROUP BY c.segment"
        ).fetchall()
    }
    expected = superstore_frame.groupby("Segment")["Sales"].agg(total).to_dict()
    assert got == expected
    assert set(got) == {"Consumer", "Corporate", "Home Office"}


def test_superstore_revenue_per_category_matches_pandas(
    imported: tuple[Workspace, dict[str, ImportResult]], superstore_frame: pd.DataFrame
) -> None:
    ws, _ = imported
    got = {
        category: amount
        for category, amount in ws.duck.execute(
            "SELECT product_category, sum(line_total) FROM order_lines GROUP BY 1"
        ).fetchall()
    }
    assert got == superstore_frame.groupby("Category")["Sales"].agg(total).to_dict()


def test_superstore_order_dates_are_read_month_first(
    imported: tuple[Workspace, dict[str, ImportResult]], superstore_frame: pd.DataFrame
) -> None:
    ws, _ = imported
    got = dict(
        ws.duck.execute(
            f"SELECT order_id, CAST(timezone('{TIME_ZONE}', ordered_at) AS DATE) FROM orders"
        ).fetchall()
    )
    first = superstore_frame.drop_duplicates("Order ID").set_index("Order ID")["Order Date"]
    expected = pd.to_datetime(first, format="%m/%d/%Y").dt.date.to_dict()
    assert got == expected


# -- CDNOW ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow_frame() -> pd.DataFrame:
    frame = pd.read_csv(dataset("cdnow_sample.csv"), dtype=str)
    frame["day"] = pd.to_datetime(frame["date"], format="%Y%m%d").dt.date
    return frame


def test_cdnow_every_transaction_is_an_order(
    cdnow_ws: Workspace, cdnow_frame: pd.DataFrame
) -> None:
    # 21 rows repeat another row exactly (same customer, day and amount): still orders
    assert cdnow_frame.duplicated().sum() == 21
    assert cdnow_ws.row_count("orders") == len(cdnow_frame) == 6919
    stored = cdnow_ws.duck.execute("SELECT sum(total) FROM orders").fetchone()
    assert stored is not None
    assert stored[0] == total(cdnow_frame["dollar_value"])


def test_cdnow_customers_keep_leading_zeros(cdnow_ws: Workspace) -> None:
    assert cdnow_ws.row_count("customers") == 2357
    ids = [r[0] for r in cdnow_ws.duck.execute("SELECT customer_id FROM customers").fetchall()]
    assert "0001" in ids and "1" not in ids
    assert min(ids) == "0001"


def test_cdnow_purchase_days_match_the_published_summary(
    cdnow_ws: Workspace, cdnow_frame: pd.DataFrame
) -> None:
    days = set(
        cdnow_ws.duck.execute(
            f"SELECT DISTINCT customer_id, CAST(timezone('{TIME_ZONE}', ordered_at) AS DATE) "
            "FROM orders"
        ).fetchall()
    )
    expected = set(zip(cdnow_frame["customer_id"], cdnow_frame["day"], strict=True))
    assert len(days) == len(expected) == 6696
    assert days == expected
    # repeat-purchase days up to 1997-09-30 (39 weeks): the sum of frequency in
    # cdnow_customers_summary.csv (Fader, Hardie & Lee 2005)
    frequency = cdnow_ws.duck.execute(
        f"""SELECT sum(n - 1) FROM (
              SELECT customer_id,
                     count(DISTINCT CAST(timezone('{TIME_ZONE}', ordered_at) AS DATE)) AS n
              FROM orders WHERE timezone('{TIME_ZONE}', ordered_at) < DATE '1997-10-01'
              GROUP BY customer_id)"""
    ).fetchone()
    assert frequency is not None and frequency[0] == 2457


# -- IBM accounts receivable ---------------------------------------------------------------


@pytest.fixture(scope="module")
def receivables_frame() -> pd.DataFrame:
    return pd.read_csv(dataset("ibm_accounts_receivable.csv"), dtype=str)


def test_receivables_invoices_and_amounts_match_pandas(
    imported: tuple[Workspace, dict[str, ImportResult]], receivables_frame: pd.DataFrame
) -> None:
    ws, _ = imported
    assert ws.row_count("invoices") == len(receivables_frame) == 2466
    stored = ws.duck.execute("SELECT sum(amount) FROM invoices").fetchone()
    assert stored is not None
    assert stored[0] == total(receivables_frame["InvoiceAmount"])
    ids = {r[0] for r in ws.duck.execute("SELECT invoice_id FROM invoices").fetchall()}
    assert ids == set(receivables_frame["invoiceNumber"])
    assert "0000611365" in ids  # leading zeros kept


def test_receivables_every_invoice_is_due_thirty_days_after_issue(
    imported: tuple[Workspace, dict[str, ImportResult]],
) -> None:
    ws, _ = imported
    terms = ws.duck.execute(
        f"SELECT DISTINCT date_diff('day', CAST(timezone('{TIME_ZONE}', issued_at) AS DATE), "
        f"CAST(timezone('{TIME_ZONE}', due_at) AS DATE)) FROM invoices"
    ).fetchall()
    assert terms == [(30,)]


def test_receivables_mean_days_late_matches_the_file(
    imported: tuple[Workspace, dict[str, ImportResult]], receivables_frame: pd.DataFrame
) -> None:
    ws, _ = imported
    late = ws.duck.execute(
        f"SELECT avg(greatest(date_diff('day', CAST(timezone('{TIME_ZONE}', due_at) AS DATE), "
        f"CAST(timezone('{TIME_ZONE}', paid_at) AS DATE)), 0)) FROM invoices"
    ).fetchone()
    assert late is not None
    assert late[0] == pytest.approx(receivables_frame["DaysLate"].astype(int).mean(), abs=1e-12)
    assert late[0] == pytest.approx(3.4424, abs=1e-4)
