"""The one exception tree of smbgrowth.

Every error smbgrowth raises on purpose derives from :class:`SmbGrowthError`;
its message is one line a user can act on: what went wrong, where (file, row,
column when there is one) and how to fix it.

::

    SmbGrowthError
    ├── ConfigError              settings, environment, options
    ├── WorkspaceError           missing, locked or too-new workspace
    │   └── MigrationError
    ├── DataError                bad input data
    │   ├── InputFileError       unreadable file, unknown format, encoding
    │   ├── MappingError         mapping file or column mapping is wrong
    │   └── ValidationError      a value in a row is not what its column needs
    ├── MetricError              unknown metric, grain or dimension
    ├── ModelError               a model could not be fitted or used
    │   └── NotFittedError
    ├── SimulationError
    └── WorkflowError
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "InputFileError",
    "MappingError",
    "MetricError",
    "MigrationError",
    "ModelError",
    "NotFittedError",
    "SimulationError",
    "SmbGrowthError",
    "SmbGrowthWarning",
    "ValidationError",
    "WorkflowError",
    "WorkspaceError",
]


class SmbGrowthError(Exception):
    """Root of every error smbgrowth raises on purpose."""


class SmbGrowthWarning(UserWarning):
    """Root of smbgrowth's warnings (data-quality notes that do not stop work)."""


class ConfigError(SmbGrowthError):
    """A setting, option or environment variable has a value smbgrowth cannot use."""


class WorkspaceError(SmbGrowthError):
    """The workspace is missing, not a workspace, or cannot be opened."""


class MigrationError(WorkspaceError):
    """The workspace schema cannot be brought to this version of smbgrowth."""


class DataError(SmbGrowthError):
    """Input data cannot be imported as it is."""


class InputFileError(DataError):
    """A file cannot be read: missing, empty, unknown format or undecodable."""


class MappingError(DataError):
    """A column mapping is wrong: unknown column, missing required column, bad YAML."""


class ValidationError(DataError):
    """A value in the input is not what its canonical column needs.

    Carries the location so that interfaces can show or serialise it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: str | None = None,
        expected: str | None = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.row = row
        self.column = column
        self.value = value
        self.expected = expected


class MetricError(SmbGrowthError):
    """A metric, grain or dimension is unknown or cannot be computed on this data."""


class ModelError(SmbGrowthError):
    """A model cannot be fitted or used on this data."""


class NotFittedError(ModelError):
    """A model was asked for predictions before ``fit`` was called."""


class SimulationError(SmbGrowthError):
    """A growth simulation cannot be set up or run."""


class WorkflowError(SmbGrowthError):
    """An automation workflow definition or run is invalid."""
