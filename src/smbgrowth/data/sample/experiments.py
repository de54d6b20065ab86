"""Two A/B tests of the sample business, with a known true effect.

Both are drawn after every other table, from the same random generator, so
that adding them changes no other table's rows.

``checkout-redesign`` (unit: web session)
    Every session whose first event falls in the last
    ``ExperimentDesign.checkout_window_days`` days is a unit; it is assigned
    at that first event. The sessions and whether they bought are already
    drawn, so the effect is embedded through the assignment, which depends
    on the outcome. Let ``L`` be the true relative lift, ``Y`` = 1 for a
    session that reached the purchase step and ``c`` the share of such
    sessions among the ``N`` units. A buying session goes to the treatment
    (``new-checkout``) with probability ``p1 = (1 + L) / (2 + L)``, any other
    session with ``p0 = (1/2 - c·p1) / (1 - c)``. Then

    * ``P(treatment) = c·p1 + (1 - c)·p0 = 1/2``: the split is 50/50 in
      expectation, as in a fair coin-flip test;
    * ``E[buyers in treatment] = N·c·p1`` and ``E[buyers in control] =
      N·c·(1 - p1)``, over ``N/2`` units each in expectation, so the expected
      conversion rates are ``2c(1 + L)/(2 + L)`` and ``2c/(2 + L)``, whose
      ratio is ``p1 / (1 - p1) = 1 + L``.

    Each unit's (variant, outcome) pair therefore has exactly the joint
    distribution of a coin-flip test whose control converts at
    ``2c/(2 + L)`` and whose treatment converts ``1 + L`` times as often
    (their mean is the observed ``c``). One difference: the total number of
    buyers is the one already drawn rather than random, which makes the
    realised lift vary a little *less* than in a fresh test. ``p0`` stays in
    [0, 1] as long as ``c ≤ (2 + L) / (2 (1 + L))`` (about 95 % for
    ``L = 0.12``; the shop converts a few per cent of sessions); beyond that it
    is clipped. The ``covariate`` column is left empty.

``winback-email`` (unit: customer)
    On day ``D`` = last day − ``winback_days_before_end`` days, every customer
    whose last order before ``D`` was placed ``winback_lapsed_days`` (both
    included, calendar days in UTC) before ``D`` is a unit, assigned at a
    uniformly random second of ``D`` (UTC), to ``control`` or ``email`` by
    independent fair coin flips. The e-mail has no effect: the customers'
    later orders are those already drawn, so orders placed within
    ``winback_outcome_days`` days of the assignment have the same
    distribution in both variants (true relative lift 0).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from smbgrowth.data.sample import columns as col
from smbgrowth.data.sample.customers import customer_ids
from smbgrowth.data.sample.orders import OrderBook
from smbgrowth.data.sample.params import ExperimentDesign
from smbgrowth.data.sample.timeline import DAY, Timeline
from smbgrowth.data.sample.web import SessionOutcomes, session_ids

__all__ = [
    "Assignment",
    "checkout_probabilities",
    "draw_checkout_redesign",
    "draw_experiments",
    "draw_winback_email",
    "experiments_frame",
    "experiments_truth",
    "winback_day",
]

IntArray = npt.NDArray[np.int64]

UNIT_TYPES: tuple[str, ...] = ("session", "customer")


@dataclass(frozen=True)
class Assignment:
    """One experiment's units: unit numbers, exposure instants and variant (0 = control).

    ``unit`` is a session number when ``unit_type`` is ``session`` and a
    customer index when it is ``customer``.
    """

    experiment_id: str
    unit_type: str
    variants: tuple[str, str]
    unit: IntArray
    assigned_s: IntArray
    variant: IntArray

    def __len__(self) -> int:
        return len(self.unit)


def checkout_probabilities(bought_share: float, lift: float) -> tuple[float, float]:
    """Return P(treatment | bought) and P(treatment | did not buy) for a 50/50 split.

    With ``c = bought_share`` and relative lift ``L``: ``p1 = (1 + L) / (2 + L)``
    and ``p0 = (1/2 - c·p1) / (1 - c)``, clipped to [0, 1] (see the module
    docstring for why this gives a conversion ratio of ``1 + L``).
    """
    p1 = (1.0 + lift) / (2.0 + lift)
    if bought_share >= 1.0:
        return p1, 0.5
    p0 = (0.5 - bought_share * p1) / (1.0 - bought_share)
    return p1, min(1.0, max(0.0, p0))


def draw_checkout_redesign(
    rng: np.random.Generator,
    timeline: Timeline,
    sessions: SessionOutcomes,
    design: ExperimentDesign,
) -> Assignment:
    """Assign the sessions of the last weeks, conditionally on whether they bought."""
    window_start = timeline.end_s - design.checkout_window_days * DAY
    unit = np.flatnonzero(sessions.first_s >= window_start).astype(np.int64)
    bought = sessions.purchased[unit]
    share = float(bought.mean()) if len(unit) else 0.0
    p1, p0 = checkout_probabilities(share, design.checkout_relative_lift)
    treated = rng.random(len(unit)) < np.where(bought, p1, p0)
    return Assignment(
        experiment_id=design.checkout_id,
        unit_type="session",
        variants=design.checkout_variants,
        unit=unit,
        assigned_s=sessions.first_s[unit],
        variant=treated.astype(np.int64),
    )


def winback_day(timeline: Timeline, design: ExperimentDesign) -> dt.date:
    """Return the day the win-back e-mail test assigns its units."""
    return timeline.end - dt.timedelta(days=design.winback_days_before_end)


def draw_winback_email(
    rng: np.random.Generator,
    timeline: Timeline,
    customers: int,
    book: OrderBook,
    design: ExperimentDesign,
) -> Assignment:
    """Assign the lapsed customers by fair coin flips; the e-mail changes nothing."""
    day_s = int(np.datetime64(winback_day(timeline, design), "D").astype(np.int64)) * DAY
    before = book.ordered_s < day_s
    last = np.full(customers, -1, dtype=np.int64)
    np.maximum.at(last, book.customer[before], book.ordered_s[before])
    lapsed_days = day_s // DAY - last // DAY
    low, high = design.winback_lapsed_days
    unit = np.flatnonzero((last >= 0) & (lapsed_days >= low) & (lapsed_days <= high))
    unit = unit.astype(np.int64)
    assigned = day_s + rng.integers(0, DAY, size=len(unit), dtype=np.int64)
    treated = rng.random(len(unit)) < 0.5
    return Assignment(
        experiment_id=design.winback_id,
        unit_type="customer",
        variants=design.winback_variants,
        unit=unit,
        assigned_s=assigned,
        variant=treated.astype(np.int64),
    )


def draw_experiments(
    rng: np.random.Generator,
    timeline: Timeline,
    customers: int,
    book: OrderBook,
    sessions: SessionOutcomes,
    design: ExperimentDesign,
) -> tuple[Assignment, ...]:
    """Draw both experiments (checkout first, then win-back)."""
    return (
        draw_checkout_redesign(rng, timeline, sessions, design),
        draw_winback_email(rng, timeline, customers, book, design),
    )


def experiments_frame(
    assignments: Sequence[Assignment], customers: int, sessions: int
) -> pd.DataFrame:
    """Return the ``experiments`` table (``covariate`` left empty)."""
    prefix, width = customer_ids(customers)
    unit_ids = [
        session_ids(a.unit, sessions)
        if a.unit_type == "session"
        else col.ids(prefix, a.unit + 1, width)
        for a in assignments
    ]
    variants = tuple(dict.fromkeys(v for a in assignments for v in a.variants))
    codes = {name: i for i, name in enumerate(variants)}
    sizes = [len(a) for a in assignments]
    empty = np.zeros(0, dtype=np.int64)
    variant_codes = [
        np.array([codes[v] for v in a.variants], dtype=np.int64)[a.variant] for a in assignments
    ]
    return col.frame(
        {
            "experiment_id": col.labels(
                [a.experiment_id for a in assignments],
                np.repeat(np.arange(len(assignments), dtype=np.int64), sizes),
            ),
            "unit_id": pa.concat_arrays(unit_ids) if unit_ids else pa.array([], pa.string()),
            "variant": col.labels(variants, np.concatenate([empty, *variant_codes])),
            "assigned_at": col.instants(
                np.concatenate([empty, *(a.assigned_s for a in assignments)])
            ),
            "unit_type": col.labels(
                UNIT_TYPES,
                np.repeat(
                    np.array([UNIT_TYPES.index(a.unit_type) for a in assignments], dtype=np.int64),
                    sizes,
                ),
            ),
        }
    )


def experiments_truth(
    assignments: Sequence[Assignment], design: ExperimentDesign, timeline: Timeline
) -> dict[str, Any]:
    """Return the ``experiments`` entry of the sample truth, by experiment id."""
    by_id = {a.experiment_id: a for a in assignments}
    checkout = by_id[design.checkout_id]
    winback = by_id[design.winback_id]
    window_start = timeline.end - dt.timedelta(days=design.checkout_window_days - 1)
    return {
        checkout.experiment_id: {
            "unit_type": checkout.unit_type,
            "variants": list(checkout.variants),
            "control": checkout.variants[0],
            "treatment": checkout.variants[1],
            "metric": "reached purchase step",
            "true_relative_lift": design.checkout_relative_lift,
            "split": [0.5, 0.5],
            "units": len(checkout),
            "first_day": window_start.isoformat(),
            "last_day": timeline.end.isoformat(),
            "assignment": (
                "each web session whose first event is on first_day … last_day, at that "
                "event; a session that reached the purchase step goes to the treatment "
                "with probability (1 + lift) / (2 + lift), any other with the probability "
                "that keeps the expected split 50/50, so that the expected conversion of "
                "the treatment is (1 + lift) × that of the control"
            ),
        },
        winback.experiment_id: {
            "unit_type": winback.unit_type,
            "variants": list(winback.variants),
            "control": winback.variants[0],
            "treatment": winback.variants[1],
            "metric": f"orders within {design.winback_outcome_days} days",
            "outcome_days": design.winback_outcome_days,
            "true_relative_lift": design.winback_relative_lift,
            "split": [0.5, 0.5],
            "units": len(winback),
            "assigned_on": winback_day(timeline, design).isoformat(),
            "lapsed_days": list(design.winback_lapsed_days),
            "assignment": (
                "customers whose last order before assigned_on was lapsed_days (both "
                "included) days earlier, at a random second of assigned_on (UTC), by fair "
                "coin flips; the e-mail changes nothing, so orders placed within "
                "outcome_days days after assigned_at are alike in both variants"
            ),
        },
    }
