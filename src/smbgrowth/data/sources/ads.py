"""Ad platforms: daily spend by channel and campaign (Meta, Google, Microsoft, TikTok, LinkedIn).

The big platforms' exports are recognised from their headers, so that no
``--channel`` is needed: Meta Ads Manager (``Amount spent (USD)``,
``Reporting starts``, ``Reach``), TikTok Ads (``Clicks (destination)``),
Google Ads (``Cost`` with ``Impr.``, ``Avg. CPC`` or ``Currency code``),
Microsoft Advertising (``Spend`` with ``Impr.`` or ``Conv.``) and LinkedIn
Campaign Manager (``Total Spent``, ``Start Date (in UTC)``).

What the exports do that a plain reading gets wrong:

* title rows above the header (Google, Microsoft, LinkedIn): the header is the
  first row naming a spend column and another known column;
* totals rows (an account row with empty dimensions first or last, ``Total: …``
  footers) and copyright footers: skipped, counted and checked against the sum
  of the other rows;
* rows covering a period: a day column wins, then a week or month column
  (ranges ``2024-10-01 - 2024-10-30`` or labels ``October 2024``), then the
  report's own range; a multi-day row is spread over its days
  (:mod:`smbgrowth.data.sources.periods`);
* ``-``, ``--``, ``—`` and ``N/A`` in number cells mean empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from smbgrowth.data.duck import one, run
from smbgrowth.data.fields import normalise_header
from smbgrowth.data.parsing import detect_date_format, parse_expr, quote_ident, sql_literal
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile, peek_rows
from smbgrowth.data.sources.base import HeaderSource, find
from smbgrowth.data.sources.periods import RANGE_RE, ColumnPeriod, Unit, column_period
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError, ValidationError

__all__ = ["AdsSource"]

_SPEND = ("Spend", "Cost", "Amount spent", "Total Spent", "Spent", "Amount", "Total cost")
# Prefixes of spend headers that carry the currency: "Amount spent (EUR)", "Cost (USD)".
_SPEND_PREFIXES = ("amountspent", "totalspent", "spend", "cost")
_COLUMNS: dict[str, tuple[str, ...]] = {
    "campaign": ("Campaign", "Campaign name"),
    "impressions": ("Impressions", "Impr.", "Impr"),
    "clicks": ("Clicks", "Link clicks", "Clicks (destination)", "Clicks (all)"),
    "conversions": (
        "Conversions",
        "Conv.",
        "Total conversions",
        "Results",
        "Purchases",
        "Total_Conversion",
    ),
}
# Columns giving the day of each row.
_DAY = ("Date", "Day", "Reporting date", "Stat time", "By Day")
# Columns giving a longer period of each row, with what a single date in them means.
_PERIODS: tuple[tuple[str, Unit], ...] = (
    ("Week", "week"),
    ("Week (Mon - Sun)", "week"),
    ("Week (Sun - Sat)", "week"),
    ("Month", "month"),
)
# (first day, last day) column pairs: per row, or the report's range on every row.
_ROW_RANGES = (("Start Date (in UTC)", "End Date (in UTC)"), ("Start date", "End date"))
_REPORT_RANGES = (("Reporting starts", "Reporting ends"), ("Report start", "Report end"))
# Columns that split a campaign into parts; rows differing only by them are summed.
_SPLITS = (
    "Ad set name",
    "Ad set",
    "Ad set ID",
    "Ad group",
    "Ad group name",
    "Ad group ID",
    "Ad name",
    "Ad",
    "Ad ID",
    "Creative name",
    "Creative ID",
    "Campaign ID",
    "Placement",
    "Age",
    "Gender",
    "Device",
    "Device platform",
    "Impression device",
    "Country",
    "Country/Region",
    "Region",
    "Keyword",
    "Search keyword",
    "Search term",
    "Network",
    "Network (with search partners)",
    "Ad distribution",
    "Publisher platform",
    "Platform",
    "Account name",
    "Account",
    "Account ID",
)
_ACCOUNT = ("Account name", "Account")
_CURRENCY = ("Currency", "Currency code")
# Cells that mean "no value" in number columns.
_EMPTY = ("-", "--", "—", "–", "n/a")
# A row whose first cell is a total ("Total", "Totals", "Total: Account", "Total – Campaigns").
_TOTAL_RE = r"^totals?(\s*[:–—-].*)?$"
_FOOTER_RE = r"^(©|\(c\)|copyright\b)"
_TITLE_DAY_LAYOUTS = (
    "%B %d, %Y",
    "%b %d, %Y",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%d %B %Y",
    "%d %b %Y",
    "%Y/%m/%d",
)


@dataclass(frozen=True)
class _Layout:
    """An ad platform recognised from an export's headers."""

    platform: str
    channel: str
    #: Headers of a column naming each row's channel (Meta's per-platform breakdown).
    channel_columns: tuple[str, ...] = ()
    #: Read 3/1/2024 as March 1 when a file's dates leave the order open (US tools).
    month_first: bool = False


def _norm(headers: tuple[str, ...] | list[str]) -> set[str]:
    return {normalise_header(h) for h in headers if h}


def _layout(headers: tuple[str, ...], titles: list[list[str]]) -> _Layout | None:
    cells = _norm(headers)
    title = " ".join(c for row in titles for c in row).lower()
    if any(c.startswith("amountspent") for c in cells) or (
        "reportingstarts" in cells and cells & {"reach", "frequency"}
    ):
        return _Layout("Meta Ads Manager", "facebook", ("Platform", "Publisher platform"))
    if cells & {"clicksdestination", "ctrdestination", "cpcdestination"}:
        return _Layout("TikTok Ads Manager", "tiktok")
    if "totalspent" in cells or "startdateinutc" in cells or "campaigngroupname" in cells:
        return _Layout("LinkedIn Campaign Manager", "linkedin", month_first=True)
    if "microsoft" in title or (
        "spend" in cells and cells & {"impr", "conv", "convrate", "costperconv"}
    ):
        return _Layout("Microsoft Advertising", "microsoft_ads", month_first=True)
    if "cost" in cells and (
        cells & {"impr", "avgcpc", "currencycode", "interactions", "convvalue"}
        or "campaign report" in title
    ):
        return _Layout("Google Ads", "google_ads", month_first=True)
    return None


def _spend_header(raw: RawFile) -> str | None:
    found = find(raw, *_SPEND)
    if found is not None:
        return found
    for h in raw.headers:
        n = normalise_header(h)
        # "Amount spent (EUR)"; "Spend (USD)" but not "Spend per result" / "Cost per result".
        if n.startswith("amountspent") or n.startswith("totalspent"):
            return h
        if any(n == p + suffix for p in _SPEND_PREFIXES for suffix in ("usd", "eur", "gbp")):
            return h
        if re.fullmatch(
            r"(spend|cost|amount spent|total spent)\s*\([A-Za-z]{3}\)", h.strip(), re.I
        ):
            return h
    return None


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() not in (".xlsx", ".xlsm", ".xls", ".parquet", ".pq")


def _header_like(row: list[str]) -> bool:
    cells = _norm([c.strip() for c in row])
    spend = {normalise_header(s) for s in _SPEND}
    has_spend = bool(cells & spend) or any(
        c.startswith(("amountspent", "totalspent", "spend", "cost")) and not c.startswith("costper")
        for c in cells
    )
    known = {normalise_header(h) for hs in _COLUMNS.values() for h in hs}
    known |= {normalise_header(h) for h in _DAY} | {normalise_header(h) for h, _ in _PERIODS}
    return has_spend and len(cells & known) >= 1


def _parse_day(text: str) -> date | None:
    text = re.sub(r",?\s+\d{1,2}:\d{2}(:\d{2})?\s*([AaPp][Mm])?.*$", "", text.strip())
    for layout in _TITLE_DAY_LAYOUTS:
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    return None


def _title_period(titles: list[list[str]]) -> tuple[date, date] | None:
    """The report's range from title rows ("October 1, 2024 - October 31, 2024")."""
    start = end = None
    for row in titles:
        for cell in row:
            text = cell.strip()
            label, _, rest = text.partition(":")
            value = rest.strip() if rest.strip() else text
            found = re.fullmatch(RANGE_RE, value)
            if found:
                a, b = _parse_day(found.group(1)), _parse_day(found.group(2))
                if a and b and a <= b:
                    return a, b
            key = normalise_header(label)
            if rest and key in ("reportstart", "startdate", "from"):
                start = _parse_day(value) or start
            elif rest and key in ("reportend", "enddate", "to"):
                end = _parse_day(value) or end
    if start and end and start <= end:
        return start, end
    return None


def _number(value: object, money: bool) -> str:
    x = float(value)  # type: ignore[arg-type]
    return f"{x:,.2f}" if money or not x.is_integer() else f"{x:,.0f}"


def _listing(names: list[str]) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _rows(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:5])
    return f"row {shown}" if len(rows) == 1 else f"rows {shown}{' …' if len(rows) > 5 else ''}"


class AdsSource(HeaderSource):
    name = "ads"
    help = (
        "ad platform export (Meta, Google Ads, Microsoft Ads, TikTok, LinkedIn, or any file "
        "with date, campaign, spend, impressions, clicks, conversions)"
    )

    def skip_rows(self, path: Path, options: ImportOptions) -> int:
        declared = super().skip_rows(path, options)
        if declared or not _is_csv(path):
            return declared
        for i, row in enumerate(peek_rows(path, 40)):
            if _header_like(row):
                return i
        return 0

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        con = ws.duck
        titles = (
            peek_rows(raw.path, raw.header_row - 1)
            if raw.header_row > 1 and _is_csv(raw.path)
            else []
        )
        layout = _layout(raw.headers, titles)
        columns: dict[str, str] = {}
        spend = _spend_header(raw)
        if spend is None:
            raise MappingError(
                f"{raw.path.name}: no column for spend; an ads export needs a date and spend "
                f"per row. Its columns are {', '.join(repr(h) for h in raw.headers[:30])}"
            )
        columns["spend"] = spend
        for fld, candidates in _COLUMNS.items():
            h = find(raw, *candidates)
            if h is not None and h not in columns.values():
                columns[fld] = h
        channel = find(raw, "Channel")
        if channel is None and (layout is None or layout.channel_columns):
            names = layout.channel_columns if layout else ("Platform", "Source", "Network")
            channel = find(raw, *names)
        constants: dict[str, str] = {}
        if channel is not None:
            columns["channel"] = channel
        elif options.channel:
            constants["channel"] = options.channel
        elif layout is not None:
            constants["channel"] = layout.channel
        else:
            raise MappingError(
                f"{raw.path.name}: the file does not say which channel it is from; "
                "pass --channel (e.g. --channel google_ads)"
            )

        # Numbers written as "-", "--", "—" or "N/A" are empty cells.
        for fld in ("spend", "impressions", "clicks", "conversions"):
            if fld in columns:
                c = quote_ident(columns[fld])
                empties = ", ".join(sql_literal(e) for e in _EMPTY)
                run(
                    con,
                    f"UPDATE {raw.relation} SET {c} = NULL WHERE lower(trim({c})) IN ({empties})",
                )

        # Which columns say what a row is: the totals row leaves them all empty.
        day = find(raw, *_DAY)
        row_range = next(
            (
                (s, e)
                for s, e in ((find(raw, a), find(raw, b)) for a, b in _ROW_RANGES)
                if s is not None and e is not None
            ),
            None,
        )
        if day is None and row_range is None:
            day = find(raw, "Start Date (in UTC)", "Start date")
        period = next(((h, u) for h, u in ((find(raw, n), u) for n, u in _PERIODS) if h), None)
        report = next(
            (
                (s, e)
                for s, e in ((find(raw, a), find(raw, b)) for a, b in _REPORT_RANGES)
                if s is not None and e is not None
            ),
            None,
        )
        if day is None and row_range is None and period is None and report is None:
            day = find(raw, "Reporting starts")
        used = set(columns.values()) | {day, *(row_range or ()), *(period[:1] if period else ())}
        splits = [
            h
            for h in dict.fromkeys(find(raw, s) for s in _SPLITS)
            if h is not None and h not in used and h not in (report or ())
        ]
        dims = [
            h
            for h in (
                columns.get("campaign"),
                channel,
                day,
                *(row_range or ()),
                period[0] if period else None,
                *splits,
            )
            if h is not None
        ]
        keep, notes = self._skip_totals(con, raw, columns, dims)

        # The period of each row: the most specific the file gives.
        extra: dict[str, tuple[str, str]] = {}
        derive: dict[str, str] = {}
        outer: tuple[str, str] | None = None  # the report's range (SQL over staged fields)
        outer_raw: tuple[str, str] | None = None
        title = _title_period(titles)
        fmt = options.date_format
        day_first = False if layout is not None and layout.month_first else None
        kept = f"(SELECT * FROM {raw.relation} WHERE {keep}) AS _k"

        def day_sql(header: str, name: str) -> tuple[str, str]:
            layout_ = fmt or detect_date_format(
                con, kept, header, file=raw.path.name, header=header, prefer_day_first=day_first
            )
            extra[name] = (header, "text")
            staged = parse_expr("date", quote_ident(name), date_format=layout_)
            return staged, parse_expr("date", quote_ident(header), date_format=layout_)

        if report is not None:
            rs, rs_raw = day_sql(report[0], "_report_start")
            re_, re_raw = day_sql(report[1], "_report_end")
            outer, outer_raw = (rs, re_), (rs_raw, re_raw)
        elif title is not None:
            lits = (f"DATE '{title[0].isoformat()}'", f"DATE '{title[1].isoformat()}'")
            outer = outer_raw = lits
        bounds: tuple[str, str] | None = None
        bounds_raw: tuple[str, str] | None = None
        source = ""
        if day is not None:
            columns["date"] = day
            source = f"each row is one day ({day!r})"
        elif row_range is not None:
            s, s_raw = day_sql(row_range[0], "_row_start")
            e, e_raw = day_sql(row_range[1], "_row_end")
            bounds, bounds_raw = (s, e), (s_raw, e_raw)
            source = f"each row covers {row_range[0]!r} to {row_range[1]!r}"
        elif period is not None:
            found: ColumnPeriod = column_period(
                con,
                raw.relation,
                period[0],
                period[1],
                keep=keep,
                file=raw.path.name,
                date_format=fmt,
                day_first=day_first,
            )
            extra["_period_text"] = (period[0], "text")
            bounds = found.bounds(quote_ident("_period_text"))
            bounds_raw = found.bounds(f"sg_text({quote_ident(period[0])})")
            source = f"each row covers the period in {period[0]!r} ({found.described})"
            if outer is not None and outer_raw is not None:
                # A month label covers the month only as far as the report reaches.
                bounds = (
                    f"coalesce(greatest({bounds[0]}, {outer[0]}), {outer[0]})",
                    f"coalesce(least({bounds[1]}, {outer[1]}), {outer[1]})",
                )
                bounds_raw = (
                    f"coalesce(greatest({bounds_raw[0]}, {outer_raw[0]}), {outer_raw[0]})",
                    f"coalesce(least({bounds_raw[1]}, {outer_raw[1]}), {outer_raw[1]})",
                )
        elif outer is not None and outer_raw is not None:
            bounds, bounds_raw = outer, outer_raw
            where = f"{report[0]!r} to {report[1]!r}" if report else "the title rows"
            source = f"each row covers the whole report ({where})"
        else:
            raise MappingError(
                f"{raw.path.name}: no column for date; an ads export needs a date and spend "
                f"per row (a Day, Date, Week or Month column, or Reporting starts/ends). "
                f"Its columns are {', '.join(repr(h) for h in raw.headers[:30])}"
            )
        if bounds is not None and bounds_raw is not None:
            self._check_periods(con, raw, keep, bounds_raw, period[0] if period else None)
            derive["date"] = bounds[0]
            derive["_period_end"] = bounds[1]
        if layout is not None:
            notes.insert(0, f"read as a {layout.platform} export; {source}")
        elif source and day is None:
            notes.insert(0, source)

        derive["campaign"] = "coalesce(campaign, '')" if "campaign" in columns else "''"
        if "channel" in columns:
            derive["channel"] = r"regexp_replace(lower(channel), '\s+', '_', 'g')"
        derive["_file"] = sql_literal(raw.path.name)
        if splits:
            for k, h in enumerate(splits):
                extra[f"_split{k}"] = (h, "text")
            parts = ", ".join(f"coalesce(_split{k}, '')" for k in range(len(splits)))
            derive["_split"] = f"concat_ws(chr(31), {parts})"
            derive["_split_by"] = sql_literal(" and ".join(splits))
        currency = self._currency(raw, spend)
        if currency is not None:
            # Spend in another currency is converted like any amount (importer: fx_rates).
            kind, value = currency
            if kind == "column":
                extra["currency"] = (value, "text")
            else:
                derive["currency"] = sql_literal(value)
        return [
            FilePlan(
                target="marketing_spend",
                columns=columns,
                constants=constants,
                extra=extra,
                derive=derive,
                row_filter=keep,
                date_format=options.date_format,
                day_first=day_first,
                decimal=options.decimal,
                label="ad spend",
                notes=tuple(notes),
            )
        ]

    def _skip_totals(
        self, con: duckdb.DuckDBPyConnection, raw: RawFile, columns: dict[str, str], dims: list[str]
    ) -> tuple[str, list[str]]:
        """The predicate of data rows, and notes on the totals, footer and blank rows."""
        first = f"sg_text({quote_ident(raw.headers[0])})"
        every = ", ".join(f"sg_text({quote_ident(h)})" for h in raw.headers)
        spend = f"sg_text({quote_ident(columns['spend'])})"
        empty_dims = (
            " AND ".join(f"sg_text({quote_ident(h)}) IS NULL" for h in dims) if dims else "false"
        )
        ends = f"(SELECT min(_row) FROM {raw.relation}), (SELECT max(_row) FROM {raw.relation})"
        label_sql = " OR ".join(
            f"coalesce(regexp_full_match(lower(sg_text({quote_ident(h)})), "
            f"{sql_literal(_TOTAL_RE)}), false)"
            for h in dict.fromkeys([raw.headers[0], *dims])
        )
        why = f"""CASE
            WHEN coalesce({every}) IS NULL THEN 'blank'
            WHEN coalesce(regexp_matches(lower({first}), {sql_literal(_FOOTER_RE)})
                 OR contains(lower({first}), 'all rights reserved'), false) THEN 'footer'
            WHEN {label_sql} THEN 'label'
            WHEN _row IN ({ends}) AND {empty_dims} AND {spend} IS NOT NULL THEN 'empty'
        END"""
        keep = f"({why}) IS NULL"
        found = run(
            con,
            f"SELECT _why, list(_row ORDER BY _row), list({first} ORDER BY _row) FROM "
            f"(SELECT *, {why} AS _why FROM {raw.relation}) WHERE _why IS NOT NULL "
            f"GROUP BY _why",
        )
        skipped = {str(w): (list(rows), list(firsts)) for w, rows, firsts in found}
        notes: list[str] = []
        totals = sorted(skipped.get("label", ([], []))[0] + skipped.get("empty", ([], []))[0])
        if totals:
            reasons = []
            if "empty" in skipped:
                shown = _listing(dims[:4]) + (" …" if len(dims) > 4 else "")
                reasons.append(f"{_rows(skipped['empty'][0])}: {shown} empty")
            if "label" in skipped:
                labels = list(dict.fromkeys(str(f) for f in skipped["label"][1] if f))
                reasons.append(f"{_rows(skipped['label'][0])}: {_listing(labels[:3])}")
            note = f"{len(totals)} totals row(s) skipped ({'; '.join(reasons)})"
            notes.append(note + self._totals_check(con, raw, columns, totals, keep))
        if "footer" in skipped:
            rows, firsts = skipped["footer"]
            notes.append(f"{len(rows)} footer row(s) skipped ({_rows(rows)}: {firsts[0]!r})")
        if "blank" in skipped:
            notes.append(f"{len(skipped['blank'][0])} blank row(s) skipped")
        return keep, notes

    def _totals_check(
        self,
        con: duckdb.DuckDBPyConnection,
        raw: RawFile,
        columns: dict[str, str],
        totals: list[int],
        keep: str,
    ) -> str:
        """Whether the (largest) totals row equals the sum of the data rows, as a clause."""
        fields = [f for f in ("spend", "impressions", "clicks", "conversions") if f in columns]
        exprs = [
            f"sg_decimal({quote_ident(columns[f])}, '')"
            if f == "spend"
            else f"sg_number({quote_ident(columns[f])}, '')"
            for f in fields
        ]
        listed = ", ".join(str(r) for r in totals)
        total = one(
            con,
            f"SELECT _row, {', '.join(exprs)} FROM {raw.relation} WHERE _row IN ({listed}) "
            f"ORDER BY {exprs[0]} DESC NULLS LAST LIMIT 1",
        )
        sums = one(
            con,
            f"SELECT count(*), {', '.join(f'sum({e})' for e in exprs)} FROM {raw.relation} "
            f"WHERE {keep}",
        )
        if total is None or sums is None:
            return ""
        row, n = total[0], int(sums[0])
        agree, differ = [], []
        for k, fld in enumerate(fields):
            shown, summed = total[k + 1], sums[k + 1]
            if shown is None:
                continue
            header = columns[fld]
            tolerance = 0.005 * (n + 1) if fld == "spend" else 1e-6
            if summed is not None and abs(float(shown) - float(summed)) <= tolerance:
                agree.append(header)
            else:
                differ.append(
                    f"{header} {_number(shown, fld == 'spend')} differs from their sum "
                    f"{_number(summed or 0, fld == 'spend')}"
                )
        clause = ""
        if agree:
            clause += f"; row {row}'s {_listing(agree)} equal the sum of the other rows"
        if differ:
            clause += f"; row {row}'s {'; '.join(differ)}"
        return clause

    def _check_periods(
        self,
        con: duckdb.DuckDBPyConnection,
        raw: RawFile,
        keep: str,
        bounds: tuple[str, str],
        header: str | None,
    ) -> None:
        """Raise ValidationError at the first data row whose period cannot be read."""
        start, end = bounds
        cell = f"sg_text({quote_ident(header)})" if header else "NULL"
        bad = one(
            con,
            f"SELECT _row, {cell}, {start}, {end} FROM {raw.relation} WHERE {keep} AND "
            f"({start} IS NULL OR {end} IS NULL OR {end} < {start}) ORDER BY _row LIMIT 1",
        )
        if bad is None:
            return
        row, value, first, last = bad
        column = header or "date"
        expected = (
            "a period ending before it starts"
            if first is not None and last is not None
            else "a period: a date, a range such as 2024-10-01 - 2024-10-31 or a month "
            "such as 2024-10"
        )
        raise ValidationError(
            f"{raw.path.name}, row {row}, column {column!r} (date): {value!r} is not "
            f"{expected}; correct the cell",
            file=raw.path.name,
            row=int(row),
            column=column,
            value=str(value),
            expected=expected,
        )

    @staticmethod
    def _currency(raw: RawFile, spend: str) -> tuple[str, str] | None:
        """Where the file says its currency: a column, or the spend header ("(EUR)")."""
        column = find(raw, *_CURRENCY)
        if column is not None:
            return "column", column
        named = re.search(r"\(([A-Za-z]{3})\)\s*$", spend)
        if named:
            return "constant", named.group(1).upper()
        return None
