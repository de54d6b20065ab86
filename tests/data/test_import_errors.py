"""Awkward files: encodings, money strings, ambiguous dates, formula cells, bad cells,
rollback, duplicates, missing columns and empty files.

Every expected number below can be read off the fixture files in
``tests/data/fixtures``; the comments show the arithmetic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import DataError, InputFileError, MappingError, ValidationError
from tests.data.importing import FIXTURES, money, record, run_import, snapshot, utc


def test_utf8_bom_and_crlf_line_ends_are_read(workspace: Workspace) -> None:
    result = run_import(workspace, "csv", "nasty/bom_crlf_orders.csv", table="orders")
    assert result.files[0].mapping["order_id"] == "Order ID"  # no BOM glued to the header
    assert workspace.duck.execute("SELECT order_id, total FROM orders ORDER BY 1").fetchall() == [
        ("W-100", money("10.50")),
        ("W-101", money("20.00")),
        ("W-102", money("5.25")),
    ]
    assert record(workspace, "customers", customer_id="K-2")["name"] == "Zoë Brandt"


def test_latin1_file_is_decoded(workspace: Workspace) -> None:
    result = run_import(workspace, "csv", "nasty/latin1_customers.csv", table="customers")
    assert result.files[0].encoding == "latin-1"
    d1 = record(workspace, "customers", customer_id="D-1")
    assert (d1["name"], d1["city"]) == ("Jürgen Müller", "München")
    b7 = record(workspace, "customers", customer_id="B-7")
    assert (b7["name"], b7["city"]) == ("João Conceição", "São Paulo")
    assert record(workspace, "customers", customer_id="F-3")["city"] == "Besançon"


def test_semicolon_file_with_european_money_and_dates(workspace: Workspace) -> None:
    result = run_import(workspace, "csv", "nasty/eu_semicolon_orders.csv", table="orders")
    assert result.files[0].date_formats == {"ordered_at": "%d.%m.%Y"}
    assert workspace.duck.execute(
        "SELECT order_id, total, ordered_at FROM orders ORDER BY 1"
    ).fetchall() == [
        ("E-1", money("1234.50"), utc(2024, 3, 15, 4)),  # "1.234,50 €", midnight EDT
        ("E-2", money("99.95"), utc(2024, 3, 16, 4)),
        ("E-3", money("12345678.00"), utc(2024, 3, 17, 4)),
    ]


def test_money_strings_with_symbols_and_parentheses(workspace: Workspace) -> None:
    run_import(workspace, "csv", "nasty/money_strings_orders.csv", table="orders")
    assert workspace.duck.execute(
        "SELECT order_id, total, refunded, status FROM orders ORDER BY 1"
    ).fetchall() == [
        ("M-1", money("1234.50"), money("0.00"), "completed"),  # "$1,234.50"
        ("M-2", money("-12.00"), None, "completed"),  # (12.00)
        ("M-3", money("-250.00"), None, "completed"),  # $(250.00)
        ("M-4", money("99.00"), money("99.00"), "refunded"),  # USD 99.00, all refunded
    ]


def test_latin1_byte_far_down_a_file_is_decoded(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    rows = b"".join(b"C%d,Name %d,Springfield\n" % (i, i) for i in range(5000))
    path.write_bytes(b"Customer ID,Name,City\n" + rows + b"D-1,J\xfcrgen M\xfcller,M\xfcnchen\n")
    result = run_import(workspace, "csv", path, table="customers")
    assert result.files[0].encoding == "latin-1"
    assert record(workspace, "customers", customer_id="D-1")["name"] == "Jürgen Müller"
    assert workspace.row_count("customers") == 5001


def test_quoted_cells_with_line_breaks_keep_them(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "Order ID,Order Date,Customer ID,Total,Customer Name\n"
        'Q-1,2024-02-01,K-1,10.00,"Line one\nline two, with comma"\n'
        'Q-2,2024-02-02,K-2,20.00,"Say ""hi"""\n'
        "Q-3,2024-02-03,K-3,30.00\n",  # a short row: no name
        encoding="utf-8",
    )
    run_import(workspace, "csv", path, table="orders")
    assert record(workspace, "customers", customer_id="K-1")["name"] == (
        "Line one\nline two, with comma"
    )
    assert record(workspace, "customers", customer_id="K-2")["name"] == 'Say "hi"'
    assert record(workspace, "orders", order_id="Q-3")["total"] == money("30.00")
    assert record(workspace, "customers", customer_id="K-3")["name"] is None
    # a record spanning two lines is still one spreadsheet row: Q-2 is row 3
    bad = path.read_text(encoding="utf-8").replace("20.00", "twenty")
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        run_import(workspace, "csv", path, table="orders")
    assert info.value.row == 3


def test_foreign_currency_orders_are_converted_with_workspace_rates(
    workspace: Workspace, tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "Order ID,Order Date,Customer ID,Currency,Total\n"
        "F-1,2024-02-15,K-1,EUR,100.00\n"
        "F-2,2024-03-05,K-1,eur,50.00\n"
        "F-3,2024-03-05,K-2,USD,20.00\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="no EUR→USD rate"):
        run_import(workspace, "csv", orders, table="orders")
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,date,rate\nEUR,2024-01-01,1.10\nEUR,2024-03-01,1.08\n")
    run_import(workspace, "csv", rates, table="fx_rates")
    run_import(workspace, "csv", orders, table="orders")
    assert workspace.duck.execute(
        "SELECT order_id, currency, total_original, total FROM orders ORDER BY 1"
    ).fetchall() == [
        ("F-1", "EUR", money("100.00"), money("110.00")),  # rate of 2024-01-01
        ("F-2", "EUR", money("50.00"), money("54.00")),  # rate of 2024-03-01
        ("F-3", "USD", money("20.00"), money("20.00")),
    ]


def test_ambiguous_dates_without_a_date_format_stop_the_import(workspace: Workspace) -> None:
    with pytest.raises(MappingError) as info:
        run_import(workspace, "csv", "nasty/ambiguous_dates_orders.csv", table="orders")
    message = str(info.value)
    assert "ambiguous_dates_orders.csv" in message
    assert "'Order Date'" in message
    assert "date_format" in message
    assert "03/04/2024" in message
    assert workspace.row_count("orders") == 0


def test_ambiguous_dates_with_a_date_format_are_read_that_way(workspace: Workspace) -> None:
    run_import(
        workspace, "csv", "nasty/ambiguous_dates_orders.csv", table="orders", date_format="%d/%m/%Y"
    )
    assert record(workspace, "orders", order_id="A-1")["ordered_at"] == utc(2024, 4, 3, 4)


def test_formula_cells_are_stored_verbatim_as_text(workspace: Workspace) -> None:
    result = run_import(workspace, "csv", "nasty/formula_customers.csv", table="customers")
    assert dict(workspace.duck.execute("SELECT customer_id, name FROM customers").fetchall()) == {
        "X-1": '=HYPERLINK("http://x","y")',
        "X-2": "=1+1",
        "X-3": "Plain Name",
    }
    assert any("formula" in w and w.startswith("2 row(s)") for w in result.files[0].warnings)


@pytest.mark.parametrize("bad", ["12,3,4", "abc"])
def test_bad_money_cell_names_file_row_column_value_and_expectation(
    workspace: Workspace, tmp_path: Path, bad: str
) -> None:
    text = (FIXTURES / "nasty" / "bad_money_orders.csv").read_text(encoding="utf-8")
    path = tmp_path / "bad_money_orders.csv"
    path.write_text(text.replace('"12,3,4"', f'"{bad}"'), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        run_import(workspace, "csv", path, table="orders")
    err = info.value
    # header is row 1, so the third data row is row 4
    assert (err.file, err.row, err.column, err.value) == ("bad_money_orders.csv", 4, "Total", bad)
    assert err.expected is not None and "amount" in err.expected
    message = str(err)
    for part in ("bad_money_orders.csv", "row 4", "'Total'", repr(bad), "an amount such as"):
        assert part in message


def test_failed_import_leaves_the_workspace_unchanged(shopify: Workspace) -> None:
    before = snapshot(shopify)
    with pytest.raises(ValidationError):
        run_import(shopify, "csv", "nasty/bad_money_orders.csv", table="orders")
    assert snapshot(shopify) == before


def test_bad_second_file_rolls_back_the_first(shopify: Workspace) -> None:
    before = snapshot(shopify)
    with pytest.raises(ValidationError, match=r"bad_money_orders\.csv"):
        run_import(
            shopify,
            "csv",
            "nasty/money_strings_orders.csv",
            "nasty/bad_money_orders.csv",
            table="orders",
        )
    assert snapshot(shopify) == before
    assert shopify.row_count("orders") == 6  # only the Shopify orders


def test_duplicate_key_with_different_values_names_both_rows(workspace: Workspace) -> None:
    with pytest.raises(ValidationError) as info:
        run_import(workspace, "csv", "nasty/duplicate_key_orders.csv", table="orders")
    message = str(info.value)
    assert "duplicate_key_orders.csv" in message
    assert "rows 2 and 4" in message
    assert "D-1" in message
    assert workspace.row_count("orders") == 0


def test_missing_required_column_is_named(workspace: Workspace) -> None:
    with pytest.raises(MappingError) as info:
        run_import(workspace, "csv", "nasty/orders_without_date.csv", table="orders")
    assert "ordered_at" in str(info.value)
    assert "orders_without_date.csv" in str(info.value)


def test_mapped_column_missing_from_the_file_is_named(workspace: Workspace) -> None:
    with pytest.raises(MappingError) as info:
        run_import(
            workspace,
            "csv",
            "nasty/bad_money_orders.csv",
            mapping_file=str(FIXTURES / "nasty" / "missing_column_mapping.yaml"),
        )
    assert "'Order Total'" in str(info.value)
    assert "total" in str(info.value)


@pytest.mark.parametrize(
    ("name", "why"),
    [("empty.csv", "empty"), ("header_only.csv", "no data rows")],
)
def test_empty_and_header_only_files_are_input_file_errors(
    workspace: Workspace, name: str, why: str
) -> None:
    with pytest.raises(InputFileError, match=why):
        run_import(workspace, "csv", f"nasty/{name}", table="orders")


_BLANK = b"\xef\xbb\xbf"  # a byte-order mark and nothing else
_BLANK_LINES = b"\r\n\r\n"
_HEADER_ONLY = b"Order ID,Order Date,Total\n\n\n"


@pytest.mark.parametrize(
    ("source", "content", "why"),
    [
        ("csv", _BLANK, "empty"),
        ("csv", _BLANK_LINES, "empty"),
        ("csv", _HEADER_ONLY, "no data rows"),
        ("shopify", _BLANK, "empty"),
        ("shopify", _HEADER_ONLY, "no data rows"),
        ("quickbooks", _BLANK, "empty"),
        ("quickbooks", _BLANK_LINES, "empty"),
    ],
)
def test_blank_files_are_input_file_errors_for_every_source(
    workspace: Workspace, tmp_path: Path, source: str, content: bytes, why: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=why):
        run_import(workspace, source, path, table="orders" if source == "csv" else None)


@pytest.mark.parametrize("source", ["csv", "quickbooks", "stripe"])
def test_missing_file_is_an_input_file_error(
    workspace: Workspace, tmp_path: Path, source: str
) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        run_import(workspace, source, tmp_path / "nope.csv", table="orders")
