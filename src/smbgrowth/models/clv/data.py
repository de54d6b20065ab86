"""Recency-frequency-monetary summaries of the orders, the input of the customer-value models.

The conventions are those of the ``lifetimes`` package's
``summary_data_from_transaction_data`` and ``calibration_and_holdout_data``, so
published results (CDNOW, Fader, Hardie & Lee 2005) are reproduced exactly:

* a *purchase* is a local calendar day (workspace time zone) on which the
  customer has at least one sold order (status completed, partially_refunded or
  refunded); several orders on one day are one purchase whose value is their
  summed net spend (total − refunded);
* ages are whole days since the customer's first purchase day, divided by the
  length of the time unit (day = 1, week = 7, month = 30.4375 days);
* ``frequency`` = repeat purchases (purchase days after the first), ``recency`` =
  age at the last purchase (0 without repeats), ``T`` = age at the end of the
  (calibration) period, ``monetary_value`` = mean value of the repeat purchases
  (0 without repeats — the Gamma-Gamma convention).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ModelError
from smbgrowth.metrics.base import local_time
from smbgrowth.metrics.common import REVENUE_STATUSES

__all__ = ["TIME_UNIT_DAYS", "TimeUnit", "calibration_holdout", "purchase_days", "rfm_summary"]

TimeUnit = Literal["day", "week", "month"]

#: Length of each time unit in days (a month is 365.25 / 12 days).
TIME_UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 30.4375}

_SUMMARY_COLUMNS = ["frequency", "recency", "T", "monetary_value"]
_HOLDOUT_COLUMNS = ["frequency_holdout", "duration_holdout"]


def purchase_days(ws: Workspace) -> ir.Table:
    """One row per customer and local calendar day with sold orders: ``customer_id, day, net``.

    ``net`` is the day's summed net spend (total − refunded) as a float.
    """
    o = ws.orders
    o = o.filter(o.status.isin(REVENUE_STATUSES), o.customer_id.notnull())
    o = o.select(
        customer_id=o.customer_id,
        day=local_time(o.ordered_at, ws.time_zone).date(),
        net=(o.total - o.refunded.fill_null(0)).cast("float64"),
    )
    return o.group_by(["customer_id", "day"]).aggregate(net=o.net.sum())


def _unit_days(time_unit: str) -> float:
    try:
        return TIME_UNIT_DAYS[time_unit]
    except KeyError:
        options = ", ".join(TIME_UNIT_DAYS)
        raise ModelError(f"unknown time unit {time_unit!r}; choose one of: {options}") from None


def rfm_summary(
    ws: Workspace,
    *,
    time_unit: TimeUnit = "week",
    calibration_end: date | None = None,
    observation_end: date | None = None,
) -> pd.DataFrame:
    """Frequency, recency, T and monetary value of every customer, indexed by ``customer_id``.

    Parameters
    ----------
    ws:
        The workspace whose ``orders`` are summarised.
    time_unit:
        Unit of ``recency``, ``T`` and ``duration_holdout``: day, week (7 days) or
        month (30.4375 days).
    calibration_end:
        Last local day of the calibration period. When given, only customers whose
        first purchase is on or before it are kept, frequency/recency/T/monetary
        value describe the calibration period, and two holdout columns are added:
        ``frequency_holdout`` (purchase days after ``calibration_end`` up to
        ``observation_end``) and ``duration_holdout`` (the holdout length in units).
    observation_end:
        Last local day considered (inclusive); later orders are ignored. Defaults
        to the day of the latest sold order.

    Returns
    -------
    pandas.DataFrame
        Columns ``frequency`` (int), ``recency``, ``T``, ``monetary_value`` and,
        with ``calibration_end``, ``frequency_holdout`` (int) and
        ``duration_holdout``; sorted by ``customer_id``. Empty when there are no
        sold orders with a customer.

    Raises
    ------
    ModelError
        On an unknown time unit or a calibration end after the observation end.
    """
    unit = _unit_days(time_unit)
    days = purchase_days(ws)
    if observation_end is None:
        latest = days.day.max().to_pyarrow().as_py()
        if latest is None:
            return _empty(calibration_end is not None)
        observation_end = latest
    assert observation_end is not None  # for mypy: set above when it was None
    if calibration_end is not None and calibration_end > observation_end:
        raise ModelError(
            f"calibration end {calibration_end} is after the observation end {observation_end}"
        )
    cut = calibration_end if calibration_end is not None else observation_end
    days = days.filter(days.day <= ibis.literal(observation_end))

    first = days.group_by("customer_id").aggregate(first_day=days.day.min())
    first = first.filter(first.first_day <= ibis.literal(cut))
    rows = days.join(first, "customer_id")
    rows = rows.mutate(age=rows.day.delta(rows.first_day, unit="day"))

    cal = rows.filter(rows.day <= ibis.literal(cut))
    summary = cal.group_by("customer_id").aggregate(
        frequency=cal.count() - 1,
        recency_days=cal.age.max(),
        T_days=ibis.literal(cut).delta(cal.first_day.min(), unit="day"),
        repeat_net=cal.net.sum(where=cal.age > 0),
    )
    if calibration_end is not None:
        hold = rows.filter(rows.day > ibis.literal(cut))
        counts = hold.group_by("customer_id").aggregate(frequency_holdout=hold.count())
        summary = summary.left_join(counts, "customer_id").drop("customer_id_right")

    frame = summary.order_by("customer_id").to_pandas().set_index("customer_id")
    out = pd.DataFrame(index=frame.index)
    out["frequency"] = frame["frequency"].astype("int64")
    out["recency"] = frame["recency_days"].astype("float64") / unit
    out["T"] = frame["T_days"].astype("float64") / unit
    repeat = frame["repeat_net"].astype("float64").fillna(0.0)
    out["monetary_value"] = (repeat / out["frequency"].where(out["frequency"] > 0)).fillna(0.0)
    if calibration_end is not None:
        out["frequency_holdout"] = frame["frequency_holdout"].fillna(0).astype("int64")
        out["duration_holdout"] = (observation_end - calibration_end).days / unit
    return out


def calibration_holdout(
    ws: Workspace,
    calibration_end: date,
    *,
    time_unit: TimeUnit = "week",
    observation_end: date | None = None,
) -> pd.DataFrame:
    """Calibration summary plus holdout purchases: :func:`rfm_summary` with ``calibration_end``."""
    return rfm_summary(
        ws, time_unit=time_unit, calibration_end=calibration_end, observation_end=observation_end
    )


def _empty(holdout: bool) -> pd.DataFrame:
    columns = _SUMMARY_COLUMNS + (_HOLDOUT_COLUMNS if holdout else [])
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    frame.index = pd.Index([], dtype="object", name="customer_id")
    for c in ("frequency", "frequency_holdout"):
        if c in frame:
            frame[c] = frame[c].astype("int64")
    return frame
