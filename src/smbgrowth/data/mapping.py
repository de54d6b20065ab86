"""Column mappings: which column of a file fills which field of the canonical model.

A mapping file is YAML::

    table: order_lines            # target table
    date_format: "%m/%d/%Y"       # optional strptime layout for every date column
    decimal: ","                  # optional decimal separator when the file's is ambiguous
    columns:                      # field: column header in the file
      order_id: Order ID
      ordered_at: Order Date
    constants:                    # optional: a fixed value for a field
      channel: web
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pydantic
import yaml

from smbgrowth.data.fields import normalise_header, target_fields
from smbgrowth.errors import MappingError

__all__ = ["Mapping", "load_mapping", "resolve_headers"]


class Mapping(pydantic.BaseModel):
    """Which file column fills which field, plus parsing options."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    table: str
    columns: dict[str, str] = pydantic.Field(default_factory=dict)
    constants: dict[str, str] = pydantic.Field(default_factory=dict)
    date_format: str | None = None
    decimal: Literal[".", ","] | None = None
    skip_rows: int = pydantic.Field(default=0, ge=0)
    sheet: str | None = None

    def check_fields(self, where: str) -> None:
        """Raise MappingError if a field is not known for the target table."""
        fields = target_fields(self.table)
        for name in [*self.columns, *self.constants]:
            if name not in fields:
                raise MappingError(
                    f"{where}: {name!r} is not a field of table {self.table}; "
                    f"valid fields: {', '.join(fields)}"
                )


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise MappingError(f"{where}: {problem}") from None
    if not isinstance(data, dict):
        raise MappingError(f"{path}: expected a mapping with 'table' and 'columns' keys")
    for key in ("columns", "constants"):
        if isinstance(data.get(key), dict):
            data[key] = {str(k): str(v) for k, v in data[key].items() if v is not None}
    try:
        mapping = Mapping.model_validate(data)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        line = _line_of(text, str(err["loc"][0])) if err["loc"] else None
        where = f"{path}:{line}" if line else str(path)
        raise MappingError(f"{where}: {loc}: {err['msg']}") from None
    from smbgrowth.data.schema import CANONICAL_TABLES

    if mapping.table not in (*CANONICAL_TABLES, "orders", "order_lines"):
        raise MappingError(
            f"{path}: unknown table {mapping.table!r}; choose one of: {', '.join(CANONICAL_TABLES)}"
        )
    mapping.check_fields(str(path))
    return mapping


def _line_of(text: str, key: str) -> int | None:
    for i, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith(f"{key}:"):
            return i
    return None


def resolve_headers(mapping: dict[str, str], headers: tuple[str, ...], file: str) -> dict[str, str]:
    """Return field → actual header, matching mapping headers exactly or case/space-insensitively.

    Raises MappingError naming the missing column and the file's columns.
    """
    exact = set(headers)
    loose = {normalise_header(h): h for h in headers}
    resolved = {}
    for field, header in mapping.items():
        if header in exact:
            resolved[field] = header
        elif normalise_header(header) in loose:
            resolved[field] = loose[normalise_header(header)]
        else:
            shown = ", ".join(repr(h) for h in headers[:40])
            raise MappingError(
                f"{file}: column {header!r} (for {field}) is not in the file; "
                f"its columns are {shown}"
            )
    return resolved
