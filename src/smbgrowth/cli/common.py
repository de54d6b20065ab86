"""What every command shares: workspace and JSON options, one-line errors, opening."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from smbgrowth.cli.output import Output
from smbgrowth.data.workspace import Workspace, open_workspace
from smbgrowth.errors import MetricError, SmbGrowthError
from smbgrowth.settings import ENV_WORKSPACE, resolve_workspace_path

__all__ = [
    "JsonOpt",
    "WorkspaceOpt",
    "one_line_errors",
    "open_ws",
    "parse_date",
    "with_workspace",
]

T = TypeVar("T")

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help=f"Workspace folder [default: ./smbgrowth-workspace or ${ENV_WORKSPACE}]",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@contextmanager
def one_line_errors(out: Output) -> Iterator[None]:
    """Turn smbgrowth's errors into one line and exit status 1."""
    try:
        yield
    except SmbGrowthError as exc:
        out.error(str(exc))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        out.error("interrupted; nothing half-written was kept")
        raise typer.Exit(130) from None


def open_ws(workspace: Path | None) -> Workspace:
    return open_workspace(resolve_workspace_path(workspace))


def with_workspace(out: Output, workspace: Path | None, work: Callable[[Workspace], T]) -> T:
    """Open the workspace, do the work, close it; errors become one line."""
    with one_line_errors(out):
        ws = open_ws(workspace)
        try:
            return work(ws)
        finally:
            ws.close()


def parse_date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise MetricError(f"{flag} {value!r} is not a date like 2025-01-31") from None
