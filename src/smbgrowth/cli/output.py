"""Printing for the command line: Rich tables on a terminal, JSON with --json, one-line errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["Output", "money", "share"]


class Output:
    """Where a command writes: JSON for machines, Rich for people."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.console = Console()
        self.errors = Console(stderr=True)

    def json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")

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
