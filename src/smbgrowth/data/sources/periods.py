"""Rows that cover a period: reading the period, and spreading the row over its days.

Ad platforms export a row per day, per week, per month or per report range.
:func:`column_period` reads the first and last day of each row from a column
holding ranges (``2024-10-01 - 2024-10-30``), month labels (``2024-10``,
``October 2024``) or single dates standing for a day, a week or a month.
:func:`daily_spend` turns staged ``marketing_spend`` rows into one row per
campaign-day: a row covering several days is spread evenly over them, counts in
whole numbers and money in units of the stored precision, so that the daily
parts always add up exactly to the row.

The staged fields it reads besides the canonical ones: ``_period_end`` (the last
day of a row whose ``date`` is its first), ``_split`` (the values of the columns
that split a campaign, such as ad sets) with ``_split_by`` (their headers), and
``_file`` (the file's name, for messages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb

from smbgrowth.data.duck import one, run, scalar
from smbgrowth.data.parsing import detect_date_format, parse_expr, quote_ident
from smbgrowth.errors import ValidationError

__all__ = ["ColumnPeriod", "column_period", "daily_spend", "range_parts"]

Unit = Literal["day", "week", "month"]

# "A - B", "A – B", "A — B" or "A to B"; a dash inside an ISO date has no spaces.
RANGE_RE = r"^\s*(.+?)\s+(?:-|–|—|to)\s+(.+?)\s*$"
# Month labels, tried in order; each must read every label of the column.
MONTH_LAYOUTS = ("%Y-%m", "%B %Y", "%b %Y", "%m/%Y", "%Y/%m", "%b-%y", "%B, %Y")
_VALUES = ("spend", "impressions", "clicks", "conversions")


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def range_parts(text: str) -> tuple[str, str]:
    """SQL for the two halves of a range cell (NULL when ``text`` is not a range)."""
    pattern = _lit(RANGE_RE)
    return (f"regexp_extract({text}, {pattern}, 1)", f"regexp_extract({text}, {pattern}, 2)")


@dataclass(frozen=True)
class ColumnPeriod:
    """How a column's cells give each row's first and last day.

    ``start`` and ``end`` are SQL templates over ``{v}``, the trimmed text of the cell.
    """

    start: str
    end: str
    described: str

    def bounds(self, text: str) -> tuple[str, str]:
        return self.start.format(v=text), self.end.format(v=text)


def _month_layout(con: duckdb.DuckDBPyConnection, values: str) -> str | None:
    for layout in MONTH_LAYOUTS:
        bad = scalar(
            con,
            f"SELECT count(*) FILTER (WHERE try_strptime(v, {_lit(layout)}) IS NULL), count(*) "
            f"FROM {values}",
        )
        if bad == 0 and scalar(con, f"SELECT count(*) FROM {values}"):
            return layout
    return None


def column_period(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    header: str,
    unit: Unit,
    *,
    keep: str,
    file: str,
    date_format: str | None = None,
    day_first: bool | None = None,
) -> ColumnPeriod:
    """Read the period of each row from ``header``: ranges, month labels or dates.

    ``unit`` is what a single date in the column stands for (a ``Week`` column's
    date is the week's first day; a ``Month`` column's date lies in the month).
    ``keep`` is the SQL predicate of the data rows.
    """
    col = f"sg_text({quote_ident(header)})"
    cells = f"(SELECT {col} AS v FROM {relation} WHERE ({keep}) AND {col} IS NOT NULL) AS _c"
    a, b = range_parts("v")
    is_range = f"regexp_full_match({{v}}, {_lit(RANGE_RE)})"
    ranges = int(scalar(con, f"SELECT count(*) FROM {cells} WHERE {is_range.format(v='v')}"))
    singles = f"(SELECT v FROM {cells} WHERE NOT {is_range.format(v='v')}) AS _s"
    single_start = single_end = "NULL"
    described = ""
    if scalar(con, f"SELECT count(*) FROM {singles}"):
        layout = _month_layout(con, singles) if unit == "month" and not date_format else None
        if layout is not None:
            day = f"CAST(try_strptime({{v}}, {_lit(layout)}) AS DATE)"
            single_start, single_end = day, f"last_day({day})"
            described = "month labels"
        else:
            fmt = date_format or detect_date_format(
                con, singles, "v", file=file, header=header, prefer_day_first=day_first
            )
            day = parse_expr("date", "{v}", date_format=fmt)
            if unit == "month":
                single_start = f"CAST(date_trunc('month', {day}) AS DATE)"
                single_end = f"last_day({day})"
                described = "dates standing for their month"
            elif unit == "week":
                single_start, single_end = day, f"CAST({day} + INTERVAL 6 DAY AS DATE)"
                described = "dates starting a week"
            else:
                single_start = single_end = day
                described = "dates"
    range_start = range_end = "NULL"
    if ranges:
        parts = (
            f"(SELECT unnest([{a}, {b}]) AS v FROM {cells} WHERE {is_range.format(v='v')}) AS _p"
        )
        fmt = date_format or detect_date_format(
            con, parts, "v", file=file, header=header, prefer_day_first=day_first
        )
        ra, rb = range_parts("{v}")
        range_start = parse_expr("date", ra, date_format=fmt)
        range_end = parse_expr("date", rb, date_format=fmt)
        described = "ranges" + (f" and {described}" if described else "")
    start = f"CASE WHEN {is_range} THEN {range_start} ELSE {single_start} END"
    end = f"CASE WHEN {is_range} THEN {range_end} ELSE {single_end} END"
    return ColumnPeriod(start, end, described)


def _spend_scale(con: duckdb.DuckDBPyConnection) -> int:
    """Decimals of the stored spend (the workspace's money precision)."""
    found = scalar(
        con,
        "SELECT max(numeric_scale) FROM information_schema.columns "
        "WHERE table_name = 'marketing_spend' AND column_name = 'spend'",
    )
    return int(found) if found is not None else 2


def _share(units: str) -> str:
    """Day ``_i``'s part of ``units`` (a HUGEINT) spread over ``_n`` days; parts sum exactly."""
    return f"(((_i + 1) * ({units})) // _n - (_i * ({units})) // _n)"


def daily_spend(
    con: duckdb.DuckDBPyConnection, stg: str, present: set[str], rel: str
) -> tuple[str, tuple[str, ...], bool, tuple[str, ...]]:
    """Build one row per (date, channel, campaign) of ``marketing_spend`` in ``rel``.

    Returns the relation, its columns, whether it has one row per key, and notes
    for the user. Rows sharing a campaign-day are summed when the file splits
    campaigns by other columns (``_split``); otherwise the repeat is refused
    (or, without ``_file``, left for the importer's duplicate check).
    """
    values = [c for c in _VALUES if c in present]
    scale = _spend_scale(con)
    unit = 10**scale
    spread = "_period_end" in present
    days = f"{rel}_days"
    split = "_split" if "_split" in present else "NULL"
    if spread:
        parts = {
            "spend": f"CAST(CAST({_share(f'CAST(round(spend * {unit}) AS HUGEINT)')} "
            f"AS DECIMAL(18, 0)) * CAST({1 / unit!r} AS DECIMAL(18, {scale})) "
            f"AS DECIMAL(18, {scale}))",
            "impressions": f"CAST({_share('CAST(impressions AS HUGEINT)')} AS BIGINT)",
            "clicks": f"CAST({_share('CAST(clicks AS HUGEINT)')} AS BIGINT)",
            # Whole conversions spread as counts; fractional ones in ten-thousandths.
            "conversions": f"""CASE WHEN _n = 1 THEN conversions
                 WHEN conversions = round(conversions)
                 THEN CAST({_share("CAST(conversions AS HUGEINT)")} AS DOUBLE)
                 ELSE CAST({_share("CAST(round(conversions * 10000) AS HUGEINT)")} AS DOUBLE)
                      / 10000 END""",
        }
        select = "".join(f", {parts[c]} AS {c}" for c in values)
        source = f"""(SELECT *, unnest(range(_n)) AS _i FROM (
                SELECT *, CAST(date_diff('day', date, coalesce(_period_end, date)) + 1 AS BIGINT)
                       AS _n
                FROM {stg}))"""
        run(con, f"DROP TABLE IF EXISTS {days}")
        run(
            con,
            f"CREATE TEMP TABLE {days} AS SELECT CAST(date + CAST(_i AS INTEGER) AS DATE) AS date, "
            f"channel, campaign{select}, _row, {split} AS _split, _n FROM {source}",
        )
    else:
        select = "".join(f", {c}" for c in values)
        run(con, f"DROP TABLE IF EXISTS {days}")
        run(
            con,
            f"CREATE TEMP TABLE {days} AS SELECT date, channel, campaign{select}, _row, "
            f"{split} AS _split, 1 AS _n FROM {stg}",
        )
    notes: list[str] = []
    if spread:
        multi = one(
            con,
            f"SELECT count(DISTINCT _row), count(*), min(date), max(date) FROM {days} WHERE _n > 1",
        )
        if multi is not None and multi[0]:
            notes.append(
                f"{multi[0]} row(s) cover more than one day; their spend, impressions, clicks "
                f"and conversions are spread evenly over their days ({multi[1]} campaign-days "
                f"from {multi[2]} to {multi[3]}), the daily parts adding up to each row exactly"
            )
    keys = "date, channel, campaign"
    repeat = one(
        con,
        f"SELECT {keys}, min(_row), max(_row) FROM {days} GROUP BY {keys}, _split "
        f"HAVING count(*) > 1 ORDER BY min(_row) LIMIT 1",
    )
    columns = ("date", "channel", "campaign", *values)
    if repeat is not None:
        file = scalar(con, f"SELECT any_value(_file) FROM {stg}") if "_file" in present else None
        if file is None:
            # Without a file name the importer's own duplicate check reports the rows.
            run(con, f"DROP TABLE IF EXISTS {rel}")
            run(con, f"ALTER TABLE {days} RENAME TO {rel}")
            return rel, columns, False, tuple(notes)
        day, channel, campaign, first, last = repeat
        by = scalar(con, f"SELECT any_value(_split_by) FROM {stg}") if split != "NULL" else None
        why = f"with the same {by}" if by else "and the file splits campaigns by no other column"
        run(con, f"DROP TABLE IF EXISTS {days}")
        raise ValidationError(
            f"{file}, rows {first} and {last}: marketing_spend {day}, {channel}, "
            f"{campaign or '(no campaign)'} appears twice {why} (ad set, ad, placement …); "
            f"remove the duplicate row",
            file=str(file),
            row=int(last),
        )
    summed = one(
        con,
        f"""WITH g AS (SELECT {keys} FROM {days} GROUP BY {keys} HAVING count(*) > 1)
            SELECT (SELECT count(*) FROM g), count(DISTINCT d._row)
            FROM {days} d JOIN g USING ({keys})""",
    )
    if summed is not None and summed[0]:
        by = scalar(con, f"SELECT any_value(_split_by) FROM {stg}")
        notes.append(
            f"{summed[1]} rows summed into {summed[0]} campaign-days: the file splits "
            f"campaigns by {by}"
        )
    sums = "".join(
        f", CAST(sum(spend) AS DECIMAL(18, {scale})) AS spend"
        if c == "spend"
        else f", sum({c}) AS {c}"
        for c in values
    )
    run(con, f"DROP TABLE IF EXISTS {rel}")
    run(
        con,
        f"CREATE TEMP TABLE {rel} AS SELECT {keys}{sums}, min(_row) AS _row "
        f"FROM {days} GROUP BY {keys}",
    )
    run(con, f"DROP TABLE IF EXISTS {days}")
    return rel, columns, True, tuple(notes)
