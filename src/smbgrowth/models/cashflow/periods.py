"""The projection's periods, and the daily cash flows simulated over them.

Periods
    Rolling: week *k* is the 7 days from ``as_of + 1 + 7k``; month *k* runs
    from ``as_of + 1`` plus *k* calendar months to the day before the next one
    (calendar months when ``as_of`` is a month's last day). Each period is
    labelled by its first day; balances are at the end of its last day.

Flows
    Cash flows are kept per day, day 0 being the day after ``as_of``: per
    simulated path for the items that differ between paths, once for those that
    do not, and the mean daily flow of every item (so a dip can be explained).
    What falls outside the horizon is dropped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from smbgrowth.models.cashflow.common import _DAY, FloatArray, IntArray

# Internal to the cash-flow package: nothing here is public.
__all__: list[str] = []


@dataclass(frozen=True)
class _Calendar:
    as_of: pd.Timestamp
    grain: Literal["week", "month"]
    starts: list[pd.Timestamp]
    ends: list[pd.Timestamp]

    @property
    def days(self) -> int:
        return (self.ends[-1] - self.as_of).days

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.date_range(self.as_of + _DAY, self.ends[-1], freq="D")

    @property
    def end_index(self) -> IntArray:
        return np.array([(e - self.as_of).days - 1 for e in self.ends], dtype=np.int64)

    def offset(self, day: pd.Timestamp) -> int:
        """Day index of a date (0 = the day after as_of)."""
        return int((day - self.as_of).days) - 1

    def month_ends(self) -> list[pd.Timestamp]:
        """Last day of each projection month that ends inside the horizon."""
        first = self.as_of + _DAY
        out = []
        for m in range(1, 10_000):
            end = first + pd.DateOffset(months=m) - _DAY
            if end > self.ends[-1]:
                break
            out.append(end)
        return out


def _calendar(as_of: dt.date, weeks: int | None, months: int | None) -> _Calendar:
    base = pd.Timestamp(as_of)
    first = base + _DAY
    if months is not None:
        starts = [first + pd.DateOffset(months=k) for k in range(months + 1)]
        return _Calendar(base, "month", starts[:-1], [s - _DAY for s in starts[1:]])
    assert weeks is not None
    starts = [first + pd.Timedelta(days=7 * k) for k in range(weeks)]
    return _Calendar(base, "week", starts, [s + pd.Timedelta(days=6) for s in starts])


class _Flows:
    """Daily cash flows per path, and the mean daily flow of every item."""

    def __init__(self, paths: int, days: int) -> None:
        self.paths = paths
        self.days = days
        self.random = np.zeros((paths, days))
        self.fixed = np.zeros(days)
        self.items: dict[str, FloatArray] = {}

    def add(self, name: str, flow: FloatArray) -> None:
        if flow.ndim == 2:
            self.random += flow
            mean: FloatArray = flow.mean(axis=0)
        else:
            self.fixed += flow
            mean = flow
        self.items[name] = self.items.get(name, np.zeros(self.days)) + mean

    def lumps(self, index: npt.ArrayLike, amounts: npt.ArrayLike) -> FloatArray:
        """A daily flow with ``amounts`` on day ``index`` (days outside the horizon dropped)."""
        idx = np.asarray(index, dtype=np.int64)
        amt = np.broadcast_to(np.asarray(amounts, dtype=np.float64), idx.shape)
        keep = (idx >= 0) & (idx < self.days)
        flow = np.bincount(idx[keep], weights=amt[keep], minlength=self.days)
        return np.asarray(flow, dtype=np.float64)

    def path_lumps(self, day_offsets: FloatArray, amounts: FloatArray) -> FloatArray:
        """Per-path flow: column j pays ``amounts[j]`` on day offset ``day_offsets[p, j]``."""
        idx = day_offsets - 1.0
        keep = np.isfinite(idx) & (idx >= 0) & (idx < self.days)
        rows = np.broadcast_to(np.arange(self.paths)[:, None], idx.shape)
        flat = rows[keep] * self.days + idx[keep].astype(np.int64)
        weights = np.broadcast_to(amounts[None, :], idx.shape)[keep]
        counts = np.bincount(flat, weights=weights, minlength=self.paths * self.days)
        flow: FloatArray = counts.reshape(self.paths, self.days).astype(np.float64)
        return flow


def _shift(flow: FloatArray, lag: int) -> FloatArray:
    """The flow moved ``lag`` days later (what falls past the horizon is dropped)."""
    if lag <= 0:
        return flow
    out = np.zeros_like(flow)
    days = flow.shape[-1]
    if lag < days:
        out[..., lag:] = flow[..., : days - lag]
    return out
