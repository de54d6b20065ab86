"""Settings read from the environment, all in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_WORKSPACE", "ENV_WORKSPACE", "SETTINGS", "Setting", "resolve_workspace_path"]

ENV_WORKSPACE = "SMBGROWTH_WORKSPACE"
DEFAULT_WORKSPACE = "smbgrowth-workspace"


@dataclass(frozen=True)
class Setting:
    """A setting: its environment variable, default and meaning."""

    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        ENV_WORKSPACE,
        f"./{DEFAULT_WORKSPACE}",
        "workspace folder used when --workspace is not given",
    ),
)


def resolve_workspace_path(
    explicit: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> Path:
    """Return the workspace folder: explicit path, else $SMBGROWTH_WORKSPACE, else the default."""
    if explicit:
        return Path(explicit)
    env = os.environ if environ is None else environ
    value = env.get(ENV_WORKSPACE, "").strip()
    return Path(value) if value else Path(DEFAULT_WORKSPACE)
