"""The dashboard's pages and API routes, one module per area, each with a ``router``.

Every module in this package that defines ``router`` (a FastAPI ``APIRouter``)
is included by :func:`smbgrowth.web.app.create_app`, in name order; a module
that also defines ``warm(runner)`` computes what its page shows in the
background when the dashboard starts and after each import (``WARMERS``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter

__all__ = ["ROUTERS", "WARMERS"]


def _modules() -> list[Any]:
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    ]


ROUTERS: list[APIRouter] = [
    m.router for m in _modules() if isinstance(getattr(m, "router", None), APIRouter)
]
WARMERS: list[Callable[[Any], Awaitable[None]]] = [
    m.warm for m in _modules() if callable(getattr(m, "warm", None))
]
