"""Read small YAML files into pydantic models with one-line errors.

Scenario files, mappings and workflow files are written by people: a syntax
error names its line, a misspelt key is named together with the keys allowed
at that place, and a bad value names its field and what was given.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml

from smbgrowth.errors import ConfigError

__all__ = ["load_model", "read_mapping", "validation_error"]

M = TypeVar("M", bound=pydantic.BaseModel)


def read_mapping(path: str | Path, what: str, keys_hint: str) -> dict[str, Any]:
    """Return the top-level mapping of a YAML file (empty file: empty mapping).

    Raises
    ------
    ConfigError
        One line naming the file: missing, unreadable, invalid YAML (with the
        line) or not a mapping (``keys_hint`` says which keys are expected).
    """
    path = Path(path)
    where = f"{what} {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where} does not exist; check the path") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        why = f" ({problem})" if problem else ""
        raise ConfigError(f"{where} is not valid YAML{at}{why}; fix the syntax") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping with keys such as {keys_hint}")
    return data


def _model_at(root: type[pydantic.BaseModel], loc: tuple[Any, ...]) -> type[pydantic.BaseModel]:
    """The pydantic model that owns the field at ``loc`` (walking lists and mappings)."""
    model = root
    for part in loc[:-1]:
        if not isinstance(part, str) or part not in model.model_fields:
            continue
        annotation = model.model_fields[part].annotation
        stack = [annotation]
        found = None
        while stack:
            candidate = stack.pop()
            if isinstance(candidate, type) and issubclass(candidate, pydantic.BaseModel):
                found = candidate
                break
            stack.extend(typing.get_args(candidate))
        if found is not None:
            model = found
    return model


def validation_error(
    exc: pydantic.ValidationError, where: str, root: type[pydantic.BaseModel]
) -> ConfigError:
    """Turn a pydantic error into one line naming the field (misspelt keys first)."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
    if first["type"] == "extra_forbidden":
        known = ", ".join(_model_at(root, tuple(first["loc"])).model_fields)
        message = f"unknown field {loc}; the fields there are {known}"
    else:
        message = f"field {loc or '(top level)'}: {first['msg']} (got {first.get('input')!r})"
    return ConfigError(f"{where}: {message}".replace("\n", " "))


def load_model(path: str | Path, model: type[M], what: str, keys_hint: str) -> M:
    """Read a YAML file and validate it as ``model``; errors are one :class:`ConfigError` line."""
    data = read_mapping(path, what, keys_hint)
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc, f"{what} {Path(path)}", model) from None
