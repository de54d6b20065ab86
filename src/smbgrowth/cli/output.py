"""Printing for the command line: Rich tables on a terminal, JSON with --json, one-line errors."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["Output", "finite", "money", "share"]


def finite(value: Any) -> Any:
    """A copy that strict JSON accepts: NaN, ±Infinity and missing values become None.

    Recurses into dicts, lists and tuples; numpy numbers and arrays become Python
    ones, pandas' NA and NaT None. Anything else is left for
    ``json.dumps(default=str)``. Recognised by type so that printing does not
    import numpy or pandas (the command line starts without them).
    """
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str | int):
        return value
    kind = type(value)
    if kind.__module__ == "numpy" and hasattr(value, "tolist"):
        return finite(value.tolist())
    if kind.__name__ in ("NAType", "NaTType") and kind.__module__.startswith("pandas."):
        return None
    return value


class Output:
    """Where a command writes: JSON for machines, Rich for people."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.console = Console()
        self.errors = Console(stderr=True)

    def json(self, data: Any) -> None:
        """Print ``data`` as strict JSON: never NaN or Infinity (they become null)."""
        text = json.dumps(finite(data), indent=2, sort_keys=True, default=str, allow_nan=False)
        sys.stdout.write(text + "\n")

    def error(self, message: str) -> None:
        if self.as_json:
            self.json({"error": message})
        self.errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)

    @contextmanager
    def progress(self, description: str) -> Iterator[Callable[[str, float], None] | None]:
        """A progress callback drawing a bar when attached to a terminal, else None."""
        if self.as_json or not self.console.is_terminal:
            yield None
            return
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        ) as bar:
            task = bar.add_task(description, total=1.0)

            def update(stage: str, fraction: float) -> None:
                bar.update(task, description=stage, completed=fraction)

            yield update


def money(value: float | None) -> str:
    """An amount rounded to whole units with thousands separators (— when unknown)."""
    return "—" if value is None else f"{value:,.0f}"


def share(value: float) -> str:
    """A probability as a percentage that never rounds a real risk down to 0 % (or up to 100 %)."""
    if 0 < value < 0.01:
        return "<1%"
    if 0.99 < value < 1:
        return ">99%"
    return f"{value:.0%}"
