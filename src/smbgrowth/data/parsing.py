"""Turning the text of an export into typed values, inside DuckDB.

Every value is parsed by a SQL expression so that DuckDB streams the file and
no value passes through Python. Each kind has a parser (text → value or NULL)
and a description of what was expected, used when a non-empty cell does not
parse.

Money and numbers accept the spellings exports really contain: ``$1,234.50``,
``1.234,50 €``, ``(12.00)``, ``$(250.00)``, ``-12``, ``12.50 USD``, ``1'234.50``.
The decimal separator is read from each value (the last of ``.``/``,`` when both
occur; a lone ``,`` followed by exactly three digits in groups is a thousands
separator) unless the mapping fixes it.

Dates without a format are detected per column from a list of common layouts;
when a column reads both as month/day and day/month with different results, the
import stops and asks for ``date_format`` — guessing would silently corrupt data.
"""

from __future__ import annotations

import duckdb

from smbgrowth.data.duck import run, scalar
from smbgrowth.errors import MappingError

__all__ = [
    "DATE_FORMATS",
    "EXPECTED",
    "ISO",
    "day_first",
    "detect_date_format",
    "install_macros",
    "parse_expr",
    "quote_ident",
    "sql_literal",
]

#: Marker for "ISO 8601 as DuckDB reads it, with or without an offset".
ISO = "iso"

#: Layouts tried, in order, when a column has no explicit format.
DATE_FORMATS: tuple[str, ...] = (
    # Exact ISO layouts first: strptime is several times faster than the general
    # ISO reader, which stays as the catch-all for mixed ISO spellings.
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    ISO,
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%d/%m/%Y %I:%M %p",
    "%m/%d/%y",
    "%d/%m/%y",
    "%Y%m%d",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
)

EXPECTED: dict[str, str] = {
    "text": "text",
    "money": "an amount such as 1234.50, $1,234.50, 1.234,50 € or (12.00)",
    "decimal": "a number such as 3, 2.5 or 1,200",
    "integer": "a whole number such as 42 or 1,200",
    "float": "a number such as 0.25, 1,5 or 25%",
    "boolean": "yes/no, true/false or 1/0",
    "timestamp": "a date or date-time",
    "date": "a date",
}

# A money or number cell: optional sign/parenthesis, optional currency before or
# after, digits with separators. Anything else (letters, formulas) is rejected.
_CURRENCY = r"(?:[A-Za-z]{1,3}\s?\$|[A-Za-z]{3}|[$€£¥₹₩₽₺₪]|kr|zł|Fr\.?)"
_NUMBER_RE = (
    r"^[(]?\s*[-+]?\s*(?:" + _CURRENCY + r")?\s*[(]?\s*[-+]?\s*"
    r"(?:\d[\d.,' \x{00A0}\x{202F}]*|[.,]\d+)"
    r"\s*(?:" + _CURRENCY + r")?\s*[)]?\s*-?\s*[)]?$"
)

_NUMBER_SQL = "'" + _NUMBER_RE.replace("'", "''") + "'"

_MACROS = (
    # Text: trimmed, empty means missing. Nothing in a cell is ever evaluated.
    "CREATE OR REPLACE TEMP MACRO sg_text(s) AS nullif(trim(CAST(s AS VARCHAR)), '')",
    # The digits and separators of a number cell, or NULL when the cell is not a number.
    f"""CREATE OR REPLACE TEMP MACRO sg_num_core(s) AS
        CASE WHEN regexp_full_match(trim(s), {_NUMBER_SQL})
             THEN regexp_replace(trim(s), '[^0-9.,]', '', 'g') END""",
    "CREATE OR REPLACE TEMP MACRO sg_num_negative(s) AS "
    "(contains(s, '-') OR (contains(s, '(') AND contains(s, ')')))",
    # Normalise the core to a dot-decimal string. dec is '.', ',' or '' (auto).
    r"""CREATE OR REPLACE TEMP MACRO sg_num_norm(c, dec) AS
        CASE
          WHEN c IS NULL OR NOT regexp_matches(c, '\d') THEN NULL
          WHEN dec = '.' THEN replace(c, ',', '')
          WHEN dec = ',' THEN replace(replace(c, '.', ''), ',', '.')
          WHEN contains(c, '.') AND contains(c, ',') THEN
               CASE WHEN strpos(reverse(c), '.') < strpos(reverse(c), ',')
                    THEN replace(c, ',', '')
                    ELSE replace(replace(c, '.', ''), ',', '.') END
          WHEN contains(c, ',') THEN
               CASE WHEN regexp_full_match(c, '\d{1,3}(,\d{3})+') THEN replace(c, ',', '')
                    WHEN length(c) - length(replace(c, ',', '')) = 1 THEN replace(c, ',', '.')
                    ELSE NULL END
          WHEN length(c) - length(replace(c, '.', '')) > 1 THEN
               CASE WHEN regexp_full_match(c, '\d{1,3}(\.\d{3})+') THEN replace(c, '.', '')
                    ELSE NULL END
          ELSE c
        END""",
    r"""CREATE OR REPLACE TEMP MACRO sg_number(s, dec) AS
        CASE WHEN s IS NULL THEN NULL
             WHEN dec <> ',' AND regexp_full_match(s, '-?\d{1,15}(\.\d+)?')
             THEN CAST(s AS DOUBLE)
             WHEN sg_text(s) IS NULL THEN NULL ELSE
          (CASE WHEN sg_num_negative(sg_text(s)) THEN -1 ELSE 1 END)
          * TRY_CAST(sg_num_norm(sg_num_core(sg_text(s)), dec) AS DOUBLE) END""",
    # Plain numbers (the vast majority of cells) take the fast path of a direct cast.
    r"""CREATE OR REPLACE TEMP MACRO sg_decimal(s, dec) AS
        CASE WHEN s IS NULL THEN NULL
             WHEN dec <> ',' AND regexp_full_match(s, '-?\d{1,14}(\.\d{1,4})?')
             THEN CAST(s AS DECIMAL(18, 4))
             WHEN sg_text(s) IS NULL THEN NULL ELSE
          (CASE WHEN sg_num_negative(sg_text(s)) THEN -1 ELSE 1 END)
          * TRY_CAST(sg_num_norm(sg_num_core(sg_text(s)), dec) AS DECIMAL(18, 4)) END""",
    # Percent cells (25%) become fractions.
    """CREATE OR REPLACE TEMP MACRO sg_float(s, dec) AS
        CASE WHEN sg_text(s) IS NULL THEN NULL
             WHEN ends_with(sg_text(s), '%')
             THEN sg_number(rtrim(sg_text(s), '% '), dec) / 100.0
             ELSE sg_number(s, dec) END""",
    """CREATE OR REPLACE TEMP MACRO sg_bool(s) AS
        CASE
          WHEN sg_text(s) IS NULL THEN NULL
          WHEN lower(sg_text(s)) IN ('true', 't', 'yes', 'y', '1', 'x', 'on',
               'subscribed', 'accepted', 'opted in', 'opt-in', 'wahr', 'ja', 'oui', 'si', 'sí')
               THEN true
          WHEN lower(sg_text(s)) IN ('false', 'f', 'no', 'n', '0', 'off', 'unsubscribed',
               'not subscribed', 'declined', 'opted out', 'opt-out', 'falsch', 'nein', 'non')
               THEN false
        END""",
    # ISO 8601 with an offset (Z, +01:00 or +0100) is an instant; without one it is
    # local time in the zone given.
    r"""CREATE OR REPLACE TEMP MACRO sg_iso_ts(s, tz) AS
        CASE
          WHEN sg_text(s) IS NULL THEN NULL
          WHEN regexp_matches(sg_text(s),
               '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)$')
               -- Drop the space before the offset (+0100 and -0500 alike) and write
               -- it as +01:00, the spelling DuckDB reads.
               THEN TRY_CAST(regexp_replace(regexp_replace(sg_text(s),
                             '\s+(Z|z|[+-]\d{2}(:?\d{2})?)$', '\1'),
                             '([+-]\d{2})(\d{2})$', '\1:\2') AS TIMESTAMPTZ)
          ELSE timezone(tz, TRY_CAST(sg_text(s) AS TIMESTAMP))
        END""",
)


def quote_ident(name: str) -> str:
    """Quote a column name for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    """Quote a string literal for DuckDB."""
    return "'" + value.replace("'", "''") + "'"


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define the parsing macros on a connection (temporary: they vanish with it)."""
    for sql in _MACROS:
        run(con, sql)


def parse_expr(
    kind: str,
    raw: str,
    *,
    date_format: str | None = None,
    time_zone: str = "UTC",
    decimal: str | None = None,
    strict: bool = False,
) -> str:
    """Return the SQL expression that parses the raw text expression ``raw`` into ``kind``.

    ``date_format`` is a strptime layout or :data:`ISO`; naive date-times are local
    time in ``time_zone`` and are stored in UTC. Unless ``strict``, a date in ISO
    form is accepted whatever the layout (spreadsheet date cells arrive so).
    """
    dec = sql_literal(decimal or "")
    if kind == "text":
        return f"sg_text({raw})"
    if kind == "money":
        return f"CAST(round(sg_decimal({raw}, {dec}), 2) AS DECIMAL(18, 2))"
    if kind == "decimal":
        return f"sg_decimal({raw}, {dec})"
    if kind == "integer":
        return (
            f"CASE WHEN sg_number({raw}, {dec}) = round(sg_number({raw}, {dec})) "
            f"THEN CAST(sg_number({raw}, {dec}) AS BIGINT) END"
        )
    if kind == "float":
        return f"sg_float({raw}, {dec})"
    if kind == "boolean":
        return f"sg_bool({raw})"
    if kind in ("timestamp", "date"):
        fmt = date_format or ISO
        tz = sql_literal(time_zone)
        iso_ts = f"sg_iso_ts({raw}, {tz})"
        iso_day = f"TRY_CAST(TRY_CAST(sg_text({raw}) AS TIMESTAMP) AS DATE)"
        if fmt == ISO:
            ts = iso_ts
        elif "%z" in fmt or "%Z" in fmt:
            ts = f"CAST(try_strptime(sg_text({raw}), {sql_literal(fmt)}) AS TIMESTAMPTZ)"
        else:
            ts = f"timezone({tz}, try_strptime(sg_text({raw}), {sql_literal(fmt)}))"
        if kind == "date":
            # A calendar day is read as written; no time-zone shift.
            if fmt == ISO:
                return iso_day
            day = f"CAST(try_strptime(sg_text({raw}), {sql_literal(fmt)}) AS DATE)"
            return day if strict else f"coalesce({day}, {iso_day})"
        if fmt != ISO and not strict:
            # Date cells of Excel and Parquet files arrive as ISO text whatever the
            # layout of the file's text dates; ISO is unambiguous, so accept it too.
            ts = f"coalesce({ts}, {iso_ts})"
        return ts
    raise ValueError(f"unknown kind {kind!r}")


def day_first(fmt: str) -> bool | None:
    """True for day-before-month layouts, False for month-before-day, None when unambiguous."""
    if fmt == ISO or "%Y%m%d" in fmt or fmt.startswith("%Y"):
        return None
    d, m = fmt.find("%d"), fmt.find("%m")
    if d < 0 or m < 0:
        return None
    return d < m


def detect_date_format(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    column: str,
    *,
    file: str,
    header: str,
    prefer_day_first: bool | None = None,
    sample: int = 20000,
) -> str:
    """Choose the layout that reads every value of a date column.

    Looks at up to ``sample`` distinct non-empty values. Returns the layout; when none
    reads them all, the one that reads most (validation then reports the first
    bad row). Raises MappingError when both month/day and day/month read every value
    differently and ``prefer_day_first`` does not settle it.
    """
    col = quote_ident(column)
    # Decide on the distinct values of the first rows; only when they leave day and
    # month order open is the whole column consulted.
    head = (
        f"(SELECT DISTINCT v FROM (SELECT sg_text({col}) AS v FROM {relation} LIMIT {sample * 5}) "
        f"WHERE v IS NOT NULL)"
    )
    everything = (
        f"(SELECT DISTINCT sg_text({col}) AS v FROM {relation} WHERE sg_text({col}) IS NOT NULL)"
    )
    # Layouts that fail on the first few hundred values need not be tried on more.
    small = (
        f"(SELECT DISTINCT v FROM (SELECT sg_text({col}) AS v FROM {relation} LIMIT 1000) "
        f"WHERE v IS NOT NULL)"
    )
    failures = _failures(con, small, DATE_FORMATS)
    candidates = tuple(f for f, bad in zip(DATE_FORMATS, failures, strict=True) if bad == 0)
    try:
        chosen = _detect(
            con,
            head,
            file=file,
            header=header,
            prefer_day_first=prefer_day_first,
            layouts=candidates or DATE_FORMATS,
        )
    except MappingError:
        chosen = None
    if chosen is not None:
        misses = scalar(
            con,
            f"SELECT count(*) FROM {relation} WHERE sg_text({col}) IS NOT NULL AND "
            f"{parse_expr('timestamp', col, date_format=chosen, strict=True)} IS NULL",
        )
        if not misses:
            return chosen
    return _detect(con, everything, file=file, header=header, prefer_day_first=prefer_day_first)


def _strict(layout: str) -> str:
    return parse_expr("timestamp", "v", date_format=layout, strict=True)


def _failures(con: duckdb.DuckDBPyConnection, values: str, layouts: tuple[str, ...]) -> list[int]:
    """How many of ``values`` each layout fails to read."""
    checks = ", ".join(f"count(*) FILTER (WHERE {_strict(f)} IS NULL)" for f in layouts)
    return [int(n) for n in run(con, f"SELECT {checks} FROM {values}")[0]]


def _detect(
    con: duckdb.DuckDBPyConnection,
    values: str,
    *,
    file: str,
    header: str,
    prefer_day_first: bool | None,
    layouts: tuple[str, ...] = DATE_FORMATS,
) -> str:
    total = scalar(con, f"SELECT count(*) FROM {values}")
    if not total:
        return ISO
    strict = _strict
    row = _failures(con, values, layouts)
    ok = [f for f, bad in zip(layouts, row, strict=True) if bad == 0]
    if not ok:
        # No layout reads everything: take the one that reads most, so that
        # validation points at a row that is really wrong.
        return min(zip(row, layouts, strict=True))[1]
    first = ok[0]
    order = day_first(first)
    if order is None:
        return first
    # The first layout that reads everything puts month and day in some order; look
    # for a rival with the other order that also reads everything.
    rivals = [f for f in ok if day_first(f) is (not order)]
    if not rivals:
        return first
    rival = rivals[0]
    differ = scalar(
        con,
        f"SELECT count(*) FROM {values} WHERE {strict(first)} <> {strict(rival)}",
    )
    if not differ:
        return first
    if prefer_day_first is not None:
        return first if order is prefer_day_first else rival
    example = scalar(
        con,
        f"SELECT v FROM {values} WHERE {strict(first)} <> {strict(rival)} ORDER BY v LIMIT 1",
    )
    raise MappingError(
        f"{file}: dates in column {header!r} can be read as {first!r} or {rival!r} "
        f"(e.g. {example!r}); set date_format in the mapping or pass --date-format {first!r}"
    )
