"""Any CSV, Excel or Parquet file, with a mapping file or recognised headers."""

from __future__ import annotations

from pathlib import Path

from smbgrowth.data.fields import guess_mapping
from smbgrowth.data.mapping import load_mapping, resolve_headers
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.schema import CANONICAL_TABLES
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError

__all__ = ["GenericSource", "transaction_id_sql"]


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


class GenericSource:
    name = "csv"
    help = "any CSV, Excel (.xlsx) or Parquet file; --table T and optionally --mapping FILE"

    def skip_rows(self, path: Path, options: ImportOptions) -> int:
        if options.mapping_file:
            return load_mapping(options.mapping_file).skip_rows
        return 0

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        targets = (*CANONICAL_TABLES, "order_lines")
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
            columns = guess_mapping(target, raw.headers)
            if not columns:
                raise MappingError(
                    f"{raw.path.name}: no column header is recognised for table {target}; "
                    f"write a mapping file (see `smbgrowth import --help`)"
                )
            constants = {}
            date_format = options.date_format
            decimal = options.decimal
            guessed = True
        derive: dict[str, str] = {}
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
            )
        ]
