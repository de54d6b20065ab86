"""Building blocks shared by the cash-flow modules: array types, days, windows, JSON values."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["FloatArray", "IntArray"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_DAY = pd.Timedelta(days=1)


def _days(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.normalize()


def _window(frame: pd.DataFrame, column: str, as_of: pd.Timestamp, months: int) -> pd.DataFrame:
    start = as_of - pd.DateOffset(months=months)
    return frame[(frame[column] > start) & (frame[column] <= as_of)]


def _json(value: Any, *, cents: bool = False) -> Any:
    """A JSON-safe copy: NaN and inf become None; money (``cents``) is rounded to the cent."""
    if isinstance(value, dict):
        return {str(k): _json(v, cents=cents) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v, cents=cents) for v in value]
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
