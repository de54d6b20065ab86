"""Importing export files into a workspace: all or nothing, idempotent, explained.

The steps for each file: read it as text into DuckDB (:mod:`readers`), let
the source decide the plan (:mod:`sources`), parse every field in SQL and stop
at the first bad cell with its file, row, column and value (:mod:`parsing`),
build canonical rows (:mod:`builders`), then upsert them by key. All files of
one import share one transaction: a bad cell in the third file leaves the
workspace exactly as it was. Re-importing the same export changes no row (not
even ``imported_at``); a corrected export updates the rows whose values changed.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from smbgrowth.data.builders import Output, build_outputs
from smbgrowth.data.duck import one, run, scalar
from smbgrowth.data.fields import target_fields
from smbgrowth.data.mapping import load_mapping
from smbgrowth.data.parsing import (
    EXPECTED,
    NumberLayout,
    day_first,
    detect_date_format,
    detect_decimal,
    install_macros,
    parse_expr,
    quote_ident,
    sql_literal,
)
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile, read_raw
from smbgrowth.data.schema import get_table
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import DataError, MappingError, SmbGrowthError, ValidationError

__all__ = ["FileImport", "ImportResult", "TableChange", "import_files"]

Progress = Callable[[str, float], None]

# Fields whose value is compared case-insensitively and stored lower-case.
_LOWER = {"customer_email", "email"}
# Money fields converted to the reporting currency when a row has another currency.
_FX_FIELDS = {
    "orders": ("ordered_at", ("subtotal", "discount", "shipping", "tax", "total", "refunded")),
    "order_lines": (
        "ordered_at",
        (
            "subtotal",
            "discount",
            "shipping",
            "tax",
            "total",
            "refunded",
            "unit_price",
            "unit_cost",
            "line_discount",
            "line_total",
        ),
    ),
    "invoices": ("issued_at", ("amount", "tax", "paid_amount")),
    "subscriptions": ("started_at", ("mrr",)),
    "marketing_spend": ("date", ("spend",)),
}
# Statuses of orders and payments that moved no money.
_NO_MONEY_SQL = ", ".join(
    sql_literal(s)
    for s in ("failed", "wc-failed", "declined", "cancelled", "canceled", "voided", "void")
)
# Fields that every row of a table needs, beyond its key.
_NEEDED = {
    "orders": ("ordered_at", "total"),
    "subscriptions": ("customer_id", "started_at"),
    "marketing_spend": ("spend",),
    "web_events": ("occurred_at", "step"),
    "deals": ("created_at",),
    "invoices": ("issued_at", "amount"),
    "expenses": ("incurred_at", "amount"),
    "tickets": ("opened_at",),
    "processes": ("name",),
    "experiments": ("variant", "assigned_at"),
    "fx_rates": ("rate",),
}


@dataclass
class TableChange:
    """What one import did to one table."""

    table: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0


@dataclass
class FileImport:
    """What one file contributed."""

    file: str
    target: str
    label: str
    rows_read: int
    rows_skipped: int
    encoding: str
    mapping: dict[str, str]
    mapping_guessed: bool
    date_formats: dict[str, str]
    tables: list[TableChange]
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    """The outcome of one import run (also written to the workspace's import log)."""

    import_id: str
    source: str
    dry_run: bool
    files: list[FileImport]

    def totals(self) -> dict[str, TableChange]:
        """Changes summed per table over all files."""
        out: dict[str, TableChange] = {}
        for f in self.files:
            for t in f.tables:
                acc = out.setdefault(t.table, TableChange(t.table))
                acc.rows += t.rows
                acc.inserted += t.inserted
                acc.updated += t.updated
                acc.unchanged += t.unchanged
                acc.removed += t.removed
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary with stable keys (``smbgrowth import --json``)."""
        return {
            "import_id": self.import_id,
            "source": self.source,
            "dry_run": self.dry_run,
            "files": [asdict(f) for f in self.files],
            "tables": {name: asdict(t) for name, t in self.totals().items()},
        }


def _sha256(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for p in paths:
        with p.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _date_formats(
    con: duckdb.DuckDBPyConnection, raw: RawFile, plan: FilePlan, kinds: dict[str, str]
) -> dict[str, str]:
    formats: dict[str, str] = {}
    ambiguous: list[tuple[str, str, MappingError]] = []
    for fld, header in plan.columns.items():
        if kinds.get(fld) not in ("timestamp", "date"):
            continue
        if plan.date_format:
            formats[fld] = plan.date_format
            continue
        try:
            formats[fld] = detect_date_format(
                con,
                raw.relation,
                header,
                file=raw.path.name,
                header=header,
                prefer_day_first=plan.day_first,
            )
        except MappingError as exc:
            ambiguous.append((fld, header, exc))
    if ambiguous:
        # One file writes all its dates one way: a column whose days are all 12 or
        # less (due dates) follows the column that shows the order (15/03/2024).
        orders = {day_first(f) for f in formats.values()} - {None}
        if len(orders) != 1:
            raise ambiguous[0][2]
        prefer = orders.pop()
        for fld, header, _ in ambiguous:
            formats[fld] = detect_date_format(
                con,
                raw.relation,
                header,
                file=raw.path.name,
                header=header,
                prefer_day_first=prefer,
            )
    return formats


def _number_layouts(
    con: duckdb.DuckDBPyConnection,
    raw: RawFile,
    plan: FilePlan,
    kinds: dict[str, str],
    sources: dict[str, str],
) -> dict[str, NumberLayout]:
    """The decimal separator of every number field, decided per column from its values."""
    layouts: dict[str, NumberLayout] = {}
    unsettled: list[tuple[str, str, MappingError]] = []
    for name, header in sources.items():
        kind = kinds[name]
        if kind not in ("money", "decimal", "float", "integer"):
            continue
        try:
            layouts[name] = detect_decimal(
                con,
                raw.relation,
                header,
                file=raw.path.name,
                header=header,
                whole=kind == "integer",
                decimal=plan.decimal,
            )
        except MappingError as exc:
            unsettled.append((name, header, exc))
    if unsettled:
        # A column of only 1,234-style values follows the file's other number columns
        # when they all show one convention (as day/month order does for dates).
        shown = {lay.decimal for lay in layouts.values() if lay.settled}
        if len(shown) != 1:
            raise unsettled[0][2]
        prefer = shown.pop()
        for name, header, _ in unsettled:
            layouts[name] = detect_decimal(
                con,
                raw.relation,
                header,
                file=raw.path.name,
                header=header,
                whole=kinds[name] == "integer",
                prefer=prefer,
            )
    return layouts


def _stage(
    con: duckdb.DuckDBPyConnection,
    ws: Workspace,
    raw: RawFile,
    plan: FilePlan,
    stg: str,
) -> tuple[dict[str, str], int, list[str]]:
    """Parse every field into the temporary table ``stg``; stop at the first bad cell.

    Returns the date layout chosen per date field, the number of rows staged and
    warnings about the values (amounts rounded to four decimals).
    """
    fields = target_fields(plan.target)
    kinds: dict[str, str] = {name: f.kind for name, f in fields.items()}
    kinds.update({name: kind for name, (_, kind) in plan.extra.items()})
    sources = dict(plan.columns)
    sources.update({name: header for name, (header, _) in plan.extra.items()})
    formats = _date_formats(con, raw, plan, kinds)
    layouts = _number_layouts(con, raw, plan, kinds, sources)
    warnings = [
        f"{lay.rounded} value(s) in column {sources[name]!r} have more than 4 decimals "
        "and were rounded to 4"
        for name, lay in layouts.items()
        if lay.rounded and kinds[name] in ("money", "decimal")
    ]
    tz = ws.time_zone

    parsed: list[str] = ["_row"]
    checks: list[tuple[str, str]] = []
    for name, header in sources.items():
        kind = kinds[name]
        col = quote_ident(header)
        expr = parse_expr(
            kind,
            col,
            date_format=formats.get(name, plan.date_format),
            time_zone=plan.time_zones.get(name, tz),
            decimal=layouts[name].decimal if name in layouts else plan.decimal,
        )
        if name in _LOWER:
            expr = f"lower({expr})"
        parsed.append(f"{expr} AS {quote_ident(name)}")
        if kind != "text":
            flag = quote_ident(f"_has_{name}")
            parsed.append(f"sg_text({col}) IS NOT NULL AS {flag}")
            checks.append((name, f"{flag} AND {quote_ident(name)} IS NULL"))
    for name, value in plan.constants.items():
        parsed.append(f"{parse_expr(kinds[name], sql_literal(value))} AS {quote_ident(name)}")

    err = (
        "CASE " + " ".join(f"WHEN {cond} THEN {sql_literal(n)}" for n, cond in checks) + " END"
        if checks
        else "NULL"
    )
    flags = [quote_ident(f"_has_{n}") for n, _ in checks]
    exclude = f" EXCLUDE ({', '.join(flags)})" if flags else ""
    where = f" WHERE {plan.row_filter}" if plan.row_filter else ""
    inner = f"SELECT {', '.join(parsed)} FROM {raw.relation}{where}"
    checked = f"SELECT *{exclude}, {err} AS _err FROM ({inner})"

    present = set(sources) | set(plan.constants)
    layers: list[dict[str, str]] = []
    if "customer_id" in kinds and "customer_id" not in present and "customer_email" in present:
        layers.append({"customer_id": "customer_email"})
    layers.append(dict(plan.derive))
    query = checked
    for layer in layers:
        if not layer:
            continue
        replaced = {k: v for k, v in layer.items() if k in present}
        added = {k: v for k, v in layer.items() if k not in present}
        replace = (
            f" REPLACE ({', '.join(f'{v} AS {quote_ident(k)}' for k, v in replaced.items())})"
            if replaced
            else ""
        )
        extra = "".join(f", {v} AS {quote_ident(k)}" for k, v in added.items())
        query = f"SELECT *{replace}{extra} FROM ({query})"
        present |= set(added)
    run(con, f"DROP TABLE IF EXISTS {stg}")
    run(con, f"CREATE TEMP TABLE {stg} AS {query}")

    bad = one(con, f"SELECT _row, _err FROM {stg} WHERE _err IS NOT NULL ORDER BY _row LIMIT 1")
    if bad is not None:
        row, name = bad
        header = sources[name]
        value = scalar(
            con, f"SELECT {quote_ident(header)} FROM {raw.relation} WHERE _row = ?", [row]
        )
        kind = kinds[name]
        expected = EXPECTED[kind]
        if kind in ("timestamp", "date") and formats.get(name) not in (None, "iso"):
            expected += f" in the layout {formats[name]!r}"
        raise ValidationError(
            f"{raw.path.name}, row {row}, column {header!r} ({name}): {value!r} is not "
            f"{expected}; correct the cell, or fix the mapping",
            file=raw.path.name,
            row=int(row),
            column=header,
            value=str(value),
            expected=expected,
        )
    kept = int(scalar(con, f"SELECT count(*) FROM {stg}"))
    return formats, kept, warnings


def _convert_currency(
    con: duckdb.DuckDBPyConnection, ws: Workspace, raw: RawFile, plan: FilePlan, stg: str
) -> None:
    """Convert money fields of rows in another currency using the workspace's fx_rates."""
    spec = _FX_FIELDS.get(plan.target)
    cols = set(run(con, f"SELECT column_name FROM (DESCRIBE {stg})"))
    names = {c[0] for c in cols}
    if spec is None or "currency" not in names:
        return
    date_field, money = spec
    reporting = ws.reporting_currency
    run(con, f"UPDATE {stg} SET currency = upper(currency)")
    todo = f"currency <> {sql_literal(reporting)}"
    if "_converted" in names:
        todo += " AND NOT coalesce(_converted, false)"
    foreign = scalar(con, f"SELECT count(*) FROM {stg} WHERE {todo}")
    if "total" in names and "total_original" not in names:
        run(con, f"ALTER TABLE {stg} ADD COLUMN total_original DECIMAL(18, 4)")
        run(con, f"UPDATE {stg} SET total_original = total")
    if not foreign:
        return
    if date_field not in names:
        raise DataError(
            f"{raw.path.name}: rows are in currencies other than {reporting} but the file has "
            f"no {date_field} to pick the exchange rate"
        )
    run(con, f"ALTER TABLE {stg} ADD COLUMN _fx DOUBLE")
    run(
        con,
        f"""UPDATE {stg} SET _fx = r.rate FROM (
              SELECT s._row, f.rate FROM {stg} s ASOF LEFT JOIN fx_rates f
              ON f.currency = s.currency AND f.date <= CAST(s.{date_field} AS DATE)
              WHERE s.{todo}) r
            WHERE {stg}._row = r._row""",
    )
    present = [m for m in money if m in names]
    if "status" in names:
        # A failed or abandoned payment moved no money, so it needs no exchange rate:
        # without one its amounts are 0 in the reporting currency (total_original
        # keeps what was attempted).
        idle = f"{todo} AND _fx IS NULL AND lower(status) IN ({_NO_MONEY_SQL})"
        zeros = ", ".join(f"{m} = 0" for m in present)
        if zeros:
            run(con, f"UPDATE {stg} SET {zeros}, _fx = 1 WHERE {idle}")
    missing = one(
        con,
        f"SELECT _row, currency, CAST({date_field} AS DATE) FROM {stg} "
        f"WHERE {todo} AND _fx IS NULL ORDER BY _row LIMIT 1",
    )
    if missing is not None:
        row, currency, day = missing
        fresh = not scalar(con, "SELECT count(*) FROM orders") and not scalar(
            con, "SELECT count(*) FROM fx_rates"
        )
        start_over = (
            f"; or, if the business reports in {currency}, create the workspace in it "
            f"(`smbgrowth init --currency {currency}`)"
            if fresh
            else ""
        )
        raise DataError(
            f"{raw.path.name}, row {row}: amount in {currency} on {day} but the workspace "
            f"({reporting}) has no {currency}→{reporting} rate on or before that day; import "
            f"rates with `smbgrowth import csv rates.csv --table fx_rates` (columns currency, "
            f"date, rate){start_over}"
        )
    sets = ", ".join(f"{m} = CAST(round({m} * _fx, 4) AS DECIMAL(18, 4))" for m in present)
    if sets:
        run(con, f"UPDATE {stg} SET {sets} WHERE {todo}")


def _check_output(
    con: duckdb.DuckDBPyConnection, raw: RawFile, plan: FilePlan, out: Output
) -> None:
    """Keys present, needed fields present, no key repeated with different values."""
    table = get_table(out.table)
    if out.mode == "primary":
        needed = [c for c in (*table.key, *_NEEDED.get(out.table, ())) if c in table.column_names]
        for column in needed:
            if column not in out.columns:
                raise MappingError(
                    f"{raw.path.name}: no column provides {column} for {out.table}; "
                    f"map it with --mapping (field {column}) or use a file that has it"
                )
            row = scalar(
                con,
                f"SELECT min(_row) FROM {out.relation} WHERE {quote_ident(column)} IS NULL",
            )
            if row is not None:
                header = plan.columns.get(column, column)
                raise ValidationError(
                    f"{raw.path.name}, row {row}, column {header!r} ({column}): the value is "
                    f"empty but every {out.table} row needs one; fill it in or drop the row",
                    file=raw.path.name,
                    row=int(row),
                    column=header,
                    value="",
                    expected=f"a {column}",
                )
    if out.unique:
        return
    key = ", ".join(quote_ident(k) for k in table.key)
    values = ", ".join(quote_ident(c) for c in out.columns)
    clash = one(
        con,
        f"""SELECT {key}, min(_row), max(_row) FROM {out.relation}
            GROUP BY {key}
            HAVING count(DISTINCT md5(CAST(row({values}) AS VARCHAR))) > 1
            ORDER BY min(_row) LIMIT 1""",
    )
    if clash is not None:
        keyval = ", ".join(str(v) for v in clash[: len(table.key)])
        first, last = clash[-2], clash[-1]
        raise ValidationError(
            f"{raw.path.name}, rows {first} and {last}: {out.table} {keyval} appears twice with "
            f"different values; remove the duplicate row"
            + (
                ", or, if each row is one line of an order, import the file with "
                "--table order_lines"
                if out.table == "orders" and plan.target == "orders"
                else ""
            ),
            file=raw.path.name,
            row=int(last),
        )


def _upsert(
    con: duckdb.DuckDBPyConnection,
    out: Output,
    source: str,
    now: datetime,
    *,
    source_column: str | None = None,
    owned: set[str] | None = None,
) -> TableChange:
    """Insert new keys, update changed rows; ``source_column`` gives each row its own source.

    ``owned`` names the sources (customer lists) whose rows derived rows may not
    overwrite.
    """
    table = get_table(out.table)
    src = f"n.{quote_ident(source_column)}" if source_column else "?"
    params: list[Any] = [now] if source_column else [source, now]
    key = list(table.key)
    values = [c for c in out.columns if c not in key]
    rel = f"{out.relation}_u"
    cols = ", ".join(quote_ident(c) for c in out.columns)
    keys = ", ".join(quote_ident(k) for k in key)
    if out.unique:
        rel = out.relation
    else:
        # Identical repeated rows (checked earlier) collapse to the first.
        run(con, f"DROP TABLE IF EXISTS {rel}")
        run(
            con,
            f"CREATE TEMP TABLE {rel} AS SELECT DISTINCT ON ({keys}) {cols} "
            f"FROM {out.relation} ORDER BY {keys}, _row",
        )
    match = " AND ".join(f"t.{quote_ident(k)} = n.{quote_ident(k)}" for k in key)
    change = TableChange(out.table, rows=int(scalar(con, f"SELECT count(*) FROM {rel}")))
    if out.replace_children_of:
        # Lines of these orders that the file no longer lists are stale.
        parent = quote_ident(out.replace_children_of)
        removed = run(
            con,
            f"""DELETE FROM {out.table} AS t WHERE {parent} IN (SELECT {parent} FROM {rel})
                AND NOT EXISTS (SELECT 1 FROM {rel} n WHERE {match})""",
        )
        change.removed = int(removed[0][0]) if removed else 0
    if values:
        if out.mode == "primary":
            new = {c: f"n.{quote_ident(c)}" for c in values}
        else:
            new = {
                c: (
                    f"least(t.{quote_ident(c)}, n.{quote_ident(c)})"
                    if c == "created_at"
                    else f"coalesce(n.{quote_ident(c)}, t.{quote_ident(c)})"
                )
                for c in values
            }
        differs = " OR ".join(f"t.{quote_ident(c)} IS DISTINCT FROM {new[c]}" for c in values)
        assignments = ", ".join(f"{quote_ident(c)} = {expr}" for c, expr in new.items())
        listed = ""
        if owned and out.mode == "derived":
            # Rows a list of their own (a customer export) last wrote are that list's:
            # what orders or payments say of them only moves their first-seen date.
            labels = ", ".join(sql_literal(label) for label in sorted(owned))
            listed = f" AND t.source NOT IN ({labels})"
            if "created_at" in values:
                first = "least(t.created_at, n.created_at)"
                moved = run(
                    con,
                    f"UPDATE {out.table} AS t SET created_at = {first}, imported_at = ? "
                    f"FROM {rel} n WHERE {match} AND t.source IN ({labels}) "
                    f"AND t.created_at IS DISTINCT FROM {first}",
                    [now],
                )
                change.updated += int(moved[0][0]) if moved else 0
        updated = run(
            con,
            f"UPDATE {out.table} AS t SET {assignments}, source = {src}, imported_at = ? "
            f"FROM {rel} n WHERE {match}{listed} AND ({differs})",
            params,
        )
        change.updated += int(updated[0][0]) if updated else 0
    inserted = run(
        con,
        f"INSERT INTO {out.table} ({cols}, source, imported_at) "
        f"SELECT {', '.join(f'n.{quote_ident(c)}' for c in out.columns)}, {src}, ? FROM {rel} n "
        f"WHERE NOT EXISTS (SELECT 1 FROM {out.table} t WHERE {match})",
        params,
    )
    change.inserted = int(inserted[0][0]) if inserted else 0
    change.unchanged = change.rows - change.inserted - change.updated
    return change


def _merge_derived(
    con: duckdb.DuckDBPyConnection, name: str, parts: list[tuple[int, str, Output]]
) -> Output:
    """One row per key from the derived rows of every file of an import; later files win.

    Derived rows (customers seen in payments, then again in subscriptions) are
    upserted once per import, so that two files of one export that describe a
    customer differently do not overwrite each other on every re-import. Each row
    keeps the source of the last file that named it in ``_src``.
    """
    table = get_table(name)
    present = {c for _, _, out in parts for c in out.columns}
    columns = [c for c in table.column_names if c in present]
    union = " UNION ALL BY NAME ".join(
        f"SELECT {', '.join(quote_ident(c) for c in out.columns)}, _row, "
        f"{seq} AS _seq, {sql_literal(label)} AS _src FROM {out.relation}"
        for seq, label, out in parts
    )
    picks = [
        f"min({quote_ident(c)}) AS {quote_ident(c)}"
        if c == "created_at"
        else f"arg_max({quote_ident(c)}, _seq) FILTER (WHERE {quote_ident(c)} IS NOT NULL) "
        f"AS {quote_ident(c)}"
        for c in columns
        if c not in table.key
    ]
    keys = ", ".join(quote_ident(k) for k in table.key)
    rel = f"_merged_{name}"
    run(con, f"DROP TABLE IF EXISTS {rel}")
    run(
        con,
        f"CREATE TEMP TABLE {rel} AS SELECT {', '.join([keys, *picks])}, "
        f"arg_max(_src, _seq) AS _src, min(_row) AS _row FROM ({union}) GROUP BY {keys}",
    )
    return Output(name, rel, tuple(columns), "derived", unique=True)


def _plans(handler: Any, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
    """The source's plans for a file, refined by the ``--mapping`` file if there is one.

    When the source cannot read a file of its own (a layout it does not know) but
    the user gave a mapping, the mapping alone says how to read it.
    """
    from smbgrowth.data.sources.base import apply_mapping
    from smbgrowth.data.sources.generic import GenericSource

    if handler.name == "csv":  # the generic source reads the mapping itself
        plans: list[FilePlan] = handler.plan(raw, options, ws)
        return plans
    try:
        plans = handler.plan(raw, options, ws)
    except MappingError:
        if not options.mapping_file:
            raise
        return GenericSource().plan(raw, options, ws)
    return apply_mapping(plans, raw, options)


def _listed_sources(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The sources of earlier imports whose file was a customer list."""
    rows = run(
        con,
        """SELECT DISTINCT i.source || ':' || regexp_extract(f ->> 'file', '[^/\\\\]+$')
           FROM _imports i, unnest(CAST(json_extract(i.details, '$.files') AS JSON[])) AS u(f)
           WHERE f ->> 'target' = 'customers'""",
    )
    return {r[0] for r in rows}


def _exported_at(path: Path, started: datetime) -> datetime:
    """When an export was made, as far as the file tells: its modification time.

    Dates what a customer list states (consent) without a date of its own; never
    later than the import itself. The same file gives the same date on every
    re-import, so re-importing it changes nothing.
    """
    modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)
    return min(modified, started)


def _latest_consent() -> str:
    return (
        "SELECT customer_id, max(stated_at) AS stated_at, "
        "arg_max(accepts_marketing, stated_at) AS accepts_marketing FROM consent GROUP BY 1"
    )


def _older_consent(con: duckdb.DuckDBPyConnection, out: Output) -> str | None:
    """A note when the file's consent is older than what the workspace already knows."""
    older = scalar(
        con,
        f"""SELECT count(*) FROM {out.relation} n JOIN ({_latest_consent()}) l
            USING (customer_id)
            WHERE l.stated_at > n.stated_at
              AND l.accepts_marketing IS DISTINCT FROM n.accepts_marketing""",
    )
    if not older:
        return None
    return (
        f"{older} customer(s) have a newer consent statement than this file's; the newer "
        "one is kept (consent is the most recent statement, whatever order files arrive in)"
    )


def _apply_consent(con: duckdb.DuckDBPyConnection) -> None:
    """Give every customer the consent of their most recent statement."""
    run(
        con,
        f"""UPDATE customers AS c SET accepts_marketing = l.accepts_marketing
            FROM ({_latest_consent()}) l
            WHERE c.customer_id = l.customer_id
              AND c.accepts_marketing IS DISTINCT FROM l.accepts_marketing""",
    )


def _formula_warning(con: duckdb.DuckDBPyConnection, stg: str, plan: FilePlan) -> str | None:
    fields = target_fields(plan.target)
    text = [
        quote_ident(n)
        for n in plan.columns
        if n in fields and fields[n].kind == "text" and n not in ("customer_phone", "phone")
    ]
    if not text:
        return None
    cond = " OR ".join(f"left({c}, 1) IN ('=', '+', '-', '@')" for c in text)
    count = scalar(con, f"SELECT count(*) FROM {stg} WHERE {cond}")
    if not count:
        return None
    return (
        f"{count} row(s) have text starting with =, +, - or @ that a spreadsheet would run "
        "as a formula; they are stored as plain text"
    )


def import_files(
    ws: Workspace,
    source: str,
    files: Sequence[str | Path],
    options: ImportOptions | None = None,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    memory_limit: str = "600MB",
) -> ImportResult:
    """Import export files of one source into the workspace, all or nothing.

    Parameters
    ----------
    ws:
        The open workspace.
    source:
        ``csv``, ``shopify``, ``stripe``, ``woocommerce``, ``xero``, ``quickbooks``,
        ``hubspot`` or ``ads`` (see :func:`smbgrowth.data.sources.get_source`).
    files:
        Paths of the exports.
    options:
        Table, mapping file, date format, decimal separator, ad channel.
    dry_run:
        Read, parse and check everything, report what would change, write nothing.
    memory_limit:
        DuckDB's memory bound during the import; beyond it, work spills to the
        workspace's ``.tmp`` folder.
    """
    from smbgrowth.data.sources import get_source

    options = options or ImportOptions()
    handler = get_source(source)
    paths = [Path(f) for f in files]
    if not paths:
        raise DataError("no files given; name at least one export file to import")
    con = ws.duck
    install_macros(con)
    # Bound DuckDB's memory so a huge export spills to disk instead of filling RAM.
    previous_limit = scalar(con, "SELECT current_setting('memory_limit')")
    run(con, f"SET memory_limit = {sql_literal(memory_limit)}")
    import_id = uuid.uuid4().hex[:12]
    started = datetime.now(UTC)
    try:
        return _run_import(
            ws, con, handler, source, paths, options, import_id, started, dry_run, progress
        )
    finally:
        run(con, f"SET memory_limit = {sql_literal(previous_limit)}")


def _run_import(
    ws: Workspace,
    con: duckdb.DuckDBPyConnection,
    handler: Any,
    source: str,
    paths: list[Path],
    options: ImportOptions,
    import_id: str,
    started: datetime,
    dry_run: bool,
    progress: Progress | None,
) -> ImportResult:
    results: list[FileImport] = []
    # Rows of the files; a file routed to several tables still counts once.
    rows_read = 0
    # The sheet of a workbook: the option, else the mapping file's ``sheet:``.
    sheet = options.sheet
    if sheet is None and options.mapping_file:
        sheet = load_mapping(options.mapping_file).sheet
    # Derived rows of every file, upserted once at the end: table -> (order, source, rows).
    derived: dict[str, list[tuple[int, str, Output]]] = {}
    derived_by: dict[str, FileImport] = {}
    # Sources of this import that are customer lists (their rows are theirs).
    listed: set[str] = set()
    run(con, "BEGIN TRANSACTION")
    try:
        for i, path in enumerate(paths):
            if progress:
                progress(f"reading {path.name}", i / len(paths))
            skip = handler.skip_rows(path, options)
            raw = read_raw(con, path, f"_raw{i}", skip_rows=skip, sheet=sheet)
            rows_read += raw.rows
            plans = _plans(handler, raw, options, ws)
            staged_rows = 0
            for j, plan in enumerate(plans):
                stg = f"_stg{i}_{j}"
                formats, kept, notes = _stage(con, ws, raw, plan, stg)
                staged_rows += kept
                _convert_currency(con, ws, raw, plan, stg)
                present = {r[0] for r in run(con, f"SELECT column_name FROM (DESCRIBE {stg})")} - {
                    "_row",
                    "_err",
                    "_converted",
                }
                outputs = build_outputs(
                    con,
                    stg,
                    present,
                    plan.target,
                    f"{i}_{j}",
                    stated_at=_exported_at(path, started),
                )
                for out in outputs:
                    _check_output(con, raw, plan, out)
                label = f"{source}:{path.name}"
                if plan.target == "customers":
                    listed.add(label)
                changes = [
                    _upsert(con, out, label, started) for out in outputs if out.mode == "primary"
                ]
                warnings = [*plan.notes, *notes, *(n for out in outputs for n in out.notes)]
                warnings += [
                    w
                    for out in outputs
                    if out.table == "consent"
                    if (w := _older_consent(con, out))
                ]
                warnings += [w for w in (_formula_warning(con, stg, plan),) if w]
                results.append(
                    FileImport(
                        file=str(path),
                        target=plan.target,
                        label=plan.label or plan.target,
                        rows_read=raw.rows,
                        rows_skipped=0,
                        encoding=raw.encoding,
                        mapping=dict(plan.columns),
                        mapping_guessed=plan.guessed,
                        date_formats=formats,
                        tables=changes,
                        warnings=warnings,
                    )
                )
                for out in outputs:
                    if out.mode == "derived":
                        parts = derived.setdefault(out.table, [])
                        parts.append((len(parts), label, out))
                        derived_by[out.table] = results[-1]
                primary = [o.relation for o in outputs if o.mode == "primary"]
                for rel in (stg, *primary):
                    run(con, f"DROP TABLE IF EXISTS {rel}")
                    run(con, f"DROP TABLE IF EXISTS {rel}_u")
            skipped = raw.rows - staged_rows
            if skipped > 0 and plans:
                last = results[-1]
                last.rows_skipped = skipped
                last.warnings.append(
                    f"{skipped} row(s) skipped (subtotals, blank, section or unsupported rows)"
                )
            run(con, f"DROP TABLE IF EXISTS {raw.relation}")
        merged: dict[int, list[TableChange]] = {}
        for name, parts in derived.items():
            out = _merge_derived(con, name, parts)
            owned = _listed_sources(con) | listed if name == "customers" else None
            change = _upsert(con, out, "", started, source_column="_src", owned=owned)
            # Reported with the last file that named these rows, parents first.
            merged.setdefault(id(derived_by[name]), []).append(change)
            for rel in (out.relation, *(o.relation for _, _, o in parts)):
                run(con, f"DROP TABLE IF EXISTS {rel}")
        for file_import in results:
            file_import.tables[:0] = merged.get(id(file_import), [])
        _apply_consent(con)
        result = ImportResult(import_id, source, dry_run, results)
        if dry_run:
            run(con, "ROLLBACK")
            return result
        totals = result.totals()
        run(
            con,
            "INSERT INTO _imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                import_id,
                source,
                json.dumps([str(p) for p in paths]),
                _sha256(paths),
                started,
                datetime.now(UTC),
                rows_read,
                sum(t.inserted for t in totals.values()),
                sum(t.updated for t in totals.values()),
                sum(t.unchanged for t in totals.values()),
                json.dumps(result.to_dict(), default=str),
            ],
        )
        run(con, "COMMIT")
    except SmbGrowthError:
        run(con, "ROLLBACK")
        raise
    except duckdb.Error as exc:
        run(con, "ROLLBACK")
        first = str(exc).strip().splitlines()[0]
        raise DataError(f"import failed and nothing was written: {first}") from exc
    except BaseException:
        run(con, "ROLLBACK")
        raise
    ws.audit("import", {"import_id": import_id, "source": source, "files": [str(p) for p in paths]})
    _emit_events(ws, started)
    return result


def _emit_events(ws: Workspace, started: datetime) -> None:
    """Tell the automation about new rows (only tables an enabled workflow listens to)."""
    from smbgrowth.automation.triggers import emit_import_events

    emit_import_events(ws, started)
