"""QuickBooks importer: transaction list reports in, rows routed by transaction type.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from smbgrowth.data.importer import ImportResult
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError, ValidationError
from tests.data.importing import FIXTURES, money, record, run_import, snapshot, utc


@pytest.fixture
def quickbooks(workspace: Workspace) -> tuple[Workspace, ImportResult]:
    return workspace, run_import(workspace, "quickbooks", "quickbooks/transaction_list.csv")


def test_quickbooks_rows_are_routed_by_transaction_type(
    quickbooks: tuple[Workspace, ImportResult],
) -> None:
    ws, _ = quickbooks
    assert ws.duck.execute(
        "SELECT invoice_id, customer_id, amount, issued_at FROM invoices ORDER BY 1"
    ).fetchall() == [
        ("1001", "Amy's Bird Sanctuary", money("1200.00"), utc(2024, 1, 5, 5)),
        ("1002", "Bill's Windsurf Shop", money("450.00"), utc(2024, 1, 19, 5)),
    ]
    sale = ws.duck.execute(
        "SELECT order_number, customer_id, total, channel FROM orders"
    ).fetchall()
    assert sale == [("1008", "Cool Cars", money("2000.00"), "quickbooks")]


def test_quickbooks_accounting_amounts_become_positive_expenses(
    quickbooks: tuple[Workspace, ImportResult],
) -> None:
    ws, _ = quickbooks
    assert ws.duck.execute(
        "SELECT vendor, category, amount FROM expenses ORDER BY vendor"
    ).fetchall() == [
        ("Hicks Hardware", "Job Materials", money("500.00")),  # (500.00)
        ("Norton Lumber", "Job Materials", money("1050.75")),  # "1,050.75"
        ("Rent Company", "Rent or Lease", money("250.00")),  # $(250.00)
    ]


def test_quickbooks_title_section_total_and_footer_rows_are_skipped_and_counted(
    quickbooks: tuple[Workspace, ImportResult],
) -> None:
    _, result = quickbooks
    # below the header: 2 section rows, 2 "Total for" rows, 1 empty row, TOTAL, the footer,
    # and a payment, a deposit and a journal entry that no table takes: 10 skipped
    assert result.files[-1].rows_read == 16
    assert sum(f.rows_skipped for f in result.files) == 10
    assert any("10 row(s) skipped" in w for f in result.files for w in f.warnings)


def test_quickbooks_file_counts_its_rows_once_in_the_import_log(
    quickbooks: tuple[Workspace, ImportResult],
) -> None:
    ws, result = quickbooks
    # one file routed to invoices, expenses and orders
    assert [f.target for f in result.files] == ["invoices", "expenses", "orders"]
    log = ws.imports().iloc[0]
    assert log["rows_read"] == 16
    assert log["inserted"] == 2 + 2 + 3 + 1 + 1  # customers, invoices, expenses, customers, orders


def test_quickbooks_bad_amount_names_its_row_in_the_file(
    workspace: Workspace, tmp_path: Path
) -> None:
    text = (FIXTURES / "quickbooks" / "transaction_list.csv").read_text(encoding="utf-8")
    path = tmp_path / "transaction_list.csv"
    path.write_text(text.replace("Services,450.00", "Services,4S0.00"), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        run_import(workspace, "quickbooks", path)
    # four title lines, the header on line 5, invoice 1002 on line 8
    assert (info.value.row, info.value.column, info.value.value) == (8, "Amount", "4S0.00")


# -- report layouts as QuickBooks Online downloads them today -------------------------


def test_quickbooks_sales_by_customer_detail_takes_the_customer_from_its_section(
    workspace: Workspace,
) -> None:
    result = run_import(workspace, "quickbooks", "quickbooks/sales_by_customer_detail.csv")
    assert [f.target for f in result.files] == ["invoices", "order_lines"]
    # invoice 2001 has two lines: 1,500.00 + 240.00; the customer is the section heading
    assert workspace.duck.execute(
        "SELECT invoice_id, customer_id, amount, issued_at, due_at FROM invoices ORDER BY 1"
    ).fetchall() == [
        ("2001", "Alder & Finch", money("1740.00"), utc(2024, 1, 8, 5), None),
        ("2002", "Brightwater Co", money("2400.00"), utc(2024, 2, 20, 5), None),
    ]
    # sales receipts become orders with lines: 3002 is 74.00 of posters + 12.00 shipping
    assert workspace.duck.execute(
        "SELECT order_id, customer_id, total, status, channel FROM orders ORDER BY 1"
    ).fetchall() == [
        ("3001", "Alder & Finch", money("185.00"), "completed", "quickbooks"),
        ("3002", "Brightwater Co", money("86.00"), "completed", "quickbooks"),
    ]
    assert workspace.duck.execute(
        "SELECT line_no, sku, quantity, unit_price, line_total FROM order_lines "
        "WHERE order_id = '3002' ORDER BY line_no"
    ).fetchall() == [
        (1, "Prints:A2 Poster", money("4"), money("18.50"), money("74.00")),
        (2, "Shipping", None, None, money("12.00")),
    ]


def test_quickbooks_sales_detail_says_what_it_lacks_and_counts_skipped_rows(
    workspace: Workspace,
) -> None:
    result = run_import(workspace, "quickbooks", "quickbooks/sales_by_customer_detail.csv")
    warnings = [w for f in result.files for w in f.warnings]
    assert any("no due dates" in w for w in warnings)
    assert any("1 credit memo or refund row(s) are not imported" in w for w in warnings)
    # 13 rows below the header: 2 section headings, 2 "Total for", TOTAL, the footer,
    # the credit memo and 6 lines imported (3 invoice lines, 3 receipt lines)
    assert result.files[0].rows_read == 13
    assert sum(f.rows_skipped for f in result.files) == 7


def test_quickbooks_reimporting_a_report_changes_nothing(workspace: Workspace) -> None:
    files = ("quickbooks/sales_by_customer_detail.csv", "quickbooks/ar_aging_detail.csv")
    run_import(workspace, "quickbooks", *files)
    before = snapshot(workspace)
    again = run_import(workspace, "quickbooks", *files)
    assert all(c.inserted == c.updated == c.removed == 0 for c in again.totals().values())
    after = snapshot(workspace)
    assert {k: v for k, v in after.items() if k != "_imports"} == {
        k: v for k, v in before.items() if k != "_imports"
    }


def test_quickbooks_ar_ageing_detail_gives_due_dates_and_open_balances(
    workspace: Workspace,
) -> None:
    result = run_import(workspace, "quickbooks", "quickbooks/ar_aging_detail.csv")
    assert workspace.duck.execute(
        "SELECT invoice_id, customer_id, amount, paid_amount, due_at FROM invoices ORDER BY 1"
    ).fetchall() == [
        # 2,400.00 with 1,400.00 still open: 1,000.00 paid
        ("2002", "Brightwater Co", money("2400.00"), money("1000.00"), utc(2024, 3, 21, 4)),
        ("2003", "Alder & Finch", money("880.00"), money("0.00"), utc(2024, 4, 19, 4)),
    ]
    assert any("only invoices still open" in w for w in result.files[0].warnings)
    # bucket headings, their totals, TOTAL, the footer and the credit memo: 7 skipped
    assert sum(f.rows_skipped for f in result.files) == 7


def test_quickbooks_general_ledger_counts_each_invoice_once(workspace: Workspace) -> None:
    result = run_import(workspace, "quickbooks", "quickbooks/general_ledger.csv")
    # invoice 2001 appears under A/R and twice under Design Income: read from A/R only
    assert workspace.duck.execute(
        "SELECT invoice_id, customer_id, amount FROM invoices ORDER BY 1"
    ).fetchall() == [
        ("2001", "Alder & Finch", money("1740.00")),
        ("2002", "Brightwater Co", money("2400.00")),
    ]
    # the bill under Accounts Payable, categorised by its split account
    assert workspace.duck.execute("SELECT vendor, category, amount FROM expenses").fetchall() == [
        ("Kiln Rentals", "Rent or Lease", money("950.00"))
    ]
    assert any("once per account" in w for w in result.files[0].warnings)


def test_quickbooks_excel_report_with_a_blank_first_column(
    workspace: Workspace, tmp_path: Path
) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    rows: list[list[object]] = [
        ["Harbour Lane Studio"],
        ["Sales by Customer Detail"],
        ["January 1 - March 31, 2024"],
        [],
        [
            None,
            "Transaction date",
            "Transaction type",
            "Num",
            "Product/Service full name",
            "Memo/Description",
            "Quantity",
            "Sales price",
            "Amount",
            "Balance",
        ],
        ["Alder & Finch"],
        [None, datetime(2024, 1, 8), "Invoice", 2001, "Design:Logo", None, 1, 1500, 1500, 1500],
        [
            None,
            datetime(2024, 2, 12),
            "Sales Receipt",
            3001,
            "Prints:A2 Poster",
            None,
            10,
            18.5,
            185,
            1685,
        ],
        ["Total for Alder & Finch", None, None, None, None, None, 11, None, 1685],
        ["Brightwater Co"],
        [
            None,
            datetime(2024, 2, 20),
            "Invoice",
            2002,
            "Design:Brand guide",
            None,
            1,
            2400.0,
            2400.0,
            2400.0,
        ],
        ["Total for Brightwater Co", None, None, None, None, None, 1, None, 2400],
        ["TOTAL", None, None, None, None, None, 12, None, 4085],
        [],
        ["Accrual Basis Monday, April 1, 2024 09:12 AM GMT-04:00"],
    ]
    for row in rows:
        sheet.append(row)
    path = tmp_path / "sales_by_customer_detail.xlsx"
    book.save(path)
    result = run_import(workspace, "quickbooks", path)
    assert workspace.duck.execute(
        "SELECT invoice_id, customer_id, amount, issued_at FROM invoices ORDER BY 1"
    ).fetchall() == [
        ("2001", "Alder & Finch", money("1500.00"), utc(2024, 1, 8, 5)),
        ("2002", "Brightwater Co", money("2400.00"), utc(2024, 2, 20, 5)),
    ]
    assert record(workspace, "orders", order_id="3001")["total"] == money("185.00")
    # 10 rows below the header, the empty one dropped; 2 headings, 2 totals, TOTAL and
    # the footer skipped
    assert result.files[0].rows_read == 9
    assert sum(f.rows_skipped for f in result.files) == 6


def test_quickbooks_file_of_another_kind_names_what_is_missing(workspace: Workspace) -> None:
    with pytest.raises(MappingError) as info:
        run_import(workspace, "quickbooks", "xero/sales_invoices.csv")
    message = str(info.value)
    assert "\n" not in message
    assert "a date column" in message and "'ContactName'" in message
