"""The dashboard's pages and API routes, one module per area, each with a ``router``.

Every module in this package that defines ``router`` (a FastAPI ``APIRouter``)
is included by :func:`smbgrowth.web.app.create_app`, in name order.
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter

__all__ = ["ROUTERS"]


def _routers() -> list[APIRouter]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found


ROUTERS: list[APIRouter] = _routers()
