"""Fixtures shared by the importer test modules under ``tests/data``."""

from __future__ import annotations

import pytest

from smbgrowth.data.workspace import Workspace
from tests.data.importing import SHOPIFY, run_import


@pytest.fixture
def shopify(workspace: Workspace) -> Workspace:
    run_import(workspace, "shopify", SHOPIFY)
    return workspace
