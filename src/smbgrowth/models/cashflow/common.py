"""Building blocks shared by the cash-flow modules: array types, days, windows, JSON values."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from smbgrowth.jsonsafe import json_safe

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
    return json_safe(value, cents=cents)
