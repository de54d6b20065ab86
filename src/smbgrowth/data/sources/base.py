"""What every source shares: header matching and the source contract."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from smbgrowth.data.fields import normalise_header
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError

__all__ = ["HeaderSource", "Source", "find", "find_all", "has", "require"]


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
        return 0


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
                f"Its columns are {', '.join(repr(h) for h in raw.headers[:30])}"
            )
