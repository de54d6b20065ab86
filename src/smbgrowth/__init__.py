"""smbgrowth: a growth engine for small and medium businesses.

Import a business's own exports into a workspace, then measure, model, simulate
and automate its growth. The library is the product; the ``smbgrowth`` command
is a thin shell over it.
"""

from smbgrowth.data.schema import CANONICAL_TABLES
from smbgrowth.data.workspace import Workspace, init_workspace, open_workspace
from smbgrowth.errors import SmbGrowthError

__version__ = "0.1.0"

__all__ = [
    "CANONICAL_TABLES",
    "SmbGrowthError",
    "Workspace",
    "__version__",
    "init_workspace",
    "open_workspace",
]
