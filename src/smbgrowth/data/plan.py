"""What an importer decides about one file before any row is written."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FilePlan", "ImportOptions"]


@dataclass(frozen=True)
class ImportOptions:
    """Options of one import run, as the user gave them."""

    table: str | None = None
    mapping_file: str | None = None
    date_format: str | None = None
    decimal: str | None = None
    channel: str | None = None
    sheet: str | None = None


@dataclass(frozen=True)
class FilePlan:
    """How one file becomes canonical rows.

    Attributes
    ----------
    target:
        ``order_lines`` (one row per order line, fills orders too), ``orders``, or
        any canonical table.
    columns:
        field → header of the file.
    constants:
        field → fixed text value (parsed like a cell).
    extra:
        helper fields that are not canonical: name → (header, kind); used by
        ``derive`` expressions and then dropped.
    derive:
        field → SQL over the parsed fields, computed after parsing; overrides a
        mapped value of the same name.
    time_zones:
        field → time zone for naive date-times of that column (e.g. ``UTC`` for
        Stripe's ``Created (UTC)``); others use the workspace's zone.
    row_filter:
        SQL predicate over the raw text columns; rows where it is false are
        skipped and counted (subtotal rows of accounting reports).
    guessed:
        true when ``columns`` came from recognised header spellings.
    notes:
        what the source decided about the file that the user should know (rows
        read another way, columns that mean something else); shown with the
        file's warnings.
    """

    target: str
    columns: dict[str, str]
    constants: dict[str, str] = field(default_factory=dict)
    extra: dict[str, tuple[str, str]] = field(default_factory=dict)
    derive: dict[str, str] = field(default_factory=dict)
    time_zones: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    day_first: bool | None = None
    decimal: str | None = None
    row_filter: str | None = None
    skip_rows: int = 0
    guessed: bool = False
    label: str = ""
    notes: tuple[str, ...] = ()
