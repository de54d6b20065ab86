"""QuickBooks importer: transaction list reports in, rows routed by transaction type.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smbgrowth.data.importer import ImportResult
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ValidationError
from tests.data.importing import FIXTURES, money, run_import, utc


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
