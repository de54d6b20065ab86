"""Turning library results into plain JSON values."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["json_safe"]


def json_safe(value: Any, *, cents: bool = False) -> Any:
    """Return a JSON-safe copy: NaN and infinities become None, numpy scalars plain numbers,
    dates ISO text; with ``cents`` every float is rounded to the cent (money)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v, cents=cents) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, cents=cents) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return None
        return round(number, 2) if cents else number
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value
