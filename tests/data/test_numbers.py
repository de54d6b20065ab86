"""Numbers, encodings and money precision of imported files.

The decimal separator is decided per column from all its values; a column that
mixes conventions, or whose values read differently in each, is refused with one
line. Money is kept at the source's precision (four decimals). Windows-1252 and
UTF-16 exports are decoded exactly.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import smbgrowth
from smbgrowth.data.migrations import migrate_duckdb
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError, ValidationError
from tests.data.importing import FIXTURES, column, record, run_import, snapshot

NBSP, NNBSP = "\u00a0", "\u202f"


def _workspace(path: Path, currency: str = "USD") -> Workspace:
    return smbgrowth.init_workspace(path, currency=currency)


def _orders_file(path: Path, totals: list[str], ids: list[str] | None = None) -> Path:
    ids = ids or [f"N-{i}" for i in range(len(totals))]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Order ID", "Order Date", "Total"])
        for order_id, total in zip(ids, totals, strict=True):
            writer.writerow([order_id, "2024-03-01", total])
    return path


# -- conventions, rendered the way exports write them --------------------------------------


def _group(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    return sep.join([digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)])


def _render(thousands: str, decimal: str, places: int) -> Callable[[Decimal], str]:
    def render(value: Decimal) -> str:
        whole, frac = f"{abs(value):.{places}f}".split(".")
        body = f"{_group(whole, thousands) if thousands else whole}{decimal}{frac}"
        return f"-{body}" if value < 0 else body

    return render


def _accounting(value: Decimal) -> str:
    body = _render(",", ".", 2)(abs(value))
    return f"({body})" if value < 0 else body


CONVENTIONS: dict[str, tuple[Callable[[Decimal], str], int]] = {
    "us 1,234.56": (_render(",", ".", 2), 2),
    "european 1.234,56": (_render(".", ",", 2), 2),
    "french 1 234,56": (_render(" ", ",", 2), 2),
    "no-break space 1 234,56": (_render(NBSP, ",", 2), 2),
    "narrow no-break space 1 234,56": (_render(NNBSP, ",", 2), 2),
    "accounting (1,234.56)": (_accounting, 2),
    "plain 1234.5678": (_render("", ".", 4), 4),
    "swiss 1'234.56": (_render("'", ".", 2), 2),
}


def _amounts(places: int) -> st.SearchStrategy[list[Decimal]]:
    scale = 10**places
    minor = st.integers(min_value=-(10**12) * scale, max_value=10**12 * scale)
    return st.lists(minor.map(lambda m: Decimal(m) / scale), min_size=1, max_size=25)


@pytest.fixture(scope="module")
def number_ws() -> Iterator[Workspace]:
    with tempfile.TemporaryDirectory() as folder:
        ws = _workspace(Path(folder) / "ws")
        try:
            yield ws
        finally:
            ws.close()


_batch = itertools.count()


@pytest.mark.parametrize("convention", list(CONVENTIONS))
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_every_convention_reads_back_exactly(
    number_ws: Workspace, convention: str, data: st.DataObject
) -> None:
    render, places = CONVENTIONS[convention]
    amounts = data.draw(_amounts(places))
    batch = next(_batch)
    ids = [f"H{batch}-{i}" for i in range(len(amounts))]
    with tempfile.TemporaryDirectory() as folder:
        path = _orders_file(Path(folder) / "orders.csv", [render(a) for a in amounts], ids)
        run_import(number_ws, "csv", path, table="orders")
    stored = dict(
        number_ws.duck.execute(
            "SELECT order_id, total FROM orders WHERE starts_with(order_id, ?)", [f"H{batch}-"]
        ).fetchall()
    )
    assert [stored[i] for i in ids] == amounts


# -- columns that cannot be read one way ---------------------------------------------------


def test_a_column_mixing_conventions_is_refused_and_nothing_is_written(
    workspace: Workspace, tmp_path: Path
) -> None:
    run_import(workspace, "csv", "nasty/money_strings_orders.csv", table="orders")
    before = snapshot(workspace)
    path = _orders_file(tmp_path / "mixed.csv", ["1.234,50", "1,234.50", "10"])
    with pytest.raises(MappingError) as info:
        run_import(workspace, "csv", path, table="orders")
    message = str(info.value)
    assert "\n" not in message
    assert "mixed.csv" in message and "'Total'" in message
    assert "'1,234.50'" in message and "'1.234,50'" in message
    assert "decimal" in message
    assert snapshot(workspace) == before


def test_the_reported_column_is_refused_instead_of_read_three_ways(
    workspace: Workspace, tmp_path: Path
) -> None:
    # Read cell by cell these were 1.23, 1234.50 and 1234.00.
    path = _orders_file(tmp_path / "report.csv", ["1.234", "1.234,50", "1,234"])
    with pytest.raises(MappingError, match=r"report\.csv: numbers in column 'Total' mix"):
        run_import(workspace, "csv", path, table="orders")
    assert workspace.row_count("orders") == 0


def test_an_all_ambiguous_column_asks_for_the_separator(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = _orders_file(tmp_path / "thousands.csv", ["1,234", "2,500"])
    with pytest.raises(MappingError) as info:
        run_import(workspace, "csv", path, table="orders")
    message = str(info.value)
    assert "\n" not in message
    assert "thousands.csv" in message and "'Total'" in message
    assert "decimal" in message and "--decimal" in message
    assert workspace.row_count("orders") == 0

    run_import(workspace, "csv", path, table="orders", decimal=",")
    assert column(workspace, "SELECT total FROM orders ORDER BY order_id") == [
        Decimal("1.234"),
        Decimal("2.5"),
    ]
    run_import(workspace, "csv", path, table="orders", decimal=".")
    assert column(workspace, "SELECT total FROM orders ORDER BY order_id") == [
        Decimal("1234"),
        Decimal("2500"),
    ]


def test_plain_integers_and_one_decimal_values_are_not_ambiguous(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = _orders_file(tmp_path / "plain.csv", ["12", "12.5", "1,234"])
    run_import(workspace, "csv", path, table="orders")
    assert column(workspace, "SELECT total FROM orders ORDER BY order_id") == [
        Decimal("12"),
        Decimal("12.5"),
        Decimal("1234"),  # 12.5 shows '.' is the decimal separator
    ]


def test_an_ambiguous_column_follows_the_other_number_columns_of_the_file(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "eu.csv"
    path.write_text(
        "Order ID;Order Date;Total;Shipping\nA-1;2024-03-01;1.234;4,95\nA-2;2024-03-02;2.500;0\n",
        encoding="utf-8",
    )
    run_import(workspace, "csv", path, table="orders")
    assert column(workspace, "SELECT total FROM orders ORDER BY order_id") == [
        Decimal("1234"),
        Decimal("2500"),
    ]


def test_a_value_that_does_not_read_under_the_column_convention_is_a_bad_cell(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = _orders_file(tmp_path / "grouping.csv", ["1,234.50", "12.00", "1,23,4.00"])
    with pytest.raises(ValidationError) as info:
        run_import(workspace, "csv", path, table="orders")
    assert (info.value.row, info.value.column, info.value.value) == (4, "Total", "1,23,4.00")
    assert workspace.row_count("orders") == 0


def test_a_fixed_separator_makes_other_spellings_bad_cells(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = _orders_file(tmp_path / "fixed.csv", ["1.234,50", "1,234.50"])
    with pytest.raises(ValidationError) as info:
        run_import(workspace, "csv", path, table="orders", decimal=",")
    assert (info.value.row, info.value.value) == (3, "1,234.50")


# -- encodings -----------------------------------------------------------------------------


def test_a_windows_1252_export_is_decoded_exactly(workspace: Workspace) -> None:
    result = run_import(workspace, "csv", "nasty/windows1252_customers.csv", table="customers")
    assert result.files[0].encoding == "windows-1252"
    assert record(workspace, "customers", customer_id="W-1")["name"] == "Café “Zoë” Ltd"
    assert record(workspace, "customers", customer_id="W-1")["city"] == "Köln"
    assert record(workspace, "customers", customer_id="W-2")["name"] == "O‘Brien’s Bar"


def test_a_windows_1252_file_written_here_keeps_euro_and_ellipsis(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("Customer ID,Name\nE-1,€uro Shop…\n".encode("cp1252"))
    result = run_import(workspace, "csv", path, table="customers")
    assert result.files[0].encoding == "windows-1252"
    assert record(workspace, "customers", customer_id="E-1")["name"] == "€uro Shop…"
    assert not list(tmp_path.rglob("transcoded-*"))  # the UTF-8 copy is removed


def test_excel_unicode_text_utf16_tab_separated_imports(workspace: Workspace) -> None:
    result = run_import(workspace, "csv", "nasty/unicode_text_orders.txt", table="orders")
    assert result.files[0].encoding == "utf-16"
    assert column(workspace, "SELECT total FROM orders ORDER BY order_id") == [
        Decimal("1234.50"),
        Decimal("99.95"),
    ]
    assert record(workspace, "customers", customer_id="K-1")["name"] == "Zoë “Z” Brandt"


@pytest.mark.parametrize(
    ("codec", "bom", "reported"),
    [
        ("utf-16-le", b"", "utf-16"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16-be"),
        ("utf-16-be", b"", "utf-16-be"),
    ],
)
def test_utf16_without_bom_or_big_endian_imports(
    workspace: Workspace, tmp_path: Path, codec: str, bom: bytes, reported: str
) -> None:
    path = tmp_path / "wide.txt"
    text = "Customer ID\tName\r\nU-1\tJosé “Pepe” Núñez\r\n"
    path.write_bytes(bom + text.encode(codec))
    result = run_import(workspace, "csv", path, table="customers")
    assert result.files[0].encoding == reported
    assert record(workspace, "customers", customer_id="U-1")["name"] == "José “Pepe” Núñez"


# -- precision -----------------------------------------------------------------------------


def test_three_decimal_currency_is_stored_exactly(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "kw", currency="KWD")
    try:
        path = _orders_file(tmp_path / "kwd.csv", ["12.345", "0.125", "1,250.500"])
        run_import(ws, "csv", path, table="orders")
        assert column(ws, "SELECT total FROM orders ORDER BY order_id") == [
            Decimal("12.345"),
            Decimal("0.125"),
            Decimal("1250.5"),
        ]
    finally:
        ws.close()


def test_four_decimal_line_totals_sum_to_the_file_total(
    workspace: Workspace, tmp_path: Path
) -> None:
    lines = [("L-1", "19.9950"), ("L-1", "0.0049"), ("L-2", "1234.5678"), ("L-3", "0.3333")]
    path = tmp_path / "lines.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Order ID", "Order Date", "Product Name", "Quantity", "Sales"])
        for order_id, sales in lines:
            writer.writerow([order_id, "2024-03-01", "Widget", "3", sales])
    run_import(workspace, "csv", path, table="order_lines")
    file_sum = sum(Decimal(s) for _, s in lines)
    assert column(workspace, "SELECT sum(line_total) FROM order_lines") == [file_sum]
    assert column(workspace, "SELECT sum(total) FROM orders") == [file_sum]
    assert record(workspace, "orders", order_id="L-1")["total"] == Decimal("19.9999")


def test_more_than_four_decimals_are_rounded_with_one_warning(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = _orders_file(tmp_path / "fine.csv", ["1.234567", "2.00001", "3.5"])
    result = run_import(workspace, "csv", path, table="orders")
    assert column(workspace, "SELECT total FROM orders ORDER BY order_id") == [
        Decimal("1.2346"),
        Decimal("2.0000"),
        Decimal("3.5"),
    ]
    rounded = [w for w in result.files[0].warnings if "rounded to 4" in w]
    assert rounded == [
        "2 value(s) in column 'Total' have more than 4 decimals and were rounded to 4"
    ]


def test_migration_5_widens_money_and_keeps_the_amounts(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "v4.duckdb"))
    try:
        migrate_duckdb(con, target=4)
        con.execute(
            "INSERT INTO orders (order_id, total, source, imported_at) "
            "VALUES ('O-1', 1234.56, 'test', now())"
        ).fetchall()
        assert migrate_duckdb(con, target=5) == 5
        money_types = {
            r[0]
            for r in con.execute(
                "SELECT data_type FROM information_schema.columns WHERE table_name = 'orders' "
                "AND column_name IN ('total', 'total_original', 'refunded')"
            ).fetchall()
        }
        assert money_types == {"DECIMAL(18,4)"}
        assert con.execute("SELECT total FROM orders").fetchall() == [(Decimal("1234.56"),)]
        con.execute(
            "INSERT INTO orders (order_id, total, source, imported_at) "
            "VALUES ('O-2', 12.345, 'test', now())"
        ).fetchall()
        with pytest.raises(duckdb.ConstraintException):
            con.execute(
                "INSERT INTO orders (order_id, source, imported_at) VALUES ('O-1', 't', now())"
            ).fetchall()
        assert con.execute("SELECT total FROM orders WHERE order_id = 'O-2'").fetchall() == [
            (Decimal("12.345"),)
        ]
    finally:
        con.close()


def test_fixtures_are_in_the_encodings_they_claim() -> None:
    w1252 = (FIXTURES / "nasty" / "windows1252_customers.csv").read_bytes()
    assert b"\x93" in w1252 and b"\x80" in w1252 and b"\x85" in w1252
    assert (FIXTURES / "nasty" / "unicode_text_orders.txt").read_bytes()[:2] == (
        codecs.BOM_UTF16_LE
    )
