"""What every source shares: header matching and the source contract."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Protocol

from smbgrowth.data.fields import normalise_header
from smbgrowth.data.mapping import load_mapping, resolve_headers
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError

__all__ = [
    "HeaderSource",
    "Source",
    "apply_mapping",
    "find",
    "find_all",
    "has",
    "mapped_columns",
    "mapping_skip_rows",
    "require",
]


class Source(Protocol):
    """An export format: how to read its files and what they fill."""

    name: str
    help: str

    def skip_rows(self, path: Path, options: ImportOptions) -> int:
        """Title rows above the header."""
        ...

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        """How the file's columns become canonical rows (one plan per target table)."""
        ...


class HeaderSource:
    """A source whose header is the first row of the file."""

    def skip_rows(self, path: Path, options: ImportOptions) -> int:
        return mapping_skip_rows(options)


def mapping_skip_rows(options: ImportOptions) -> int:
    """Title rows above the header that the ``--mapping`` file declares (0 without one)."""
    if options.mapping_file:
        return load_mapping(options.mapping_file).skip_rows
    return 0


def mapped_columns(raw: RawFile, options: ImportOptions, table: str) -> dict[str, str]:
    """Field → header that the ``--mapping`` file gives for ``table`` (empty for another table).

    For a source to consult before insisting on a column it did not recognise.
    """
    if not options.mapping_file:
        return {}
    mapping = load_mapping(options.mapping_file)
    if mapping.table != table:
        return {}
    return resolve_headers(mapping.columns, raw.headers, raw.path.name)


def _fills(plan_target: str, table: str) -> bool:
    # A file of order lines fills orders too, so an orders mapping refines it.
    return plan_target == table or (table == "orders" and plan_target == "order_lines")


def apply_mapping(plans: list[FilePlan], raw: RawFile, options: ImportOptions) -> list[FilePlan]:
    """Return the source's plans refined by the ``--mapping`` file of ``options``, if any.

    The mapping's ``table`` picks the plans it refines; its ``columns`` replace or add
    field → header pairs, ``constants`` add fixed values, ``date_format`` and
    ``decimal`` apply unless given as options. A field the mapping names is no
    longer computed by the source from other columns (a source's clean-up of that
    field's own value, such as keeping the first of several ids, still applies).
    Raises MappingError when the mapping's table is not one the file fills, or a
    column it names is not in the file.
    """
    if not options.mapping_file:
        return plans
    mapping = load_mapping(options.mapping_file)
    where = Path(options.mapping_file).name
    if not any(_fills(p.target, mapping.table) for p in plans):
        filled = ", ".join(dict.fromkeys(p.target for p in plans)) or "no table"
        raise MappingError(
            f"{where}: table {mapping.table} is not one that {raw.path.name} fills "
            f"(it fills {filled}); set table: to one of those"
        )
    mapping.check_fields(where)
    columns = resolve_headers(mapping.columns, raw.headers, raw.path.name)
    out = []
    for plan in plans:
        if not _fills(plan.target, mapping.table):
            out.append(plan)
            continue
        named = set(columns) | set(mapping.constants)
        derive = {
            fld: expr
            for fld, expr in plan.derive.items()
            if fld not in named or re.search(rf"\b{re.escape(fld)}\b", expr)
        }
        out.append(
            dataclasses.replace(
                plan,
                columns={
                    **{k: v for k, v in plan.columns.items() if k not in mapping.constants},
                    **columns,
                },
                constants={
                    **{k: v for k, v in plan.constants.items() if k not in columns},
                    **mapping.constants,
                },
                derive=derive,
                date_format=options.date_format or mapping.date_format or plan.date_format,
                decimal=options.decimal or mapping.decimal or plan.decimal,
                guessed=plan.guessed and not columns,
            )
        )
    return out


def find(raw: RawFile, *candidates: str) -> str | None:
    """Return the file's header matching the first candidate spelling, ignoring case and spacing."""
    by_norm: dict[str, str] = {}
    for h in raw.headers:
        by_norm.setdefault(normalise_header(h), h)
    for c in candidates:
        found = by_norm.get(normalise_header(c))
        if found is not None:
            return found
    return None


def has(raw: RawFile, *candidates: str) -> bool:
    """True when every candidate header is present."""
    return all(find(raw, c) is not None for c in candidates)


def find_all(raw: RawFile, wanted: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Map each field to the first matching header; fields without one are left out."""
    out = {}
    for fld, candidates in wanted.items():
        h = find(raw, *candidates)
        if h is not None:
            out[fld] = h
    return out


def require(raw: RawFile, columns: dict[str, str], fields: tuple[str, ...], what: str) -> None:
    """Raise a MappingError naming the first needed field the file lacks."""
    for fld in fields:
        if fld not in columns:
            raise MappingError(
                f"{raw.path.name}: no column for {fld}; is this {what}? "
                f"Its columns are {', '.join(repr(h) for h in raw.headers[:30])}; if one of "
                f"them holds {fld}, name it in a mapping (--suggest-mapping mapping.yaml "
                "writes one to edit)"
            )
