"""Xero importer: sales invoice exports in, invoices and customers out.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import smbgrowth
from smbgrowth.data.workspace import Workspace
from tests.data.importing import column, money, record, run_import, utc


@pytest.fixture
def nz_workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = smbgrowth.init_workspace(tmp_path / "nz", currency="NZD", time_zone="Pacific/Auckland")
    try:
        yield ws
    finally:
        ws.close()


def test_xero_line_rows_collapse_to_one_invoice_each(nz_workspace: Workspace) -> None:
    run_import(nz_workspace, "xero", "xero/sales_invoices.csv")
    assert column(nz_workspace, "SELECT invoice_id FROM invoices ORDER BY 1") == [
        "INV-0001",
        "INV-0002",
        "INV-0003",
    ]
    inv = record(nz_workspace, "invoices", invoice_id="INV-0002")
    assert inv["amount"] == money("575.00")  # 3 lines, 500.00 + 75.00 GST
    assert inv["tax"] == money("75.00")
    assert inv["paid_amount"] == money("0.00")
    assert inv["currency"] == "NZD"
    assert inv["customer_id"] == "Kauri Cafe"
    assert record(nz_workspace, "customers", customer_id="Kauri Cafe")["email"] == (
        "hello@kauri.example"
    )


def test_xero_day_first_dates_are_read_as_day_month_year(nz_workspace: Workspace) -> None:
    result = run_import(nz_workspace, "xero", "xero/sales_invoices.csv")
    assert result.files[0].date_formats == {"issued_at": "%d/%m/%Y", "due_at": "%d/%m/%Y"}
    inv = record(nz_workspace, "invoices", invoice_id="INV-0001")
    # 15/03/2024 midnight in Auckland (NZDT, +13) and 14/04/2024 (NZST, +12)
    assert inv["issued_at"] == utc(2024, 3, 14, 11)
    assert inv["due_at"] == utc(2024, 4, 13, 12)


def test_xero_bills_in_the_export_are_skipped_and_counted(nz_workspace: Workspace) -> None:
    result = run_import(nz_workspace, "xero", "xero/sales_invoices.csv")
    assert result.files[0].rows_read == 7
    assert result.files[0].rows_skipped == 1  # the ACCPAY row
    assert column(nz_workspace, "SELECT count(*) FROM invoices WHERE invoice_id = 'SUP-77'") == [0]
    assert "Office Supplies Ltd" not in column(nz_workspace, "SELECT customer_id FROM customers")


def test_xero_statuses_are_normalised(nz_workspace: Workspace) -> None:
    run_import(
        nz_workspace,
        "xero",
        "xero/sales_invoices.csv",
        "xero/sales_invoices_template_headers.csv",
    )
    assert dict(
        nz_workspace.duck.execute("SELECT invoice_id, status FROM invoices").fetchall()
    ) == {
        "INV-0001": "paid",
        "INV-0002": "open",  # AUTHORISED
        "INV-0003": "void",  # VOIDED
        "INV-0004": "draft",
        "INV-0005": "paid",
    }


def test_xero_due_dates_that_read_both_ways_follow_the_invoice_dates(
    nz_workspace: Workspace,
) -> None:
    # every DueDate (01/04/2024, 03/05/2024) reads as month/day too; InvoiceDate
    # 15/03/2024 shows the file is day first
    result = run_import(nz_workspace, "xero", "xero/sales_invoices_early_due_dates.csv")
    assert result.files[0].date_formats["due_at"] == "%d/%m/%Y"
    inv = record(nz_workspace, "invoices", invoice_id="INV-0001")
    assert inv["due_at"] == utc(2024, 3, 31, 11)  # 1 April, midnight NZDT
    assert record(nz_workspace, "invoices", invoice_id="INV-0003")["due_at"] == utc(2024, 5, 2, 12)


def test_xero_template_headers_with_asterisks_are_recognised(nz_workspace: Workspace) -> None:
    result = run_import(nz_workspace, "xero", "xero/sales_invoices_template_headers.csv")
    assert result.files[0].mapping["invoice_id"] == "*InvoiceNumber"
    inv = record(nz_workspace, "invoices", invoice_id="INV-0004")
    assert inv["customer_id"] == "Tui Books"
    assert inv["amount"] == money("69.00")
    assert inv["issued_at"] == utc(2024, 4, 27, 12)  # 28/04/2024 NZST
