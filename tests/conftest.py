"""Shared fixtures: a fresh workspace per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import smbgrowth
from smbgrowth.data.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """An empty workspace reporting in USD with New York as its time zone."""
    ws = smbgrowth.init_workspace(tmp_path / "ws", currency="USD", time_zone="America/New_York")
    try:
        yield ws
    finally:
        ws.close()
