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

from dataclasses import dataclass

import duckdb

from smbgrowth.data.duck import one, run, scalar
from smbgrowth.errors import MappingError

__all__ = [
    "DATE_FORMATS",
    "EXPECTED",
    "ISO",
    "NumberLayout",
    "day_first",
    "detect_date_format",
    "detect_decimal",
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
    # Two-digit years before ISO and the four-digit layouts: DuckDB's %Y and its ISO
    # reader both take "24" as the year 24, so 2/5/24 would land in year 0024.
    "%m/%d/%y %H:%M",
    "%d/%m/%y %H:%M",
    "%m/%d/%y %I:%M %p",
    "%d/%m/%y %I:%M %p",
    "%m/%d/%y",
    "%d/%m/%y",
    ISO,
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%d/%m/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%d/%m/%Y %I:%M:%S %p",
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
_CURRENCY = r"(?:[A-Za-z]{1,3}\s?\$|[A-Za-z]{3}|[$€£¥₹₩₽₺₪]|kr\.?|zł|Fr\.?|Rs\.?)"
# Characters that group thousands in every convention: spaces (also no-break, thin
# and narrow no-break) and apostrophes (Swiss).
_GROUP_CHARS = r"\s\x{00A0}\x{2009}\x{202F}'’"
_NUMBER_RE = (
    r"^[(]?\s*[-+]?\s*(?:" + _CURRENCY + r")?\s*[(]?\s*[-+]?\s*"
    r"(?:\d[\d.," + _GROUP_CHARS + r"]*|[.,]\d+)"
    r"\s*(?:" + _CURRENCY + r")?\s*[)]?\s*-?\s*[)]?$"
)
# The digits and separators of a number once sign and currency are gone, every
# grouping character written as one space, read under each convention. A grouped
# integer part never starts with 0, so ``0,123`` and ``0.123`` are decimals.
_DOT_BODY = (
    r"(?:\d+|[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d{0,2}(?: \d{3})+|[1-9]\d?(?:,\d{2})+,\d{3})?"
    r"(?:\.\d+)?"
)
_COMMA_BODY = r"(?:\d+|[1-9]\d{0,2}(?:\.\d{3})+|[1-9]\d{0,2}(?: \d{3})+)?(?:,\d+)?"


def _sql_re(pattern: str) -> str:
    return "'" + pattern.replace("'", "''") + "'"


_NUMBER_SQL = _sql_re(_NUMBER_RE)
_DOT_SQL = _sql_re(_DOT_BODY)
_COMMA_SQL = _sql_re(_COMMA_BODY)

_MACROS = (
    # Text: trimmed, empty means missing. Nothing in a cell is ever evaluated.
    "CREATE OR REPLACE TEMP MACRO sg_text(s) AS nullif(trim(CAST(s AS VARCHAR)), '')",
    # Digits, '.', ',' and grouping spaces of a number-like text (currency, sign gone).
    f"""CREATE OR REPLACE TEMP MACRO sg_num_body(s) AS
        trim(regexp_replace(regexp_replace(regexp_replace(s, '[A-Za-z]+\\.?', '', 'g'),
             {_sql_re("[^0-9.," + _GROUP_CHARS + "]")}, '', 'g'),
             {_sql_re("[" + _GROUP_CHARS + "]")}, ' ', 'g'))""",
    # The body of a number cell, or NULL when the cell is not a number.
    f"""CREATE OR REPLACE TEMP MACRO sg_num_core(s) AS
        CASE WHEN regexp_full_match(trim(s), {_NUMBER_SQL}) THEN sg_num_body(s) END""",
    "CREATE OR REPLACE TEMP MACRO sg_num_negative(s) AS "
    "(contains(s, '-') OR (contains(s, '(') AND contains(s, ')')))",
    # Whether a body reads as a number with '.' (dot) or ',' (comma) as decimal separator.
    f"CREATE OR REPLACE TEMP MACRO sg_dot_ok(b) AS regexp_full_match(b, {_DOT_SQL})",
    f"CREATE OR REPLACE TEMP MACRO sg_comma_ok(b) AS regexp_full_match(b, {_COMMA_SQL})",
    # Normalise a body to a dot-decimal string, NULL when it does not read under the
    # convention dec: '.', ',' or '' (each value on its own; only for constants).
    r"""CREATE OR REPLACE TEMP MACRO sg_num_norm(b, dec) AS
        CASE
          WHEN b IS NULL OR NOT regexp_matches(b, '\d') THEN NULL
          WHEN dec <> ',' AND sg_dot_ok(b) THEN replace(replace(b, ',', ''), ' ', '')
          WHEN dec <> '.' AND sg_comma_ok(b)
               THEN replace(replace(replace(b, '.', ''), ' ', ''), ',', '.')
        END""",
    # Plain numbers (the vast majority of cells) take the fast path of a direct cast.
    r"""CREATE OR REPLACE TEMP MACRO sg_number(s, dec) AS
        CASE WHEN s IS NULL THEN NULL
             WHEN dec <> ',' AND regexp_full_match(s, '-?\d{1,15}(\.\d+)?')
             THEN CAST(s AS DOUBLE)
             WHEN dec = ',' AND regexp_full_match(s, '-?\d{1,15}') THEN CAST(s AS DOUBLE)
             WHEN sg_text(s) IS NULL THEN NULL ELSE
          (CASE WHEN sg_num_negative(sg_text(s)) THEN -1 ELSE 1 END)
          * TRY_CAST(sg_num_norm(sg_num_core(sg_text(s)), dec) AS DOUBLE) END""",
    r"""CREATE OR REPLACE TEMP MACRO sg_decimal(s, dec) AS
        CASE WHEN s IS NULL THEN NULL
             WHEN dec <> ',' AND regexp_full_match(s, '-?\d{1,14}(\.\d{1,4})?')
             THEN CAST(s AS DECIMAL(18, 4))
             WHEN dec = ',' AND regexp_full_match(s, '-?\d{1,14}') THEN CAST(s AS DECIMAL(18, 4))
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
        return f"CAST(sg_decimal({raw}, {dec}) AS DECIMAL(18, 4))"
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


@dataclass(frozen=True)
class NumberLayout:
    """How the numbers of one column are written.

    ``decimal`` is the decimal separator, ``'.'`` or ``','``; ``rounded`` counts the
    non-empty cells with more than four decimals under it (stored rounded to four);
    ``settled`` is false when no value showed the convention (whole numbers only).
    """

    decimal: str
    rounded: int = 0
    settled: bool = True


def detect_decimal(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    column: str,
    *,
    file: str,
    header: str,
    whole: bool = False,
    decimal: str | None = None,
    prefer: str | None = None,
) -> NumberLayout:
    """Choose the decimal separator of a number column from all its values.

    One pass over the distinct values that hold a ``.`` or ``,``. A value is evidence
    for dot-decimal when it reads only with ``.`` as the decimal separator
    (``1,234.50``, ``12.5``, ``1,234,567``, ``0.123``), for comma-decimal when it reads
    only with ``,`` (``1.234,50``, ``12,5``, ``1.234.567``). ``1,234`` and ``1.234``
    read as both, with different values: they are ambiguous. Spaces and apostrophes
    group thousands in both conventions.

    ``decimal`` fixes the separator (only the rounding count is computed). ``whole``
    (integer columns) reads ambiguous values as thousands; otherwise ``prefer`` (the
    separator the file's other columns settled) decides them. Raises MappingError
    when the column mixes both conventions, or when it is all ambiguous and nothing
    settles it.
    """
    col = quote_ident(column)
    # Percent cells (25%, 1,5 %) are numbers followed by a sign.
    text = f"rtrim(sg_text({col}), '% ')"
    # Plain dot-decimal values with 1, 2 or 4 decimals (most cells of most exports) are
    # dot evidence as they stand; only the others are grouped and classified.
    plain = "regexp_full_match(v, '-?\\d+\\.(\\d{1,2}|\\d{4})')"
    cells = f"(SELECT {text} AS v FROM {relation})"
    values = (
        f"SELECT v, count(*) AS n FROM {cells} "
        f"WHERE (contains(v, '.') OR contains(v, ',')) AND NOT {plain} GROUP BY v"
    )
    body = f"(SELECT v, n, sg_num_core(v) AS b FROM ({values}))"
    classed = (
        f"(SELECT v, n, b, sg_dot_ok(b) AS dot, sg_comma_ok(b) AS comma FROM {body} "
        f"WHERE b IS NOT NULL AND regexp_matches(b, '\\d'))"
    )
    amb = "dot AND comma AND (contains(b, '.') OR contains(b, ','))"
    row = one(
        con,
        f"""SELECT
              coalesce((SELECT min(v) FROM {cells} WHERE {plain}),
                       min(v) FILTER (WHERE dot AND NOT comma)),
              min(v) FILTER (WHERE comma AND NOT dot),
              min(v) FILTER (WHERE {amb} AND contains(b, ',')),
              min(v) FILTER (WHERE {amb} AND contains(b, '.')),
              coalesce(sum(n) FILTER (WHERE dot AND regexp_matches(b, '\\.\\d{{5,}}$')), 0),
              coalesce(sum(n) FILTER (WHERE comma AND regexp_matches(b, ',\\d{{5,}}$')), 0)
            FROM {classed}""",
    )
    assert row is not None
    dot_only, comma_only, amb_comma, amb_dot, rounded_dot, rounded_comma = row

    def layout(sep: str, settled: bool = True) -> NumberLayout:
        return NumberLayout(sep, int(rounded_dot if sep == "." else rounded_comma), settled)

    if decimal in (".", ","):
        return layout(decimal)
    where = f"{file}: numbers in column {header!r}"
    how = 'set decimal in the mapping (decimal: "." or ",") or pass --decimal'
    # 1,234 (thousands comma) leans to dot-decimal, 1.234 (thousands dot) to comma.
    dot_side, comma_side = dot_only or amb_comma, comma_only or amb_dot
    if (dot_only and comma_only) or (amb_comma and amb_dot):
        raise MappingError(
            f"{where} mix decimal conventions ({dot_side!r} and {comma_side!r}); "
            f"correct the column, or {how}"
        )
    if dot_only:
        return layout(".")
    if comma_only:
        return layout(",")
    if not (amb_comma or amb_dot):
        return layout(".", settled=False)
    if whole:
        return layout("." if amb_comma else ",", settled=False)
    if prefer in (".", ","):
        return layout(prefer)
    example = amb_comma or amb_dot
    sep = "," if amb_comma else "."
    raise MappingError(
        f"{where} can be read with {sep!r} as thousands or as decimal separator "
        f"(e.g. {example!r}); {how}"
    )
