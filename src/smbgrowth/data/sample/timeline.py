"""The calendar of the sample business: days, months and the acquisition curve.

All instants are integer seconds since 1970-01-01 UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from smbgrowth.data.sample.params import Acquisition

__all__ = [
    "DAY",
    "WEEK",
    "Timeline",
    "acquisition_intensity",
    "add_months",
    "make_timeline",
    "seasonal_weights",
]

DAY = 86_400
WEEK = 7 * DAY

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Timeline:
    """The days from ``start`` to ``end`` (both included)."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_s(self) -> int:
        """Start of the first day."""
        return int(np.datetime64(self.start, "D").astype(np.int64)) * DAY

    @property
    def end_s(self) -> int:
        """End of the last day (exclusive): the instant data are observed until."""
        return self.start_s + self.days * DAY

    def epoch_days(self) -> IntArray:
        """Return each day as days since the epoch."""
        return np.arange(self.days, dtype=np.int64) + self.start_s // DAY

    def weekday(self) -> IntArray:
        """Return each day's weekday, Monday = 0 (1970-01-01 was a Thursday)."""
        return (self.epoch_days() + 3) % 7

    def calendar_month(self) -> IntArray:
        """Return each day's calendar month, 1–12."""
        months = self.epoch_days().astype("datetime64[D]").astype("datetime64[M]")
        return months.astype(np.int64) % 12 + 1

    def years_elapsed(self) -> FloatArray:
        """Return the middle of each day in years since the start."""
        return (np.arange(self.days, dtype=np.float64) + 0.5) / 365.25

    def month_starts(self) -> IntArray:
        """Return the first instant of each calendar month the span touches."""
        first = np.datetime64(self.start, "M")
        last = np.datetime64(self.end, "M")
        months = np.arange(first, last + 1, dtype="datetime64[M]")
        return months.astype("datetime64[D]").astype(np.int64) * DAY

    def month_index(self, seconds: IntArray) -> IntArray:
        """Return the index into :meth:`month_starts` of each instant."""
        first = np.datetime64(self.start, "M").astype(np.int64)
        months = (np.asarray(seconds) // DAY).astype("datetime64[D]").astype("datetime64[M]")
        return months.astype(np.int64) - first

    def day_index(self, seconds: IntArray) -> IntArray:
        """Return the day number (0 = start) of each instant."""
        return (np.asarray(seconds, dtype=np.int64) - self.start_s) // DAY


def make_timeline(end: dt.date, years: float) -> Timeline:
    """Return the timeline of ``years`` × 365.25 days (rounded) that ends on ``end``."""
    days = max(1, round(years * 365.25))
    return Timeline(start=end - dt.timedelta(days=days - 1), end=end)


def acquisition_intensity(timeline: Timeline, params: Acquisition) -> FloatArray:
    """Return the logistic ramp of new-customer arrivals per day (no seasonality)."""
    years = timeline.days / 365.25
    midpoint = params.midpoint_share * years
    t = timeline.years_elapsed()
    ramp = 1.0 / (1.0 + np.exp(-params.growth_rate_per_year * (t - midpoint)))
    return params.floor + (1.0 - params.floor) * ramp


def seasonal_weights(timeline: Timeline, params: Acquisition) -> FloatArray:
    """Return each day's yearly × weekly demand multiplier."""
    month = np.asarray(params.monthly_seasonality, dtype=np.float64)[timeline.calendar_month() - 1]
    week = np.asarray(params.weekday_weights, dtype=np.float64)[timeline.weekday()]
    return month * week


def add_months(seconds: IntArray, months: IntArray) -> IntArray:
    """Return each instant moved by whole calendar months (the day clamped to the month's end)."""
    seconds = np.asarray(seconds, dtype=np.int64)
    days = seconds // DAY
    time_of_day = seconds - days * DAY
    day = days.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    day_of_month = (day - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64)
    target_start = target.astype("datetime64[D]")
    month_length = ((target + 1).astype("datetime64[D]") - target_start).astype(np.int64)
    moved = target_start.astype(np.int64) + np.minimum(day_of_month, month_length - 1)
    result: IntArray = moved * DAY + time_of_day
    return result
