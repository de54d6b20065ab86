"""Reading an export file into DuckDB as text, keeping each row's position.

CSV files are read by DuckDB itself (streaming, delimiter and quoting sniffed);
Excel files by openpyxl in read-only mode; Parquet by DuckDB. Every cell lands
as text so that parsing — and its error messages — happen in one place
(:mod:`smbgrowth.data.parsing`). Row numbers are spreadsheet rows: the header
is row 1 (plus any title rows above it).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from smbgrowth.data.duck import run, scalar
from smbgrowth.data.parsing import quote_ident, sql_literal
from smbgrowth.errors import InputFileError

__all__ = ["RawFile", "check_file", "detect_encoding", "peek_rows", "read_raw"]

_SNIFF_BYTES = 1 << 16


@dataclass(frozen=True)
class RawFile:
    """A file loaded as text into a temporary DuckDB table.

    ``relation`` has the file's columns (named by their headers) plus ``_row``,
    the spreadsheet row number of each data row.
    """

    path: Path
    relation: str
    headers: tuple[str, ...]
    rows: int
    encoding: str
    header_row: int


def detect_encoding(path: Path) -> str:
    """Return 'utf-16' for a file with that BOM, 'utf-8' when every byte decodes, else 'latin-1'.

    The whole file is checked (a fast streaming decode): a Latin-1 byte far down a
    file would otherwise stop DuckDB mid-import, where the read cannot be retried.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        chunk = head
        try:
            while chunk:
                decoder.decode(chunk)
                chunk = fh.read(1 << 20)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8"


def check_file(path: Path) -> None:
    """Raise InputFileError unless ``path`` is a file with something in it."""
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not an export file")
    size = path.stat().st_size
    if size <= _SNIFF_BYTES and _file_kind(path) == "csv":
        # A text file holding only a byte-order mark, spaces or blank lines is empty too.
        with path.open("rb") as fh:
            blank = not fh.read().replace(codecs.BOM_UTF8, b"").strip()
    else:
        blank = size == 0
    if blank:
        raise InputFileError(f"{path.name}: the file is empty; export it again")


def peek_rows(path: Path, n: int = 30) -> list[list[str]]:
    """Return the first ``n`` rows of a CSV file, for finding a header below title rows."""
    check_file(path)
    encoding = detect_encoding(path)
    with path.open(
        "r", encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline=""
    ) as fh:
        sample = fh.read(_SNIFF_BYTES)
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = []
    # Only the delimiter is sniffed; quotes are RFC 4180 double quotes (as when loading).
    reader = csv.reader(io.StringIO(sample), delimiter=dialect.delimiter, quotechar='"')
    for i, row in enumerate(reader):
        if i >= n:
            break
        rows.append(row)
    return rows


def _file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".xls":
        raise InputFileError(
            f"{path.name}: old .xls workbooks are not supported; save it as .xlsx or .csv"
        )
    return "csv"


def read_raw(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    relation: str,
    *,
    skip_rows: int = 0,
    sheet: str | None = None,
) -> RawFile:
    """Load ``path`` as text into the temporary table ``relation``.

    ``skip_rows`` title rows above the header are skipped (CSV and Excel).
    """
    path = Path(path)
    check_file(path)
    kind = _file_kind(path)
    encoding = "binary"
    if kind == "csv":
        encoding = _load_csv(con, path, relation, skip_rows)
    elif kind == "xlsx":
        _load_xlsx(con, path, relation, skip_rows, sheet)
    else:
        _load_parquet(con, path, relation)
    cols = [r[0] for r in run(con, f"SELECT column_name FROM (DESCRIBE {relation})")]
    headers = tuple(c for c in cols if c != "_row")
    rows = int(scalar(con, f"SELECT count(*) FROM {relation}"))
    if rows == 0:
        raise InputFileError(f"{path.name}: the file has a header but no data rows")
    return RawFile(path, relation, headers, rows, encoding, skip_rows + 1)


def _first_error_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _load_csv(con: duckdb.DuckDBPyConnection, path: Path, relation: str, skip_rows: int) -> str:
    encoding = detect_encoding(path)
    for attempt in (encoding, "latin-1"):
        try:
            run(con, f"DROP TABLE IF EXISTS {relation}")
            # One thread: DuckDB's parallel reader cannot pad short rows (report
            # footers) when a quoted cell holds a line break (addresses, notes), and a
            # failed read cannot be retried inside the import's transaction. Quotes are
            # RFC 4180 double quotes: left to sniff, a name like O'Brien on two rows can
            # make the apostrophe the quote character and merge the rows between.
            # No comment character: left to sniff, Shopify's order names (#1001) at
            # the start of every row make '#' a comment marker and drop the rows.
            run(
                con,
                f"CREATE TEMP TABLE {relation} AS SELECT * FROM read_csv("
                f"{sql_literal(str(path))}, all_varchar = true, header = true, "
                f"skip = {int(skip_rows)}, encoding = {sql_literal(attempt)}, "
                f"null_padding = true, parallel = false, normalize_names = false, "
                f"quote = '\"', escape = '\"', comment = '', "
                f"sample_size = 20480)",
            )
        except duckdb.InvalidInputException as exc:
            message = str(exc)
            if "unicode" in message.lower() and attempt != "latin-1":
                encoding = "latin-1"
                continue
            raise InputFileError(
                f"{path.name}: cannot be read as CSV: {_first_error_line(exc)}"
            ) from None
        except duckdb.Error as exc:
            raise InputFileError(
                f"{path.name}: cannot be read as CSV: {_first_error_line(exc)}"
            ) from None
        _add_row_numbers(con, relation, skip_rows)
        return attempt
    raise InputFileError(f"{path.name}: cannot be decoded as UTF-8 or Latin-1")


def _add_row_numbers(con: duckdb.DuckDBPyConnection, relation: str, skip_rows: int) -> None:
    # A new table keeps insertion order, so rowids are contiguous in file order; inside
    # a transaction they start at a large offset, hence the subtraction.
    offset = skip_rows + 2
    run(con, f"ALTER TABLE {relation} ADD COLUMN _row BIGINT")
    run(
        con,
        f"UPDATE {relation} SET _row = rowid - (SELECT min(rowid) FROM {relation}) + {offset}",
    )


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _load_xlsx(
    con: duckdb.DuckDBPyConnection, path: Path, relation: str, skip_rows: int, sheet: str | None
) -> None:
    import openpyxl
    import pyarrow as pa

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a bad file
        raise InputFileError(f"{path.name}: cannot be opened as an Excel workbook: {exc}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InputFileError(
                f"{path.name}: no sheet {sheet!r}; its sheets are {', '.join(book.sheetnames)}"
            )
        ws = book[sheet] if sheet else book.worksheets[0]
        rows: Iterator[tuple[Any, ...]] = ws.iter_rows(values_only=True)
        for _ in range(skip_rows):
            next(rows, None)
        header = next(rows, None)
        if header is None:
            raise InputFileError(f"{path.name}: the sheet is empty")
        headers = _dedupe([_cell_text(h) or f"column{i + 1}" for i, h in enumerate(header)])
        offset = skip_rows + 2
        first = True
        batch: list[list[str | None]] = [[] for _ in headers]
        numbers: list[int] = []

        def flush() -> None:
            nonlocal first, batch, numbers
            arrays = {h: pa.array(col, pa.string()) for h, col in zip(headers, batch, strict=True)}
            arrays["_row"] = pa.array(numbers, pa.int64())
            chunk = pa.table(arrays)
            con.register("_xlsx_chunk", chunk)
            try:
                if first:
                    run(con, f"CREATE TEMP TABLE {relation} AS SELECT * FROM _xlsx_chunk")
                    first = False
                else:
                    run(con, f"INSERT INTO {relation} SELECT * FROM _xlsx_chunk")
            finally:
                con.unregister("_xlsx_chunk")
            batch = [[] for _ in headers]
            numbers = []

        for i, values in enumerate(rows):
            if all(v is None for v in values):
                continue
            cells = list(values) + [None] * (len(headers) - len(values))
            for j in range(len(headers)):
                batch[j].append(_cell_text(cells[j]))
            numbers.append(i + offset)
            if len(numbers) >= 50_000:
                flush()
        if numbers or first:
            flush()
    finally:
        book.close()


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        name = name.strip()
        if name in seen:
            seen[name] += 1
            out.append(f"{name}_{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


def _load_parquet(con: duckdb.DuckDBPyConnection, path: Path, relation: str) -> None:
    try:
        described = run(con, f"DESCRIBE SELECT * FROM read_parquet({sql_literal(str(path))})")
        casts = ", ".join(
            f"CAST({quote_ident(r[0])} AS VARCHAR) AS {quote_ident(r[0])}" for r in described
        )
        run(
            con,
            f"CREATE TEMP TABLE {relation} AS SELECT {casts}, "
            f"CAST(file_row_number + 2 AS BIGINT) AS _row "
            f"FROM read_parquet({sql_literal(str(path))}, file_row_number = true)",
        )
    except duckdb.Error as exc:
        raise InputFileError(
            f"{path.name}: cannot be read as Parquet: {_first_error_line(exc)}"
        ) from None
