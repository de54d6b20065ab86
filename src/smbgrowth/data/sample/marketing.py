"""Daily paid-marketing spend that matches the customers it brought in.

For each paid channel the expected number of new customers on a day is the
web acquisition intensity of that day times the channel's share; the day's
spend is the channel's true cost per acquisition (CAC) times that expectation,
with multiplicative log-normal noise of mean one. Summed over a period,
spend ÷ new customers of the channel therefore estimates the true CAC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from smbgrowth.data.sample import columns as col
from smbgrowth.data.sample.customers import ACQUISITION_CHANNELS, CustomerBase
from smbgrowth.data.sample.params import Acquisition, Marketing
from smbgrowth.data.sample.timeline import Timeline

__all__ = ["SpendBook", "draw_marketing_spend", "expected_new_customers", "marketing_spend_frame"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SpendBook:
    """One row per day, paid channel and campaign; amounts in cents."""

    day: IntArray
    channel: tuple[str, ...]
    channel_of: IntArray
    campaigns: tuple[str, ...]
    campaign_of: IntArray
    spend: IntArray
    impressions: IntArray
    clicks: IntArray
    conversions: FloatArray

    def __len__(self) -> int:
        return len(self.day)


def _lognormal_mean_one(
    rng: np.random.Generator, sigma: float, size: int | tuple[int, ...]
) -> FloatArray:
    return rng.lognormal(-0.5 * sigma * sigma, sigma, size)


def expected_new_customers(
    timeline: Timeline,
    acquisition: Acquisition,
    web_customers: int,
    web_day_weights: FloatArray,
    channel: str,
) -> FloatArray:
    """Return the expected new web customers of ``channel`` on each day."""
    names = ACQUISITION_CHANNELS[:-1]
    start = np.array([acquisition.channel_share_start[c] for c in names], dtype=np.float64)
    end = np.array([acquisition.channel_share_end[c] for c in names], dtype=np.float64)
    i = names.index(channel)
    frac = np.arange(timeline.days, dtype=np.float64) / max(timeline.days - 1, 1)
    share = start[i] / start.sum() + frac * (end[i] / end.sum() - start[i] / start.sum())
    result: FloatArray = web_customers * web_day_weights / web_day_weights.sum() * share
    return result


def draw_marketing_spend(
    rng: np.random.Generator,
    timeline: Timeline,
    customers: CustomerBase,
    acquisition: Acquisition,
    params: Marketing,
    web_day_weights: FloatArray,
) -> SpendBook:
    """Draw daily spend, impressions, clicks and platform conversions per paid campaign."""
    web = customers.web
    web_day = timeline.day_index(customers.created_s[web])
    channels = tuple(params.cac)
    campaigns: list[str] = []
    parts: dict[str, list[npt.NDArray[np.generic]]] = {
        k: [] for k in ("day", "channel", "campaign", "spend", "impressions", "clicks", "conv")
    }
    days = np.arange(timeline.days, dtype=np.int64)
    for c, channel in enumerate(channels):
        expected = expected_new_customers(timeline, acquisition, len(web), web_day_weights, channel)
        code = ACQUISITION_CHANNELS.index(channel)
        actual = np.bincount(
            web_day[customers.channel[web] == code], minlength=timeline.days
        ).astype(np.float64)
        spend = (
            params.cac[channel]
            * expected
            * _lognormal_mean_one(rng, params.daily_spend_noise_sigma, timeline.days)
        )
        names = tuple(params.campaign_weights[channel])
        weights = np.array([params.campaign_weights[channel][k] for k in names], dtype=np.float64)
        split = weights[None, :] * _lognormal_mean_one(
            rng, params.campaign_noise_sigma, (timeline.days, len(names))
        )
        split /= split.sum(axis=1, keepdims=True)
        for k, name in enumerate(names):
            cents = np.rint(spend * split[:, k] * 100.0).astype(np.int64)
            impressions = np.rint(
                cents
                / 100.0
                / params.cpm[channel]
                * 1000.0
                * _lognormal_mean_one(rng, 0.1, timeline.days)
            ).astype(np.int64)
            clicks = rng.binomial(impressions, params.ctr[channel]).astype(np.int64)
            conversions = np.round(actual * split[:, k] * params.platform_attribution[channel], 2)
            parts["day"].append(days)
            parts["channel"].append(np.full(timeline.days, c, dtype=np.int64))
            parts["campaign"].append(np.full(timeline.days, len(campaigns), dtype=np.int64))
            parts["spend"].append(cents)
            parts["impressions"].append(impressions)
            parts["clicks"].append(clicks)
            parts["conv"].append(conversions)
            campaigns.append(name)
    return SpendBook(
        day=np.concatenate(parts["day"]).astype(np.int64),
        channel=channels,
        channel_of=np.concatenate(parts["channel"]).astype(np.int64),
        campaigns=tuple(campaigns),
        campaign_of=np.concatenate(parts["campaign"]).astype(np.int64),
        spend=np.concatenate(parts["spend"]).astype(np.int64),
        impressions=np.concatenate(parts["impressions"]).astype(np.int64),
        clicks=np.concatenate(parts["clicks"]).astype(np.int64),
        conversions=np.concatenate(parts["conv"]).astype(np.float64),
    )


def marketing_spend_frame(book: SpendBook, timeline: Timeline) -> pd.DataFrame:
    """Return the ``marketing_spend`` table."""
    dates = (book.day + timeline.start_s // 86_400).astype("datetime64[D]")
    return col.frame(
        {
            "date": col.numbers(dates),
            "channel": col.labels(book.channel, book.channel_of),
            "campaign": col.labels(book.campaigns, book.campaign_of),
            "spend": col.money(book.spend),
            "impressions": col.numbers(book.impressions),
            "clicks": col.numbers(book.clicks),
            "conversions": col.numbers(book.conversions),
        }
    )
