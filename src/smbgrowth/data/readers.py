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
import os
import tempfile
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


# Bytes 0x80-0x9F that Windows-1252 maps to characters (€, curly quotes, …, dashes);
# the other five are unassigned there, and control characters in Latin-1.
_CP1252_ONLY = bytes(b for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D))
_NOT_C1 = bytes(b for b in range(256) if not 0x80 <= b < 0xA0)
# Encodings DuckDB's CSV reader decodes itself; others are transcoded to UTF-8 first.
_NATIVE = {"utf-8": "utf-8", "latin-1": "latin-1", "utf-16": "utf-16"}


def detect_encoding(path: Path) -> str:
    """Return the text encoding of a CSV file.

    'utf-8' (with or without a byte-order mark) when every byte decodes as UTF-8;
    'utf-16' (little-endian) or 'utf-16-be' from a byte-order mark or, without one,
    from the NUL bytes of ASCII characters; 'windows-1252' when bytes 0x80-0x9F
    occur and are all Windows-1252 characters (€, curly quotes, … of Excel on
    Windows); else 'latin-1'. The whole file is checked (a fast streaming decode): a
    stray byte far down a file would otherwise stop DuckDB mid-import, where the
    read cannot be retried.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    c1: set[int] = set()
    utf8 = True
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
        if head.startswith(codecs.BOM_UTF16_LE):
            return "utf-16"
        if head.startswith(codecs.BOM_UTF16_BE):
            return "utf-16-be"
        if not head.startswith(codecs.BOM_UTF8):
            wide = _utf16_without_bom(head)
            if wide:
                return wide
        chunk = head
        while chunk:
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            c1.update(chunk.translate(None, _NOT_C1))
            chunk = fh.read(1 << 20)
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        return "utf-8"
    if c1 and c1 <= set(_CP1252_ONLY):
        return "windows-1252"
    return "latin-1"


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16' or 'utf-16-be' when the NUL bytes of a BOM-less file say so, else None."""
    sample = head[: 4096 - 4096 % 2] if len(head) >= 4096 else head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    # Text of mostly ASCII characters: one byte of each pair is NUL, the other never.
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _python_codec(path: Path, encoding: str) -> str:
    """The Python codec that reads ``path`` in ``encoding``, dropping a byte-order mark."""
    if encoding == "utf-8":
        return "utf-8-sig"
    if encoding in ("utf-16", "utf-16-be"):
        with path.open("rb") as fh:
            bom = fh.read(2)
        if bom in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return "utf-16"
        return "utf-16-le" if encoding == "utf-16" else "utf-16-be"
    if encoding == "windows-1252":
        return "cp1252"
    return encoding


def _transcode(path: Path, encoding: str, folder: Path) -> Path:
    """Write ``path`` as UTF-8 into a new file in ``folder``, streaming; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    decoder = codecs.getincrementaldecoder(_python_codec(path, encoding))()
    handle, name = tempfile.mkstemp(suffix=".csv", prefix="transcoded-", dir=folder)
    target = Path(name)
    try:
        with path.open("rb") as src, os.fdopen(handle, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(decoder.decode(chunk).encode("utf-8"))
            dst.write(decoder.decode(b"", final=True).encode("utf-8"))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


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
    with path.open("r", encoding=_python_codec(path, encoding), newline="") as fh:
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
    if encoding in _NATIVE:
        _read_csv(con, path, relation, skip_rows, _NATIVE[encoding])
    else:
        # DuckDB reads UTF-8, UTF-16 LE and Latin-1 only: others become a temporary
        # UTF-8 copy next to DuckDB's own spill files, removed once loaded.
        spill = str(scalar(con, "SELECT current_setting('temp_directory')") or "")
        folder = Path(spill) if spill else Path(tempfile.gettempdir())
        copy = _transcode(path, encoding, folder)
        try:
            _read_csv(con, copy, relation, skip_rows, "utf-8", shown=path.name)
        finally:
            copy.unlink(missing_ok=True)
    _add_row_numbers(con, relation, skip_rows)
    return encoding


def _read_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    relation: str,
    skip_rows: int,
    encoding: str,
    *,
    shown: str | None = None,
) -> None:
    name = shown or path.name
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
            f"skip = {int(skip_rows)}, encoding = {sql_literal(encoding)}, "
            f"null_padding = true, parallel = false, normalize_names = false, "
            f"quote = '\"', escape = '\"', comment = '', "
            f"sample_size = 20480)",
        )
    except duckdb.Error as exc:
        raise InputFileError(f"{name}: cannot be read as CSV: {_first_error_line(exc)}") from None


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
