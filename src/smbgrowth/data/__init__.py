"""Data layer: canonical schema, workspace storage, importers and the sample business."""

from smbgrowth.data.sample import SampleSummary, generate_sample_business
from smbgrowth.data.schema import CANONICAL_TABLES, Column, Table, get_table
from smbgrowth.data.workspace import Workspace, init_workspace, open_workspace

__all__ = [
    "CANONICAL_TABLES",
    "Column",
    "SampleSummary",
    "Table",
    "Workspace",
    "generate_sample_business",
    "get_table",
    "init_workspace",
    "open_workspace",
]
