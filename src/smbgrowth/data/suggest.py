"""A mapping file to edit, written from what the importer recognised in an export.

When an export's headers are not all recognised, the user gets a ready YAML
mapping (``smbgrowth import … --suggest-mapping OUT.yaml``): every field of the
target table, the column found for it or a commented line to fill in, what the
field means, and the file's own columns to choose from.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from smbgrowth.data.duck import run
from smbgrowth.data.fields import customer_column, guess_mapping, target_fields
from smbgrowth.data.parsing import install_macros
from smbgrowth.data.plan import ImportOptions
from smbgrowth.data.readers import read_raw
from smbgrowth.data.schema import get_table
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError, SmbGrowthError

__all__ = ["MappingSuggestion", "render_mapping", "suggest_mapping", "write_suggestion"]

# The table a source's files fill when it cannot say more (its plan failed).
_DEFAULT_TABLE = {
    "shopify": "order_lines",
    "woocommerce": "orders",
    "stripe": "orders",
    "xero": "invoices",
    "quickbooks": "invoices",
    "hubspot": "customers",
    "ads": "marketing_spend",
}

# What a file for each target needs at least, beyond the table's key.
_NEEDED = {
    "order_lines": ("order_id", "ordered_at", "quantity", "unit_price"),
    "orders": ("ordered_at", "total"),
}


@dataclass(frozen=True)
class MappingSuggestion:
    """A suggested mapping: the YAML text and what was and was not found."""

    table: str
    text: str
    found: dict[str, str]
    missing: list[str]


def _describe(target: str, name: str) -> str:
    column = customer_column(name)
    if column is not None:
        return get_table("customers").column(column).doc
    for table in (target, "orders", "order_lines"):
        try:
            return get_table(table).column(name).doc
        except (KeyError, MappingError):
            continue
    if name == "line_discount":
        return "discount on this line"
    return name.replace("_", " ")


def _needed(target: str) -> tuple[str, ...]:
    if target in _NEEDED:
        return _NEEDED[target]
    table = get_table(target)
    return tuple(c.name for c in table.columns if c.required)


def _yaml_string(text: str) -> str:
    """A YAML scalar for a header: quoted when plain YAML would misread it."""
    plain = text and text.strip() == text and not any(c in text for c in ":#{}[],&*!|>'\"%@`")
    if plain and text.lower() not in ("yes", "no", "true", "false", "null", "on", "off", "~"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_mapping(
    file: str,
    table: str,
    headers: tuple[str, ...] | list[str],
    found: dict[str, str],
    source: str = "csv",
) -> MappingSuggestion:
    """The YAML mapping for ``table`` with ``found`` filled in and every other field commented."""
    fields = target_fields(table)
    needed = _needed(table)
    missing = [f for f in needed if f not in found]
    if table == "order_lines" and "line_total" in found:
        missing = [f for f in missing if f not in ("quantity", "unit_price")]
    used = set(found.values())
    lines = [
        f"# Mapping for {file} → {table}, written by smbgrowth.",
        "# Each field names the column of your file that holds it. Fields marked NEEDED",
        "# must be filled in; delete the '# ' before a field to use it. Then run:",
        f"#   smbgrowth import {source} {file} --mapping THIS_FILE",
        "#",
        "# The file's columns: " + ", ".join(headers),
    ]
    unused = [h for h in headers if h not in used]
    if unused:
        lines.append("# Not used yet: " + ", ".join(unused))
    lines += [
        f"table: {table}",
        '# date_format: "%d/%m/%Y"   # only when dates could be read day-first or month-first',
        '# decimal: ","              # only when amounts are written like 1.234,56',
        "columns:",
    ]
    for name in fields:
        note = _describe(table, name)
        flag = "NEEDED: " if name in missing else ""
        if name in found:
            lines.append(f"  {name}: {_yaml_string(found[name])}   # {note}")
        else:
            lines.append(f"  # {name}:   # {flag}{note}")
    return MappingSuggestion(table, "\n".join(lines) + "\n", dict(found), missing)


def suggest_mapping(
    ws: Workspace, source: str, path: str | Path, options: ImportOptions | None = None
) -> MappingSuggestion:
    """Suggest a mapping for one export file, from what its headers say.

    For the ``csv`` source the table is ``options.table``; for the others, the
    table the source's own reading of the file fills (or its usual table when the
    source cannot read the file). Nothing is written to the workspace.
    """
    from smbgrowth.data.sources import get_source

    options = options or ImportOptions()
    handler = get_source(source)
    path = Path(path)
    con = ws.duck
    install_macros(con)
    run(con, "BEGIN TRANSACTION")
    try:
        raw = read_raw(con, path, "_suggest_raw", skip_rows=handler.skip_rows(path, options))
        table = options.table
        found: dict[str, str] = {}
        if source != "csv":
            try:
                plans = handler.plan(raw, options, ws)
            except SmbGrowthError:
                plans = []
            if plans:
                table = table or plans[0].target
                found = next((dict(p.columns) for p in plans if p.target == table), {})
            table = table or _DEFAULT_TABLE.get(source)
        if not table:
            raise MappingError(
                f"{path.name}: say which table the mapping is for with --table "
                "(e.g. --table orders or --table order_lines)"
            )
        target_fields(table)  # refuses an unknown table with the valid ones
        if not found:
            found = guess_mapping(table, raw.headers)
        return render_mapping(path.name, table, raw.headers, found, source)
    finally:
        run(con, "ROLLBACK")


def write_suggestion(suggestion: MappingSuggestion, out: str | Path) -> Path:
    """Write the suggested mapping to ``out`` atomically and return its path."""
    target = Path(out)
    folder = target.parent if str(target.parent) else Path(".")
    handle, tmp = tempfile.mkstemp(prefix=".mapping-", suffix=".yaml", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as fh:
            fh.write(suggestion.text.replace("THIS_FILE", target.name))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
