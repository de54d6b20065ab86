"""Web sessions and their funnel steps: visit → product_view → add_to_cart → checkout → purchase.

Every web order is the purchase step of one session. A session of traffic
channel ``ch`` on device ``dev`` buys with probability
``c = Π continuation`` (with the add-to-cart step scaled by the channel's
intent and the purchase step by the device's checkout factor), so for the
``P`` purchasing sessions of a channel and device there are ``P (1 - c) / c``
sessions that stop earlier; their depth follows the funnel conditioned on not
buying. A uniform random share of all sessions is kept so that the table stays
bounded; conversion rates computed from it are unbiased.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from smbgrowth.data.sample import columns as col
from smbgrowth.data.sample.customers import ACQUISITION_CHANNELS, CustomerBase, customer_ids
from smbgrowth.data.sample.orders import OrderBook
from smbgrowth.data.sample.params import WebFunnel
from smbgrowth.data.sample.timeline import DAY, Timeline

__all__ = [
    "STEPS",
    "TRAFFIC_CHANNELS",
    "SessionOutcomes",
    "WebEvents",
    "conversion_rates",
    "draw_web_events",
    "session_ids",
    "session_outcomes",
    "web_events_frame",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

STEPS: tuple[str, ...] = ("visit", "product_view", "add_to_cart", "checkout", "purchase")
TRAFFIC_CHANNELS: tuple[str, ...] = (
    "direct",
    "organic",
    "referral",
    "email",
    "google_ads",
    "facebook",
    "instagram",
)


@dataclass(frozen=True)
class WebEvents:
    """Funnel events as arrays, sorted by instant; sessions numbered by start."""

    session: IntArray
    customer: IntArray
    occurred_s: IntArray
    step: IntArray
    channel: IntArray
    device: IntArray
    devices: tuple[str, ...]
    session_sample_rate: float

    def __len__(self) -> int:
        return len(self.occurred_s)


@dataclass(frozen=True)
class SessionOutcomes:
    """Per session (index = session number): first event instant and whether it bought."""

    first_s: IntArray
    purchased: BoolArray

    def __len__(self) -> int:
        return len(self.first_s)


def _step_probabilities(params: WebFunnel) -> FloatArray:
    """Return continuation probabilities, shape (channels, devices, 4)."""
    devices = tuple(params.device_share)
    base = np.array([params.continuation[s] for s in STEPS[1:]], dtype=np.float64)
    q = np.broadcast_to(base, (len(TRAFFIC_CHANNELS), len(devices), 4)).copy()
    intent = np.array([params.channel_intent[c] for c in TRAFFIC_CHANNELS], dtype=np.float64)
    checkout = np.array([params.device_checkout[d] for d in devices], dtype=np.float64)
    q[:, :, 1] = np.minimum(1.0, q[:, :, 1] * intent[:, None])
    q[:, :, 3] = np.minimum(1.0, q[:, :, 3] * checkout[None, :])
    return q


def conversion_rates(params: WebFunnel) -> FloatArray:
    """Return the visit → purchase conversion rate by traffic channel and device."""
    result: FloatArray = _step_probabilities(params).prod(axis=2)
    return result


def _depth_given_no_purchase(q: FloatArray) -> FloatArray:
    """Return P(last step = visit … checkout | no purchase), shape (channels, devices, 4)."""
    reach = np.concatenate([np.ones((*q.shape[:2], 1)), np.cumprod(q, axis=2)], axis=2)
    stop_at = reach[:, :, :4] * (1.0 - q)
    result: FloatArray = stop_at / stop_at.sum(axis=2, keepdims=True)
    return result


def draw_web_events(
    rng: np.random.Generator,
    timeline: Timeline,
    customers: CustomerBase,
    orders: OrderBook,
    params: WebFunnel,
) -> WebEvents:
    """Draw the sessions behind the web orders and those that did not buy, and their events."""
    devices = tuple(params.device_share)
    q = _step_probabilities(params)
    conversion = q.prod(axis=2)
    depth_p = _depth_given_no_purchase(q)

    web_orders = np.flatnonzero(~orders.marketplace)
    first = orders.is_first[web_orders]
    to_traffic = {name: i for i, name in enumerate(TRAFFIC_CHANNELS)}
    # B2B accounts ("sales") place no web orders; map them anywhere valid.
    acq_traffic = np.array(
        [to_traffic.get(name, to_traffic["organic"]) for name in ACQUISITION_CHANNELS],
        dtype=np.int64,
    )
    repeat_names = tuple(params.repeat_order_channels)
    repeat_p = np.array([params.repeat_order_channels[c] for c in repeat_names], dtype=np.float64)
    repeat_codes = np.array([to_traffic[c] for c in repeat_names], dtype=np.int64)
    repeat_pick = repeat_codes[
        rng.choice(len(repeat_names), size=len(web_orders), p=repeat_p / repeat_p.sum())
    ]
    first_channel = acq_traffic[customers.channel[orders.customer[web_orders]]]
    channel = np.where(first, first_channel, repeat_pick)
    # P(device | purchase) ∝ P(device) × its conversion (conversion factorises by device).
    device_w = np.array([params.device_share[d] for d in devices]) * conversion[0]
    device = rng.choice(len(devices), size=len(web_orders), p=device_w / device_w.sum()).astype(
        np.int64
    )

    buying = np.zeros((len(TRAFFIC_CHANNELS), len(devices)), dtype=np.float64)
    np.add.at(buying, (channel, device), 1.0)
    not_buying = buying * (1.0 - conversion) / conversion
    events_if_not = (depth_p * np.arange(1, 5)).sum(axis=2)
    full_events = float((not_buying * events_if_not).sum() + 5.0 * buying.sum())
    budget = params.max_events_per_order * len(orders)
    rate = min(1.0, budget / full_events) if full_events > 0 else 1.0

    kept = rng.random(len(web_orders)) < rate
    s_start = [np.full(int(kept.sum()), -1, dtype=np.int64)]
    s_depth = [np.full(int(kept.sum()), 4, dtype=np.int64)]
    s_channel = [channel[kept]]
    s_device = [device[kept]]
    s_customer = [orders.customer[web_orders[kept]]]
    s_purchase = [orders.ordered_s[web_orders[kept]]]
    order_day_start = (orders.ordered_s[web_orders] // DAY) * DAY
    for ch in range(len(TRAFFIC_CHANNELS)):
        anchors = order_day_start[channel == ch]
        if len(anchors) == 0:
            continue
        for dv in range(len(devices)):
            m = int(rng.poisson(rate * not_buying[ch, dv]))
            s_depth.append(rng.choice(4, size=m, p=depth_p[ch, dv]).astype(np.int64))
            day = anchors[rng.integers(0, len(anchors), size=m)]
            s_start.append(day + rng.integers(0, DAY - 900, size=m))
            s_channel.append(np.full(m, ch, dtype=np.int64))
            s_device.append(np.full(m, dv, dtype=np.int64))
            s_customer.append(np.full(m, -1, dtype=np.int64))
            s_purchase.append(np.full(m, -1, dtype=np.int64))
    depth = np.concatenate(s_depth)
    start = np.concatenate(s_start)
    purchase_at = np.concatenate(s_purchase)

    # Events: gaps between steps; purchase sessions end exactly at the order.
    n_events = depth + 1
    session_of = np.repeat(np.arange(len(depth), dtype=np.int64), n_events)
    offsets = np.cumsum(n_events) - n_events
    step = np.arange(len(session_of), dtype=np.int64) - offsets[session_of]
    gaps = rng.exponential(params.step_gap_seconds_mean, len(session_of))
    gaps[step == 0] = 0.0
    elapsed = np.cumsum(gaps)
    elapsed -= elapsed[offsets][session_of]
    elapsed_s = np.floor(elapsed).astype(np.int64)
    last = elapsed_s[offsets + depth]
    start = np.where(purchase_at >= 0, purchase_at - last, start)
    occurred = np.clip(start[session_of] + elapsed_s, timeline.start_s, timeline.end_s - 1)

    session_rank = np.empty(len(depth), dtype=np.int64)
    session_rank[np.argsort(np.maximum(start, timeline.start_s), kind="stable")] = np.arange(
        len(depth)
    )
    session = session_rank[session_of]
    order = np.lexsort((step, session, occurred))
    return WebEvents(
        session=session[order],
        customer=np.concatenate(s_customer)[session_of][order],
        occurred_s=occurred[order],
        step=step[order],
        channel=np.concatenate(s_channel)[session_of][order],
        device=np.concatenate(s_device)[session_of][order],
        devices=devices,
        session_sample_rate=rate,
    )


def session_outcomes(events: WebEvents) -> SessionOutcomes:
    """Return each session's first event instant and whether it reached the purchase step.

    Small next to the events themselves, so the events can be dropped once written.
    """
    sessions = int(events.session.max()) + 1 if len(events) else 0
    first = np.full(sessions, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, events.session, events.occurred_s)
    purchased = np.zeros(sessions, dtype=np.bool_)
    purchased[events.session[events.step == STEPS.index("purchase")]] = True
    return SessionOutcomes(first_s=first, purchased=purchased)


def session_ids(sessions: IntArray, count: int) -> Any:
    """Return the ``session_id`` of session numbers ``sessions`` out of ``count`` sessions."""
    return col.ids("S", sessions + 1, max(7, len(str(count))))


def web_events_frame(events: WebEvents, customers: CustomerBase) -> pd.DataFrame:
    """Return the ``web_events`` table."""
    n = len(events)
    prefix, width = customer_ids(len(customers))
    sessions = int(events.session.max()) + 1 if n else 0
    anonymous = events.customer < 0
    return col.frame(
        {
            "event_id": col.ids("E", np.arange(1, n + 1, dtype=np.int64), max(8, len(str(n)))),
            "session_id": session_ids(events.session, sessions),
            "customer_id": col.ids(prefix, events.customer + 1, width, anonymous),
            "occurred_at": col.instants(events.occurred_s),
            "step": col.labels(STEPS, events.step),
            "channel": col.labels(TRAFFIC_CHANNELS, events.channel),
            "device": col.labels(events.devices, events.device),
        }
    )
