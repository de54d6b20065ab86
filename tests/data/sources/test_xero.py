"""Xero importer: sales invoice exports in, invoices and customers out.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

import smbgrowth
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError
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


def test_xero_bills_in_the_export_become_expenses_not_invoices(nz_workspace: Workspace) -> None:
    result = run_import(nz_workspace, "xero", "xero/sales_invoices.csv")
    assert [f.target for f in result.files] == ["invoices", "expenses"]
    assert result.files[0].rows_read == 7
    assert sum(f.rows_skipped for f in result.files) == 0  # 6 invoice lines, 1 bill line
    assert column(nz_workspace, "SELECT count(*) FROM invoices WHERE invoice_id = 'SUP-77'") == [0]
    assert "Office Supplies Ltd" not in column(nz_workspace, "SELECT customer_id FROM customers")
    assert nz_workspace.duck.execute(
        "SELECT vendor, category, amount FROM expenses"
    ).fetchall() == [("Office Supplies Ltd", "429", money("46.00"))]


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


def test_xero_bills_export_one_expense_per_bill_credit_notes_skipped(
    nz_workspace: Workspace,
) -> None:
    result = run_import(nz_workspace, "xero", "xero/bills.csv")
    # KC-88 has two lines (tins on account 310, labels on 320): one expense, first account
    assert nz_workspace.duck.execute(
        "SELECT vendor, category, amount, incurred_at, due_at FROM expenses ORDER BY vendor"
    ).fetchall() == [
        # a bill without a number is known by its supplier, date and total
        (
            "Harbourside Leasing",
            "469",
            money("2300.00"),
            utc(2024, 3, 31, 11),
            utc(2024, 4, 19, 12),
        ),
        ("Kettle & Co", "310", money("690.00"), utc(2024, 3, 17, 11), utc(2024, 4, 16, 12)),
    ]
    assert sum(f.rows_skipped for f in result.files) == 1  # the ACCPAYCREDIT credit note
    assert column(nz_workspace, "SELECT count(*) FROM invoices") == [0]
    again = run_import(nz_workspace, "xero", "xero/bills.csv")
    assert all(c.inserted == c.updated == 0 for c in again.totals().values())


def test_xero_account_transactions_report_spending_from_debits(nz_workspace: Workspace) -> None:
    result = run_import(nz_workspace, "xero", "xero/account_transactions.csv")
    # the rent appears under the bank (credit) and Rent (debit 2,000.00 net of GST); the
    # bill under Accounts Payable (credit) and Packaging Materials (debit 600.00)
    assert nz_workspace.duck.execute(
        "SELECT category, amount, incurred_at FROM expenses ORDER BY incurred_at"
    ).fetchall() == [
        ("Rent", money("2000.00"), utc(2024, 3, 3, 11)),  # 4 Mar 2024, NZDT
        ("Packaging Materials", money("600.00"), utc(2024, 3, 17, 11)),
    ]
    assert result.files[0].date_formats == {"incurred_at": "%d %b %Y"}
    warnings = result.files[0].warnings
    assert any("no Contact column" in w for w in warnings)
    # 21 rows below the header; 2 imported; headings, balances, totals, receipts,
    # payments and credits skipped
    assert result.files[0].rows_read == 21
    assert result.files[0].rows_skipped == 19
    again = run_import(nz_workspace, "xero", "xero/account_transactions.csv")
    assert all(c.inserted == c.updated == 0 for c in again.totals().values())


def test_xero_account_transactions_as_an_excel_workbook(
    nz_workspace: Workspace, tmp_path: Path
) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (
        ["Account Transactions"],
        ["Tasman Tea Company Ltd"],
        ["For the period 1 March 2024 to 31 March 2024"],
        [],
        ["Date", "Source", "Description", "Reference", "Debit", "Credit", "Running Balance"],
        ["Rent"],
        [datetime(2024, 3, 4), "Spend Money", "Harbourside Leasing", "MAR-RENT", 2000, None, 2000],
        ["Total Rent", None, None, None, 2000, None, None],
        ["Total", None, None, None, 2000, None, None],
    ):
        sheet.append(row)
    path = tmp_path / "Account Transactions.xlsx"
    book.save(path)
    run_import(nz_workspace, "xero", path)
    assert nz_workspace.duck.execute("SELECT category, amount FROM expenses").fetchall() == [
        ("Rent", money("2000.00"))
    ]


def test_xero_file_of_another_kind_names_what_is_missing(nz_workspace: Workspace) -> None:
    with pytest.raises(MappingError) as info:
        run_import(nz_workspace, "xero", "woocommerce/webtoffee_orders.csv")
    message = str(info.value)
    assert "\n" not in message
    assert "InvoiceNumber" in message and "'order_id'" in message
