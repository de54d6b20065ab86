"""Accounting report exports: title rows above the header, section headings within.

QuickBooks and Xero reports open with a few title rows (company, report name,
period) and group their rows under section headings (an account, a customer,
an ageing bucket) closed by ``Total …`` rows. These helpers find the header
row in a CSV or an Excel workbook, read the title, and carry each section's
heading down to the rows beneath it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from smbgrowth.data.duck import run
from smbgrowth.data.fields import normalise_header
from smbgrowth.data.parsing import quote_ident
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.readers import RawFile, check_file, peek_rows
from smbgrowth.data.sources.base import mapping_skip_rows
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import InputFileError, MappingError

__all__ = [
    "SECTION",
    "add_section_column",
    "find_header_row",
    "peek_table",
    "report_header_row",
    "title_text",
]

#: The helper column that :func:`add_section_column` adds to a file's raw rows.
SECTION = "_sg_section"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def peek_workbook(path: Path, n: int = 40, sheet: str | None = None) -> list[list[str]]:
    """Return the first ``n`` rows of a workbook's sheet as text, read-only."""
    import openpyxl

    check_file(path)
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
        rows: list[list[str]] = []
        for values in ws.iter_rows(values_only=True, max_row=n):
            rows.append([_cell(v) for v in values])
        return rows
    finally:
        book.close()


def peek_table(path: Path, n: int = 40, sheet: str | None = None) -> list[list[str]]:
    """The first ``n`` rows of a CSV or Excel file, as text cells."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return peek_workbook(path, n, sheet)
    return peek_rows(path, n)


def find_header_row(
    path: Path,
    is_header: Callable[[set[str]], bool],
    what: str,
    sheet: str | None = None,
    n: int = 40,
) -> int:
    """Return how many rows sit above the first row whose normalised cells pass ``is_header``."""
    rows = peek_table(path, n, sheet)
    for i, row in enumerate(rows):
        cells = {normalise_header(c) for c in row if c and c.strip()}
        if is_header(cells):
            return i
    first = next((r for r in rows if any(c.strip() for c in r)), [])
    shown = ", ".join(repr(c) for c in first[:12] if c.strip())
    raise MappingError(
        f"{path.name}: no header row with {what} in the first {n} rows; "
        f"its first row has {shown or 'nothing'}"
    )


def report_header_row(
    path: Path, options: ImportOptions, is_header: Callable[[set[str]], bool], needs: str
) -> int:
    """Title rows above a report's header: as a ``--mapping`` file declares, else found.

    ``is_header`` tells a header row from its normalised cells; ``needs`` says what
    one holds, for the message when no row of the first 40 has it.
    """
    declared = mapping_skip_rows(options)
    if declared:
        return declared
    return find_header_row(path, is_header, needs, sheet=options.sheet)


def title_text(path: Path, above: int, sheet: str | None = None) -> str:
    """The text of the title rows above the header, lower-cased, one line per row."""
    if above <= 0:
        return ""
    rows = peek_table(path, above, sheet)
    return "\n".join(" ".join(c.strip() for c in row if c.strip()) for row in rows).lower()


def add_section_column(ws: Workspace, raw: RawFile, label: str, data_sql: str) -> str:
    """Give each row of ``raw`` the heading of the section it sits in; return the column name.

    A heading row has text in ``label`` and is not a data row (``data_sql``), a
    ``Total …`` row or a balance row; every row below it, up to the next heading,
    gets that text in the added column.
    """
    col = quote_ident(label)
    heading = (
        f"CASE WHEN NOT coalesce({data_sql}, false) AND sg_text({col}) IS NOT NULL "
        f"AND NOT regexp_matches(lower(sg_text({col})), "
        f"'^(total|opening balance|closing balance|beginning balance)') "
        f"THEN trim(sg_text({col})) END"
    )
    con = ws.duck
    run(con, f"ALTER TABLE {raw.relation} ADD COLUMN {quote_ident(SECTION)} VARCHAR")
    run(
        con,
        f"""UPDATE {raw.relation} AS t SET {quote_ident(SECTION)} = s.heading FROM (
              SELECT _row, last_value({heading} IGNORE NULLS)
                OVER (ORDER BY _row ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS heading
              FROM {raw.relation}) s
            WHERE t._row = s._row""",
    )
    return SECTION


def header_of_first_column(raw: RawFile) -> str:
    """The first column of the file: where reports put section headings and totals."""
    return raw.headers[0]


def normalised_headers(raw: RawFile) -> set[str]:
    """The file's headers, normalised (``Transaction date`` → ``transactiondate``)."""
    return {normalise_header(h) for h in raw.headers}


def rows_matching(ws: Workspace, raw: RawFile, predicate: str) -> int:
    """How many raw rows satisfy the SQL ``predicate``."""
    found = run(ws.duck, f"SELECT count(*) FROM {raw.relation} WHERE {predicate}")
    return int(found[0][0]) if found else 0
