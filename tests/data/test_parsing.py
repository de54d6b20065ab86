"""Parsing cells (money, numbers, booleans, dates), reading files, recognising headers, mappings."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smbgrowth.data.fields import guess_mapping, normalise_header
from smbgrowth.data.mapping import load_mapping, resolve_headers
from smbgrowth.data.parsing import day_first, detect_date_format, install_macros, parse_expr
from smbgrowth.data.readers import detect_encoding, peek_rows
from smbgrowth.errors import MappingError

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'").fetchall()
    install_macros(c)
    yield c
    c.close()


def parse(con: duckdb.DuckDBPyConnection, kind: str, text: str | None, **options: Any) -> Any:
    """Parse one cell the way the importer does."""
    row = con.execute(f"SELECT {parse_expr(kind, '$1', **options)}", [text]).fetchone()
    assert row is not None
    return row[0]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# -- money and numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1234.50", "1234.50"),
        ("$1,234.50", "1234.50"),
        ("1.234,50 €", "1234.50"),
        ("€1.234,50", "1234.50"),
        ("1 234,50 €", "1234.50"),
        ("1'234.50", "1234.50"),
        ("(12.00)", "-12.00"),
        ("$(250.00)", "-250.00"),
        ("-$5.00", "-5.00"),
        ("12.50-", "-12.50"),
        ("12.50 USD", "12.50"),
        ("USD 12.50", "12.50"),
        ("£7", "7.00"),
        ("1,200", "1200.00"),
        ("1,5", "1.50"),
        ("0,50 €", "0.50"),
        ("1.234.567,89 €", "1234567.89"),
        ("$1,234,567.89", "1234567.89"),
        (".5", "0.50"),
        ("  42  ", "42.00"),
        ("2.345", "2.345"),  # kept at the source's precision (KWD has three decimals)
        ("2.34565", "2.3457"),  # beyond four decimals: rounded half away from zero
        ("1\u202f234,50\u00a0€", "1234.50"),
        ("CHF 1’234.50", "1234.50"),
        ("kr. 1.234,50", "1234.50"),
    ],
)
def test_money_spellings_parse_to_the_amount(
    con: duckdb.DuckDBPyConnection, text: str, value: str
) -> None:
    assert parse(con, "money", text) == Decimal(value)


@pytest.mark.parametrize(
    "text", ["12,3,4", "abc", "=1+1", "1.2.3", "12 apples", "N/A", "12 34", "1,23.45", "0,123.4"]
)
def test_money_that_is_not_an_amount_parses_to_null(
    con: duckdb.DuckDBPyConnection, text: str
) -> None:
    assert parse(con, "money", text) is None


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_cells_are_missing_not_zero(con: duckdb.DuckDBPyConnection, text: str | None) -> None:
    assert parse(con, "money", text) is None
    assert parse(con, "text", text) is None


def test_decimal_separator_option_settles_a_lone_separator(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert parse(con, "money", "1.234", decimal=".") == Decimal("1.234")
    assert parse(con, "money", "1.234", decimal=",") == Decimal("1234")
    assert parse(con, "money", "1,234", decimal=",") == Decimal("1.234")
    assert parse(con, "money", "1,234", decimal=".") == Decimal("1234")
    assert parse(con, "decimal", "2,5", decimal=",") == Decimal("2.5")


def test_integers_floats_and_percentages(con: duckdb.DuckDBPyConnection) -> None:
    assert parse(con, "integer", "1,200") == 1200
    assert parse(con, "integer", "42") == 42
    assert parse(con, "integer", "2.5") is None
    assert parse(con, "float", "25%") == pytest.approx(0.25)
    assert parse(con, "float", "1,5") == pytest.approx(1.5)
    assert parse(con, "decimal", "3") == Decimal("3")


_cents = st.integers(min_value=-(10**11), max_value=10**11).map(lambda c: Decimal(c) / 100)


def _group(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return sep.join(parts)


def us(amount: Decimal) -> str:
    whole, cents = f"{abs(amount):.2f}".split(".")
    return f"{'-' if amount < 0 else ''}${_group(whole, ',')}.{cents}"


def european(amount: Decimal) -> str:
    whole, cents = f"{abs(amount):.2f}".split(".")
    return f"{'-' if amount < 0 else ''}{_group(whole, '.')},{cents} €"


def accounting(amount: Decimal) -> str:
    whole, cents = f"{abs(amount):.2f}".split(".")
    text = f"{_group(whole, ',')}.{cents}"
    return f"({text})" if amount < 0 else text


def test_money_formatters_write_what_exports_contain() -> None:
    assert us(Decimal("1234.50")) == "$1,234.50"
    assert european(Decimal("1234.50")) == "1.234,50 €"
    assert accounting(Decimal("-1234.50")) == "(1,234.50)"
    assert us(Decimal("-0.05")) == "-$0.05"


@settings(max_examples=50, deadline=None)
@given(amount=_cents)
def test_money_in_us_european_and_accounting_spelling_parses_back(amount: Decimal) -> None:
    c = duckdb.connect()
    try:
        install_macros(c)
        for text in (us(amount), european(amount), accounting(amount), f"{amount:.2f}"):
            assert parse(c, "money", text) == amount, text
    finally:
        c.close()


# -- booleans and text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", True),
        ("TRUE", True),
        ("1", True),
        ("Subscribed", True),
        ("no", False),
        ("false", False),
        ("0", False),
        ("maybe", None),
        ("", None),
    ],
)
def test_booleans(con: duckdb.DuckDBPyConnection, text: str, value: bool | None) -> None:
    assert parse(con, "boolean", text) is value


def test_text_is_trimmed_and_never_evaluated(con: duckdb.DuckDBPyConnection) -> None:
    assert parse(con, "text", "  Ana Lima ") == "Ana Lima"
    assert parse(con, "text", '=HYPERLINK("http://x","y")') == '=HYPERLINK("http://x","y")'
    assert parse(con, "text", "=1+1") == "=1+1"


# -- date-times ----------------------------------------------------------------------------

NY = "America/New_York"


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2024-03-01 14:05:09 +0100", utc(2024, 3, 1, 13, 5, 9)),  # Shopify
        ("2024-03-01 14:05:09 -0500", utc(2024, 3, 1, 19, 5, 9)),  # Shopify, US shop
        ("2024-07-01 09:00:00 -0400", utc(2024, 7, 1, 13)),
        ("2024-03-01T14:05:09Z", utc(2024, 3, 1, 14, 5, 9)),
        ("2024-03-01T14:05:09.250+05:30", datetime(2024, 3, 1, 8, 35, 9, 250000, tzinfo=UTC)),
        ("2024-03-01 14:05:09+01", utc(2024, 3, 1, 13, 5, 9)),
    ],
)
def test_timestamps_with_an_offset_are_instants(
    con: duckdb.DuckDBPyConnection, text: str, instant: datetime
) -> None:
    assert parse(con, "timestamp", text, time_zone=NY) == instant


def test_naive_timestamps_are_local_time_of_the_zone(con: duckdb.DuckDBPyConnection) -> None:
    assert parse(con, "timestamp", "2024-01-15 09:30", time_zone=NY) == utc(2024, 1, 15, 14, 30)
    assert parse(con, "timestamp", "2024-07-15 09:30:00", time_zone=NY) == utc(2024, 7, 15, 13, 30)
    assert parse(con, "timestamp", "2024-07-15", time_zone=NY) == utc(2024, 7, 15, 4)
    assert parse(con, "timestamp", "2024-07-15 09:30:00", time_zone="UTC") == utc(
        2024, 7, 15, 9, 30
    )


def test_explicit_layouts(con: duckdb.DuckDBPyConnection) -> None:
    assert parse(con, "timestamp", "03/04/2024", date_format="%m/%d/%Y", time_zone=NY) == utc(
        2024, 3, 4, 5
    )
    assert parse(con, "timestamp", "03/04/2024", date_format="%d/%m/%Y", time_zone=NY) == utc(
        2024, 4, 3, 4
    )
    assert parse(con, "timestamp", "1/2/2013", date_format="%m/%d/%Y", time_zone=NY) == utc(
        2013, 1, 2, 5
    )
    assert parse(con, "timestamp", "13/01/2024", date_format="%m/%d/%Y") is None


def test_explicit_layout_also_reads_typed_spreadsheet_dates(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # an Excel or Parquet date cell arrives as ISO text whatever the layout of text dates
    assert parse(
        con, "timestamp", "2018-11-08 00:00:00", date_format="%m/%d/%Y", time_zone=NY
    ) == utc(2018, 11, 8, 5)
    assert parse(con, "date", "2018-11-08", date_format="%m/%d/%Y") == date(2018, 11, 8)


def test_calendar_dates_are_not_shifted(con: duckdb.DuckDBPyConnection) -> None:
    assert parse(con, "date", "2024-03-01", time_zone=NY) == date(2024, 3, 1)
    assert parse(con, "date", "01.03.2024", date_format="%d.%m.%Y") == date(2024, 3, 1)


def _column(con: duckdb.DuckDBPyConnection, values: list[str]) -> str:
    con.execute("CREATE OR REPLACE TEMP TABLE dates (d VARCHAR)").fetchall()
    con.executemany("INSERT INTO dates VALUES (?)", [[v] for v in values])
    return "dates"


def detect(con: duckdb.DuckDBPyConnection, values: list[str], **options: Any) -> str:
    rel = _column(con, values)
    return detect_date_format(con, rel, "d", file="f.csv", header="d", **options)


@pytest.mark.parametrize(
    ("values", "instants"),
    [
        (["2024-03-01", "2024-03-15 10:00:00"], [utc(2024, 3, 1, 5), utc(2024, 3, 15, 14)]),
        (["2024-03-01 14:05:09 +0100"], [utc(2024, 3, 1, 13, 5, 9)]),
        (["2024-03-01 14:05:09 -0500"], [utc(2024, 3, 1, 19, 5, 9)]),
        (["2024-03-01T14:05:09Z", "2024-03-02"], [utc(2024, 3, 1, 14, 5, 9), utc(2024, 3, 2, 5)]),
        (["2024-03-04 15:20", "2024-06-01 10:00"], [utc(2024, 3, 4, 20, 20), utc(2024, 6, 1, 14)]),
    ],
)
def test_iso_dates_are_detected_and_read(
    con: duckdb.DuckDBPyConnection, values: list[str], instants: list[datetime]
) -> None:
    layout = detect(con, values)
    assert day_first(layout) is None
    read = [parse(con, "timestamp", v, date_format=layout, time_zone=NY) for v in values]
    assert read == instants


@pytest.mark.parametrize(
    ("values", "layout"),
    [
        (["01/15/2024", "02/03/2024"], "%m/%d/%Y"),
        (["15/01/2024", "02/03/2024"], "%d/%m/%Y"),
        (["01/01/2024", "02/02/2024"], "%m/%d/%Y"),  # reads the same either way
        (["15.03.2024"], "%d.%m.%Y"),
        (["19970101", "19970312"], "%Y%m%d"),
        (["11/8/2018", "6/12/2018", "12/25/2018"], "%m/%d/%Y"),
    ],
)
def test_date_layout_is_detected(
    con: duckdb.DuckDBPyConnection, values: list[str], layout: str
) -> None:
    assert detect(con, values) == layout


def test_ambiguous_day_month_order_raises_and_names_the_column(
    con: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(MappingError) as info:
        detect(con, ["03/04/2024", "05/06/2024"])
    message = str(info.value)
    assert "f.csv" in message and "'d'" in message and "date_format" in message


def test_preferred_order_settles_ambiguous_dates(con: duckdb.DuckDBPyConnection) -> None:
    assert detect(con, ["03/04/2024", "05/06/2024"], prefer_day_first=True) == "%d/%m/%Y"
    assert detect(con, ["03/04/2024", "05/06/2024"], prefer_day_first=False) == "%m/%d/%Y"


# -- reading files -------------------------------------------------------------------------


def test_encoding_detection(tmp_path: Path) -> None:
    utf8 = tmp_path / "utf8.csv"
    utf8.write_text("name\nZoë\n", encoding="utf-8")
    assert detect_encoding(utf8) == "utf-8"
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(codecs.BOM_UTF16_LE + "name\nZoë\n".encode("utf-16-le"))
    assert detect_encoding(utf16) == "utf-16"
    assert detect_encoding(FIXTURES / "nasty" / "latin1_customers.csv") == "latin-1"


def test_latin1_byte_far_down_the_file_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_bytes(b"name\n" + b"plain ascii row\n" * 10_000 + b"J\xfcrgen\n")
    assert detect_encoding(path) == "latin-1"


def test_header_below_title_rows_is_found() -> None:
    rows = peek_rows(FIXTURES / "quickbooks" / "transaction_list.csv", 6)
    assert rows[0] == ["Maple & Thread LLC"]
    assert rows[4][:3] == ["", "Date", "Transaction Type"]


# -- headers and mappings ------------------------------------------------------------------


def test_headers_are_normalised_for_matching() -> None:
    assert normalise_header("*InvoiceNumber") == "invoicenumber"
    assert normalise_header(" Order ID ") == "orderid"
    assert normalise_header("Lineitem quantity") == "lineitemquantity"


def test_well_known_headers_are_recognised() -> None:
    mapping = guess_mapping(
        "order_lines",
        ["Order ID", "Order Date", "Customer ID", "Product Name", "Quantity", "Sales"],
    )
    assert mapping == {
        "order_id": "Order ID",
        "ordered_at": "Order Date",
        "customer_id": "Customer ID",
        "product_name": "Product Name",
        "quantity": "Quantity",
        "line_total": "Sales",
    }
    cdnow = guess_mapping("orders", ["customer_id", "date", "number_of_cds", "dollar_value"])
    assert cdnow == {"customer_id": "customer_id", "ordered_at": "date", "total": "dollar_value"}


def test_mapping_file_is_loaded() -> None:
    mapping = load_mapping(FIXTURES / "generic" / "order_lines_mapping.yaml")
    assert mapping.table == "order_lines"
    assert mapping.date_format == "%m/%d/%Y"
    assert mapping.columns["line_total"] == "Sales"


def test_mapping_headers_match_loosely_and_missing_ones_are_named() -> None:
    headers = ("ORDER id", "Order Date")
    assert resolve_headers({"order_id": "Order ID"}, headers, "f.csv") == {"order_id": "ORDER id"}
    with pytest.raises(MappingError, match="'Total'"):
        resolve_headers({"total": "Total"}, headers, "f.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("table: orders\ncolumns:\n  colour: Colour\n", "'colour' is not a field of table orders"),
        ("table: sales\ncolumns:\n  order_id: ID\n", "unknown table 'sales'"),
        ("table: orders\ncolumns: [unclosed\n", "m.yaml:"),
        ("table: orders\ndecimal: ';'\n", "decimal"),
        ("- just a list\n", "expected a mapping"),
    ],
)
def test_bad_mapping_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=message):
        load_mapping(path)
