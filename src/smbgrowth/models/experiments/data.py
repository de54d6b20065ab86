"""From unit-level rows to the sufficient statistics of every metric and variant.

The rows may come from a file (CSV, Excel, Parquet: one row per unit, or
several rows per unit that are added up), a pandas DataFrame, or the
workspace (:mod:`smbgrowth.models.experiments.outcomes`). Everything heavy
runs in DuckDB: one pass learns each metric's kind and whether units repeat,
one pass computes the sums per variant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from smbgrowth.data.duck import one, run, scalar
from smbgrowth.data.parsing import quote_ident as q
from smbgrowth.errors import DataError, ModelError, ValidationError
from smbgrowth.models.experiments.stats import MetricKind, MetricStats

__all__ = ["ExperimentData", "Metric", "file_relation", "frame_relation", "summarise_units"]

_KINDS: tuple[MetricKind, ...] = ("binomial", "count", "continuous", "ratio")


@dataclass(frozen=True)
class Metric:
    """One outcome of an experiment, and how to judge it.

    ``column`` holds the outcome per unit (a 0/1 or true/false flag, a count,
    an amount); a ratio metric divides the sum of ``column`` by the sum of
    ``denominator`` (revenue per order, pages per session) and is compared by
    the delta method. ``kind`` is inferred from the values when None.
    ``guardrail`` metrics are not goals: they must not get worse.
    ``higher_is_better`` is False for refunds, unsubscribes, complaints.
    ``cap`` winsorises a heavy-tailed outcome at that quantile of all units
    (0.99 caps the top 1 %). ``covariate`` names a column with the unit's
    pre-period value of the outcome, for CUPED. ``phrase`` says what a
    converting unit did, for the readout ("placed an order"); the default is
    "have <label>".
    """

    column: str
    denominator: str | None = None
    name: str | None = None
    kind: MetricKind | None = None
    guardrail: bool = False
    higher_is_better: bool = True
    cap: float | None = None
    covariate: str | None = None
    phrase: str | None = None

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in _KINDS:
            raise ModelError(
                f"unknown metric kind {self.kind!r}; choose one of: {', '.join(_KINDS)}"
            )
        if self.kind == "ratio" and self.denominator is None:
            raise ModelError(f"ratio metric {self.label} needs a denominator column")
        if self.cap is not None and not 0.5 < self.cap < 1.0:
            raise ModelError(f"cap {self.cap} must be a quantile between 0.5 and 1 (e.g. 0.99)")

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return f"{self.column}/{self.denominator}" if self.denominator else self.column

    @classmethod
    def parse(cls, text: str, **options: Any) -> Metric:
        """Read ``column`` or ``numerator/denominator`` (a ratio metric)."""
        text = text.strip()
        if not text:
            raise ModelError("an empty metric name was given")
        if "/" in text:
            num, _, den = text.partition("/")
            if not num.strip() or not den.strip():
                raise ModelError(f"ratio metric {text!r} must look like numerator/denominator")
            return cls(num.strip(), denominator=den.strip(), name=text, **options)
        return cls(text, **options)


@dataclass
class ExperimentData:
    """The sufficient statistics of an experiment, per metric and variant.

    ``variants`` lists the variants with control first. ``units`` counts the
    analysed units per variant. ``excluded_units`` were assigned to more than
    one variant and are left out. ``notes`` say what was assumed (missing
    outcomes counted as 0, values capped).
    """

    variants: list[str]
    units: dict[str, int]
    stats: dict[str, dict[str, MetricStats]]
    metrics: list[Metric]
    excluded_units: int = 0
    notes: list[str] = field(default_factory=list)


def _where(source: str, row: Any) -> str:
    return f"{source}: row {row}" if row is not None else source


def _first_row(
    con: duckdb.DuckDBPyConnection, relation: str, condition: str, row_col: str | None, extra: str
) -> tuple[Any, ...] | None:
    """Return (row number, extra) of the first row meeting ``condition``, or None.

    Without a row-number column the position is counted only once a bad row
    is known to exist, so a clean table is scanned once.
    """
    if row_col is not None:
        return one(con, f"SELECT {q(row_col)}, {extra} FROM {relation} WHERE {condition} LIMIT 1")
    if one(con, f"SELECT 1 FROM {relation} WHERE {condition} LIMIT 1") is None:
        return None
    return one(
        con,
        f"SELECT _pos, {extra} FROM (SELECT *, row_number() OVER () AS _pos FROM {relation}) "
        f"WHERE {condition} ORDER BY _pos LIMIT 1",
    )


_NUMERIC_TYPES = (
    "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
        "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "REAL",
)  # fmt: skip


def _is_numeric(dtype: str) -> bool:
    return dtype.upper() in _NUMERIC_TYPES or dtype.upper().startswith("DECIMAL")


def _numeric_expr(column: str, dtype: str) -> tuple[str, bool]:
    """Return SQL reading ``column`` (of DuckDB type ``dtype``) as DOUBLE, and if it is text."""
    if _is_numeric(dtype):
        return f"CAST({q(column)} AS DOUBLE)", False
    text = f"lower(trim(CAST({q(column)} AS VARCHAR)))"
    return (
        f"CASE WHEN {q(column)} IS NULL OR {text} = '' THEN NULL "
        f"WHEN {text} IN ('true', 'yes', 'y', 't') THEN 1.0 "
        f"WHEN {text} IN ('false', 'no', 'n', 'f') THEN 0.0 "
        f"ELSE TRY_CAST({text} AS DOUBLE) END",
        True,
    )


def _check_parses(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    column: str,
    expr: str,
    source: str,
    row_col: str | None,
) -> None:
    bad = _first_row(
        con,
        relation,
        f"{q(column)} IS NOT NULL AND trim(CAST({q(column)} AS VARCHAR)) <> '' "
        f"AND ({expr}) IS NULL",
        row_col,
        f"CAST({q(column)} AS VARCHAR)",
    )
    if bad is not None:
        raise ValidationError(
            f"{_where(source, bad[0])}, column {column}: {bad[1]!r} is not a number; "
            "outcome columns hold numbers (0/1 or true/false for conversions)",
            file=source,
            row=bad[0],
            column=column,
            value=str(bad[1]),
            expected="number",
        )


def _check_columns(headers: Sequence[str], needed: Sequence[str], source: str) -> None:
    missing = [c for c in needed if c not in headers]
    if missing:
        raise DataError(
            f"{source}: no column {', '.join(repr(c) for c in missing)}; "
            f"the columns are: {', '.join(headers)}"
        )


def summarise_units(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    *,
    unit: str,
    variant: str,
    metrics: Sequence[Metric],
    control: str | None = None,
    source: str = "data",
    row_col: str | None = None,
    variant_order: Sequence[str] | None = None,
) -> ExperimentData:
    """Summarise the unit rows of ``relation`` (a DuckDB table or view) per variant.

    Rows of the same unit and variant are added up (a flag: any row set).
    Units seen in more than one variant are excluded and counted. Missing
    outcomes count as 0; a missing covariate as 0. ``row_col`` names a column
    with the source row number, for error messages.
    """
    if not metrics:
        raise ModelError("give at least one metric to analyse")
    labels = [m.label for m in metrics]
    duplicated = {x for x in labels if labels.count(x) > 1}
    if duplicated:
        raise ModelError(f"metric {sorted(duplicated)[0]!r} is given twice")
    types = {
        str(r[0]): str(r[1])
        for r in run(con, f"SELECT column_name, column_type FROM (DESCRIBE {relation})")
        if r[0] != row_col
    }
    needed = [unit, variant]
    for m in metrics:
        needed += [c for c in (m.column, m.denominator, m.covariate) if c]
    _check_columns(list(types), list(dict.fromkeys(needed)), source)

    # Typed columns: v0, v1, ... for every outcome, denominator and covariate.
    exprs: dict[str, str] = {}
    for col in dict.fromkeys(
        c for m in metrics for c in (m.column, m.denominator, m.covariate) if c
    ):
        expr, textual = _numeric_expr(col, types[col])
        if textual:
            _check_parses(con, relation, col, expr, source, row_col)
        exprs[col] = expr
    alias = {col: f"v{i}" for i, col in enumerate(exprs)}
    typed = "_exp_typed"
    select = ", ".join(f"{e} AS {alias[c]}" for c, e in exprs.items())
    run(
        con,
        f"CREATE OR REPLACE TEMP VIEW {typed} AS SELECT {q(unit)} AS u, {q(variant)} AS g, "
        f"{select} FROM {relation}",
    )

    # One pass: rows, missing ids, about how many distinct units, and each column's
    # range, integrality and missing values.
    blanks = []
    for col, short in ((unit, "u"), (variant, "g")):
        empty = "" if _is_numeric(types[col]) else f" OR trim(CAST({short} AS VARCHAR)) = ''"
        blanks.append(f"count_if({short} IS NULL{empty})")
    probes = ["count(*)", *blanks, "approx_count_distinct(u)"]
    for a in alias.values():
        probes += [
            f"min({a})",
            f"max({a})",
            f"bool_and({a} = round({a}))",
            f"count(*) - count({a})",
        ]
    values = one(con, f"SELECT {', '.join(probes)} FROM {typed}") or ()
    rows, approx_units = int(values[0]), int(values[3] or 0)
    for col, missing, what in ((unit, values[1], "a unit id"), (variant, values[2], "a variant")):
        if missing:
            empty = "" if _is_numeric(types[col]) else f" OR trim(CAST({q(col)} AS VARCHAR)) = ''"
            bad = _first_row(con, relation, f"{q(col)} IS NULL{empty}", row_col, "NULL")
            row = bad[0] if bad is not None else None
            raise ValidationError(
                f"{_where(source, row)}, column {col}: empty; every row needs {what}",
                file=source,
                row=row,
                column=col,
                expected=what,
            )
    if rows == 0:
        raise DataError(f"{source}: there are no units to analyse")
    facts = {
        col: values[4 + 4 * i : 8 + 4 * i] for i, col in enumerate(alias)
    }  # (min, max, integral, nulls)
    units_unique = _units_unique(con, typed, rows, approx_units)

    notes: list[str] = []
    kinds: dict[str, MetricKind] = {}
    for m in metrics:
        lo, hi, integral, _ = facts[m.column]
        if m.kind is not None:
            kind = m.kind
        elif m.denominator:
            kind = "ratio"
        elif lo is not None and lo >= 0 and hi <= 1 and integral:
            kind = "binomial"
        elif lo is not None and lo >= 0 and integral:
            kind = "count"
        else:
            kind = "continuous"
        if kind == "binomial" and lo is not None and (lo < 0 or hi > 1):
            raise ModelError(f"metric {m.label} is declared binomial but has values outside 0–1")
        kinds[m.label] = kind
        for part in (m.column, m.denominator):
            if part and facts[part][3]:
                notes.append(f"{facts[part][3]:,} rows have no value in {part}; they count as 0")
    notes = list(dict.fromkeys(notes))

    # Several rows per unit: add them up (flags: any), and drop units in several variants.
    excluded = 0
    base = typed
    if not units_unique:
        flag_cols = {alias[m.column] for m in metrics if kinds[m.label] == "binomial"}
        aggs = ", ".join(
            f"max({a}) AS {a}" if a in flag_cols else f"sum({a}) AS {a}" for a in alias.values()
        )
        run(
            con,
            f"CREATE OR REPLACE TEMP TABLE _exp_units AS SELECT u, min(g) AS g, "
            f"count(DISTINCT g) AS _groups, {aggs} FROM {typed} GROUP BY u",
        )
        excluded = int(scalar(con, "SELECT count(*) FROM _exp_units WHERE _groups > 1") or 0)
        base = "(SELECT * FROM _exp_units WHERE _groups = 1)"
        if excluded:
            notes.append(
                f"{excluded:,} units were assigned to more than one variant and are left out"
            )

    # Caps for heavy tails: one quantile per capped metric over all units.
    caps: dict[str, float] = {}
    for m in metrics:
        if m.cap is not None and kinds[m.label] in ("count", "continuous"):
            a = alias[m.column]
            value = scalar(con, f"SELECT quantile_cont({a}, {float(m.cap)}) FROM {base}")
            if value is not None:
                caps[m.label] = float(value)
                capped = int(scalar(con, f"SELECT count(*) FROM {base} WHERE {a} > {float(value)}"))
                notes.append(
                    f"{m.label}: {capped:,} values above the {m.cap:.0%} quantile "
                    f"({float(value):,.4g}) were capped at it"
                )

    aggregates = ["count(*)"]
    layout: list[tuple[str, int]] = []
    for m in metrics:
        y = f"coalesce({alias[m.column]}, 0)"
        if m.label in caps:
            y = f"least({y}, {caps[m.label]!r})"
        parts = [f"sum({y})", f"sum({y} * {y})"]
        if m.denominator:
            d = f"coalesce({alias[m.denominator]}, 0)"
            parts += [f"sum({d})", f"sum({d} * {d})", f"sum({y} * {d})"]
        if m.covariate and kinds[m.label] != "ratio":
            x = f"coalesce({alias[m.covariate]}, 0)"
            parts += [f"sum({x})", f"sum({x} * {x})", f"sum({x} * {y})"]
        layout.append((m.label, len(parts)))
        aggregates += parts
    result = run(
        con,
        f"SELECT g, {', '.join(aggregates)} FROM {base} GROUP BY g ORDER BY g",
    )
    units = {str(r[0]): int(r[1]) for r in result}
    variants = _order_variants(list(units), control, variant_order, source)
    stats: dict[str, dict[str, MetricStats]] = {m.label: {} for m in metrics}
    for r in result:
        g = str(r[0])
        pos = 2
        for m, (label, width) in zip(metrics, layout, strict=True):
            vals = [float(v or 0.0) for v in r[pos : pos + width]]
            pos += width
            kind = kinds[label]
            ratio = m.denominator is not None
            cov = vals[5:] if ratio else vals[2:]
            stats[label][g] = MetricStats(
                kind=kind,
                n=int(r[1]),
                total=vals[0],
                total_sq=vals[1],
                den_total=vals[2] if ratio else 0.0,
                den_total_sq=vals[3] if ratio else 0.0,
                cross=vals[4] if ratio else 0.0,
                cov_total=cov[0] if cov else None,
                cov_total_sq=cov[1] if cov else 0.0,
                cov_cross=cov[2] if cov else 0.0,
            )
    typed_metrics = [
        m if m.kind == kinds[m.label] else _with_kind(m, kinds[m.label]) for m in metrics
    ]
    return ExperimentData(
        variants=variants,
        units={v: units[v] for v in variants},
        stats={label: {v: s[v] for v in variants} for label, s in stats.items()},
        metrics=typed_metrics,
        excluded_units=excluded,
        notes=notes,
    )


def _units_unique(con: duckdb.DuckDBPyConnection, typed: str, rows: int, approx: int) -> bool:
    """Return whether no unit id repeats, as cheaply as the data allow.

    A HyperLogLog estimate well below the row count proves repeats; ids that
    are strictly increasing in row order (exports sorted by id) prove there
    are none; otherwise one exact hash pass decides.
    """
    if approx < 0.97 * rows:
        return False
    increasing = scalar(
        con, f"SELECT bool_and(u > p) FROM (SELECT u, lag(u) OVER () AS p FROM {typed})"
    )
    if increasing:
        return True
    repeats = scalar(
        con, f"SELECT count(*) FROM (SELECT u FROM {typed} GROUP BY u HAVING count(*) > 1)"
    )
    return not repeats


def _with_kind(m: Metric, kind: MetricKind) -> Metric:
    from dataclasses import replace

    return replace(m, kind=kind)


_CONTROL_NAMES = re.compile(r"^(control|ctrl|a|baseline|original|default|old|current|v?0)$", re.I)


def _order_variants(
    found: list[str], control: str | None, order: Sequence[str] | None, source: str
) -> list[str]:
    if len(found) < 2:
        raise DataError(
            f"{source}: only one variant ({', '.join(found) or 'none'}) has units; "
            "an experiment needs a control and at least one other variant"
        )
    if control is not None:
        if control not in found:
            raise DataError(
                f"{source}: control {control!r} has no units; the variants are: {', '.join(found)}"
            )
    else:
        named = [v for v in found if _CONTROL_NAMES.match(v.strip())]
        preferred = [v for v in (order or ()) if v in found]
        control = named[0] if named else preferred[0] if preferred else found[0]
    rest = [v for v in (order or ()) if v in found and v != control]
    rest += [v for v in found if v != control and v not in rest]
    return [control, *rest]


def frame_relation(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, name: str) -> str:
    """Register a DataFrame with DuckDB under ``name``; return the name."""
    con.register(name, frame)
    return name


def file_relation(con: duckdb.DuckDBPyConnection, path: str | Path, name: str) -> str:
    """Load a CSV, Excel or Parquet file into DuckDB (text cells, spreadsheet row numbers)."""
    from smbgrowth.data.readers import read_raw

    raw = read_raw(con, path, name)
    return raw.relation
