"""Any CSV, Excel or Parquet file, with a mapping file or recognised headers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from smbgrowth.data.fields import guess_mapping
from smbgrowth.data.mapping import load_mapping, resolve_headers
from smbgrowth.data.parsing import quote_ident
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.schema import CANONICAL_TABLES
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError

__all__ = ["GenericSource", "float_id_expr", "transaction_id_sql"]


def transaction_id_sql(prefix: str, parts: tuple[str, ...]) -> str:
    """SQL for a stable id of a row that has none: a hash of its values and its occurrence.

    Two identical rows (the same customer buying the same amount twice a day) get
    different ids from their occurrence number, and re-importing the file gives
    the same ids again.
    """
    values = ", ".join(f"CAST({p} AS VARCHAR)" for p in parts)
    occurrence = f"row_number() OVER (PARTITION BY {', '.join(parts)} ORDER BY _row)"
    return (
        f"'{prefix}' || substr(md5(concat_ws('|', {values}, CAST({occurrence} AS VARCHAR))), 1, 20)"
    )


_SUGGEST = "`smbgrowth import csv {file} --table {table} --suggest-mapping mapping.yaml`"

# What a line-level file needs beyond its order id and date: an amount per line.
_LINE_AMOUNT = ("line_total", ("quantity", "unit_price"))


def _suggest_hint(raw: RawFile, table: str) -> str:
    return "write a mapping to edit with " + _SUGGEST.format(file=raw.path.name, table=table)


def _missing(raw: RawFile, table: str, field: str, what: str) -> MappingError:
    return MappingError(
        f"{raw.path.name}: no column for {field} ({what}) in table {table}; name it in a "
        f"mapping file — {_suggest_hint(raw, table)}"
    )


def _check_order_fields(raw: RawFile, target: str, columns: dict[str, str]) -> None:
    """Refuse an order file that lacks what every order needs, naming the field."""
    if "ordered_at" not in columns:
        raise _missing(raw, target, "ordered_at", "the date of each order")
    if target == "order_lines":
        if "order_id" not in columns:
            raise _missing(raw, target, "order_id", "the order or invoice number of each line")
        if "line_total" not in columns and not {"quantity", "unit_price"} <= set(columns):
            raise _missing(
                raw, target, "line_total", "each line's amount, or quantity and unit_price"
            )
    elif "total" not in columns and "subtotal" not in columns:
        raise _missing(raw, target, "total", "the amount of each order")


def float_id_expr(
    ws: Workspace, raw: RawFile, header: str, field: str
) -> tuple[str | None, list[str]]:
    """SQL that repairs an id column written as floats (``17850.0``), and notes on it.

    Spreadsheets and pandas write numeric ids as ``17850.0`` and a missing one as
    ``0.0`` or ``nan``. Only when every id of the column has that shape is it read
    back as the whole number it was; ``0`` then means no id.
    """
    col = quote_ident(header)
    row = ws.duck.execute(
        rf"""SELECT count(*) FILTER (WHERE v IS NOT NULL),
                   count(*) FILTER (WHERE regexp_full_match(v, '-?\d+\.0+')),
                   count(*) FILTER (WHERE regexp_full_match(v, '-?\d+(\.0+)?|nan|NaN')),
                   count(*) FILTER (WHERE regexp_full_match(v, '0+(\.0+)?|nan|NaN'))
            FROM (SELECT sg_text({col}) AS v FROM {raw.relation})"""
    ).fetchone()
    filled, floats, readable, zeros = (int(x) for x in row) if row else (0, 0, 0, 0)
    if not filled or floats <= zeros or readable < filled:
        return None, []
    notes = [
        f"column {header!r} holds ids written as decimals (e.g. 17850.0); read as whole numbers"
    ]
    if zeros:
        notes.append(f"{zeros} row(s) have {field} 0 in column {header!r}, read as no {field}")
    expr = (
        rf"CASE WHEN regexp_full_match({field}, '0+(\.0+)?|nan|NaN') THEN NULL "
        rf"ELSE regexp_replace({field}, '\.0+$', '') END"
    )
    return expr, notes


class GenericSource:
    name = "csv"
    help = "any CSV, Excel (.xlsx) or Parquet file; --table T and optionally --mapping FILE"

    def skip_rows(self, path: Path, options: ImportOptions) -> int:
        if options.mapping_file:
            return load_mapping(options.mapping_file).skip_rows
        return 0

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        targets = (*CANONICAL_TABLES, "order_lines")
        notes: list[str] = []
        if options.mapping_file:
            mapping = load_mapping(options.mapping_file)
            if options.table and options.table != mapping.table:
                raise MappingError(
                    f"--table {options.table} disagrees with table: {mapping.table} in "
                    f"{options.mapping_file}; drop one of them"
                )
            target = mapping.table
            columns = resolve_headers(mapping.columns, raw.headers, raw.path.name)
            constants = dict(mapping.constants)
            date_format = options.date_format or mapping.date_format
            decimal = options.decimal or mapping.decimal
            guessed = False
        else:
            if not options.table:
                raise MappingError(
                    f"{raw.path.name}: say which table the file fills with --table "
                    f"({', '.join(targets)}) or give a --mapping file"
                )
            if options.table not in targets:
                raise MappingError(
                    f"unknown table {options.table!r}; choose one of: {', '.join(targets)}"
                )
            target = options.table
            if target in ("orders", "order_lines"):
                from smbgrowth.data.sources.shopify import ShopifySource, is_shopify_orders

                if is_shopify_orders(raw):
                    plans = ShopifySource().plan(raw, options, ws)
                    note = "the headers are those of a Shopify orders export; read as one"
                    return [replace(p, notes=(note, *p.notes)) for p in plans]
            columns = guess_mapping(target, raw.headers)
            if not columns:
                raise MappingError(
                    f"{raw.path.name}: no column header is recognised for table {target}; "
                    f"{_suggest_hint(raw, target)}"
                )
            if target in ("orders", "order_lines"):
                target, columns, notes = self._order_layout(raw, target, columns)
            constants = {}
            date_format = options.date_format
            decimal = options.decimal
            guessed = True
        derive: dict[str, str] = {}
        if target in ("orders", "order_lines"):
            if "order_id" not in columns and "order_number" in columns:
                columns["order_id"] = columns["order_number"]
            _check_order_fields(raw, target, columns)
        if "customer_id" in columns and guessed:
            expr, id_notes = float_id_expr(ws, raw, columns["customer_id"], "customer_id")
            if expr:
                derive["customer_id"] = expr
                notes += id_notes
        if target == "orders" and "order_id" not in columns:
            # A transactions file (customer, date, amount) has no order id: derive one.
            derive["order_id"] = transaction_id_sql("T", ("customer_id", "ordered_at", "total"))
        if target == "marketing_spend":
            derive["campaign"] = "coalesce(campaign, '')" if "campaign" in columns else "''"
            if "channel" not in columns and options.channel:
                constants["channel"] = options.channel
        return [
            FilePlan(
                target=target,
                columns=columns,
                constants=constants,
                derive=derive,
                date_format=date_format,
                decimal=decimal,
                guessed=guessed,
                notes=tuple(notes),
            )
        ]

    @staticmethod
    def _order_layout(
        raw: RawFile, target: str, columns: dict[str, str]
    ) -> tuple[str, dict[str, str], list[str]]:
        """Tell a line-level file from an order-level one, whatever ``--table`` said.

        A file asked into ``orders`` that has an order id, quantities and unit prices
        lists the lines of its orders: it is read as ``order_lines`` (each order's
        total is the sum of its lines), and the import says so. An order id repeated
        with different amounts and no line columns is refused by the import, naming
        both rows: it may be lines or a corrected duplicate, and guessing could double
        a sale.
        """
        if target == "order_lines":
            return target, columns, []
        as_lines = guess_mapping("order_lines", raw.headers)
        if {"quantity", "unit_price"} <= set(as_lines) and "order_id" in as_lines:
            note = (
                "the file has a quantity and a unit price per row: read as one row per line "
                "item (order_lines); each order's total is the sum of its lines"
            )
            return "order_lines", as_lines, [note]
        return target, columns, []
