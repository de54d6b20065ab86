"""smbgrowth: a growth engine for small and medium businesses.

Import a business's own exports into a workspace, then measure, model, simulate
and automate its growth. The library is the product; the ``smbgrowth`` command
is a thin shell over it.

The workspace names are imported on first use, so that using one model does not
load the database libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smbgrowth.errors import SmbGrowthError

__version__ = "0.1.0"

from smbgrowth.lazy import lazy_exports

if TYPE_CHECKING:
    from smbgrowth.data.schema import CANONICAL_TABLES
    from smbgrowth.data.workspace import Workspace, init_workspace, open_workspace

_WHERE = {
    "CANONICAL_TABLES": "smbgrowth.data.schema",
    "Workspace": "smbgrowth.data.workspace",
    "init_workspace": "smbgrowth.data.workspace",
    "open_workspace": "smbgrowth.data.workspace",
}

__all__ = [
    "CANONICAL_TABLES",
    "SmbGrowthError",
    "Workspace",
    "__version__",
    "init_workspace",
    "open_workspace",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _WHERE)
