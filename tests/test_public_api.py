"""The public API is explicit and complete; the exception tree has one root."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import smbgrowth
import smbgrowth.errors as errors

LIBRARY_MODULES = [
    m.name
    for m in pkgutil.walk_packages(smbgrowth.__path__, "smbgrowth.")
    if not m.name.startswith("smbgrowth.cli")
]


def test_every_library_module_declares_all_and_it_resolves() -> None:
    for name in LIBRARY_MODULES:
        module = importlib.import_module(name)
        assert hasattr(module, "__all__"), f"{name} has no __all__"
        for public in module.__all__:
            assert hasattr(module, public), f"{name}.__all__ names missing {public}"


def test_top_level_exports_workspace_entry_points() -> None:
    assert set(smbgrowth.__all__) >= {"open_workspace", "init_workspace", "Workspace"}


def test_core_does_not_import_the_cli() -> None:
    import sys

    for name in LIBRARY_MODULES:
        importlib.import_module(name)
    assert "typer" not in sys.modules or "smbgrowth.cli.main" in sys.modules


def test_every_error_derives_from_the_root() -> None:
    classes = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, Exception) and obj.__module__ == errors.__name__
    ]
    assert len(classes) >= 12
    for cls in classes:
        assert issubclass(cls, errors.SmbGrowthError) or cls is errors.SmbGrowthWarning
