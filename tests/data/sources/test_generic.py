"""Generic importer: CSV, Excel and Parquet files with a table or a mapping file.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import InputFileError, MappingError, ValidationError
from tests.data.importing import (
    FIXTURES,
    ORDER_LINES_MAPPING,
    SUPERSTORE,
    changes,
    column,
    money,
    record,
    run_import,
    utc,
)


def _superstore_checks(ws: Workspace) -> None:
    assert ws.duck.execute(
        "SELECT order_id, customer_id, total FROM orders ORDER BY 1"
    ).fetchall() == [
        ("CA-2018-138688", "DV-13045", money("14.62")),
        ("CA-2018-152156", "CG-12520", money("993.90")),  # 261.96 + 731.94
        ("US-2017-108966", "SO-20335", money("987.2255")),  # 957.5775 + 22.368 + 7.28
    ]
    assert ws.duck.execute(
        "SELECT line_no, sku, product_category, quantity, line_total FROM order_lines "
        "WHERE order_id = 'US-2017-108966' ORDER BY line_no"
    ).fetchall() == [
        (1, "FUR-TA-10000577", "Furniture", Decimal("5"), money("957.5775")),  # as in the file
        (2, "OFF-ST-10000760", "Office Supplies", Decimal("2"), money("22.368")),
        (3, "OFF-AR-10002833", "Office Supplies", Decimal("4"), money("7.28")),
    ]
    # 11/8/2018 is November 8th (EST), 6/12/2018 June 12th (EDT)
    assert record(ws, "orders", order_id="CA-2018-152156")["ordered_at"] == utc(2018, 11, 8, 5)
    assert record(ws, "orders", order_id="CA-2018-138688")["ordered_at"] == utc(2018, 6, 12, 4)
    assert dict(ws.duck.execute("SELECT customer_id, segment FROM customers").fetchall()) == {
        "CG-12520": "Consumer",
        "DV-13045": "Corporate",
        "SO-20335": "Consumer",
    }
    name = record(ws, "products", sku="FUR-CH-10000454")["name"]
    assert name == "Hon Deluxe Fabric Upholstered Stacking Chairs, Rounded Back"


def test_generic_order_lines_mapping_fills_orders_lines_customers_products(
    workspace: Workspace,
) -> None:
    result = run_import(workspace, "csv", SUPERSTORE, mapping_file=str(ORDER_LINES_MAPPING))
    assert not result.files[0].mapping_guessed
    _superstore_checks(workspace)
    assert workspace.row_count("products") == 6


def _superstore_rows() -> list[dict[str, str]]:
    with (FIXTURES / SUPERSTORE).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _typed(row: dict[str, str], key: str) -> Any:
    """A cell as a spreadsheet or a typed file would hold it."""
    value = row[key]
    if key in ("Order Date", "Ship Date"):
        return datetime.strptime(value, "%m/%d/%Y")
    if key in ("Sales", "Discount", "Profit"):
        return float(value)
    if key in ("Row ID", "Quantity"):
        return int(value)
    return value


def test_generic_xlsx_imports_like_the_csv(workspace: Workspace, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    rows = _superstore_rows()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append([_typed(row, k) for k in row])
    path = tmp_path / "superstore_orders.xlsx"
    book.save(path)
    run_import(workspace, "csv", path, mapping_file=str(ORDER_LINES_MAPPING))
    _superstore_checks(workspace)


def test_generic_xlsx_with_text_cells_imports_like_the_csv(
    workspace: Workspace, tmp_path: Path
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    rows = _superstore_rows()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    path = tmp_path / "superstore_orders.xlsx"
    book.save(path)
    run_import(workspace, "csv", path, mapping_file=str(ORDER_LINES_MAPPING))
    _superstore_checks(workspace)


def test_generic_parquet_imports_like_the_csv(workspace: Workspace, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = _superstore_rows()
    table = pa.table({k: [_typed(r, k) for r in rows] for k in rows[0]})
    table = table.set_column(
        table.schema.get_field_index("Order Date"),
        "Order Date",
        pa.array([_typed(r, "Order Date").date() for r in rows], pa.date32()),
    )
    path = tmp_path / "superstore_orders.parquet"
    pq.write_table(table, path)
    run_import(workspace, "csv", path, mapping_file=str(ORDER_LINES_MAPPING))
    _superstore_checks(workspace)


WHOLESALE_MAPPING = FIXTURES / "generic" / "wholesale_orders_mapping.yaml"


def test_generic_mapping_skips_title_rows_and_sets_constants(workspace: Workspace) -> None:
    run_import(
        workspace, "csv", "generic/wholesale_orders.csv", mapping_file=str(WHOLESALE_MAPPING)
    )
    assert workspace.duck.execute(
        "SELECT order_id, customer_id, currency, total, channel, ordered_at FROM orders ORDER BY 1"
    ).fetchall() == [
        ("S-1", "K-1", "USD", money("1010.00"), "wholesale", utc(2024, 5, 13, 4)),
        ("S-2", "K-2", "USD", money("20.00"), "wholesale", utc(2024, 5, 14, 4)),
    ]


def test_generic_mapping_picks_the_workbook_sheet(workspace: Workspace, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "Summary"
    book.active.append(["Totals are on the next sheet"])
    sheet = book.create_sheet("Orders")
    sheet.append(["Weekly wholesale orders"])
    sheet.append(["Generated 2024-05-20 by the order desk"])
    sheet.append(["Order ID", "Order Date", "Client", "Currency", "Total"])
    sheet.append(["S-1", datetime(2024, 5, 13), "K-1", "USD", 1010])
    sheet.append([None, None, None, None, None])
    sheet.append(["S-2", "05/14/2024", "K-2", "USD", "2O.00"])
    path = tmp_path / "wholesale.xlsx"
    book.save(path)
    with pytest.raises(ValidationError) as info:
        run_import(workspace, "csv", path, mapping_file=str(WHOLESALE_MAPPING))
    # two title rows, the header on row 3, an empty row 5: S-2 is row 6
    assert (info.value.row, info.value.value) == (6, "2O.00")
    sheet.cell(6, 5).value = 20
    book.save(path)
    run_import(workspace, "csv", path, mapping_file=str(WHOLESALE_MAPPING))
    assert workspace.duck.execute("SELECT order_id, total FROM orders ORDER BY 1").fetchall() == [
        ("S-1", money("1010.00")),
        ("S-2", money("20.00")),
    ]
    with pytest.raises(InputFileError, match="no sheet 'Nope'; its sheets are Summary, Orders"):
        run_import(workspace, "csv", path, table="orders", sheet="Nope")


def test_generic_transactions_same_purchase_twice_a_day_are_two_orders(
    workspace: Workspace,
) -> None:
    result = run_import(workspace, "csv", "generic/transactions.csv", table="orders")
    assert result.files[0].mapping == {
        "customer_id": "customer",
        "ordered_at": "date",
        "total": "amount",
    }
    assert workspace.row_count("orders") == 4
    assert column(
        workspace,
        "SELECT count(*) FROM orders WHERE customer_id = 'C-001' AND total = 19.99 "
        "AND ordered_at = ?",
        [utc(2024, 5, 1, 4)],
    ) == [2]
    assert column(workspace, "SELECT sum(total) FROM orders") == [money("87.48")]
    ids = column(workspace, "SELECT order_id FROM orders")
    assert len(set(ids)) == 4
    # ids are derived from the rows, so the same file gives the same ids again
    again = run_import(workspace, "csv", "generic/transactions.csv", table="orders")
    assert changes(again)["orders"] == (0, 0, 4, 0)
    assert sorted(column(workspace, "SELECT order_id FROM orders")) == sorted(ids)


def test_generic_file_without_table_or_mapping_asks_for_one(workspace: Workspace) -> None:
    with pytest.raises(MappingError, match="--table"):
        run_import(workspace, "csv", "generic/transactions.csv")
