"""Sales & marketing metrics against hand-worked values and an independent pandas version.

The shop below reports in New York time. Customer C, order o3 and deal d2's close
are at 2024-01-31 23:30 New York (February in UTC) and must count in January.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import smbgrowth
from smbgrowth.data.workspace import Workspace
from smbgrowth.metrics import compute_metric
from smbgrowth.metrics.sales import FUNNEL_STEPS, LIFETIME_CAP_MONTHS, METRICS

ZONE = "America/New_York"
JAN31_NY_LATE = "2024-02-01T04:30:00Z"  # 2024-01-31 23:30 in New York

Key = tuple[str, ...]
Reference = dict[Key, float]


def _ts(values: list[str]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True))


def _frames() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D", "E", "F", "G"],
            "created_at": _ts(
                [
                    "2024-01-10T15:00:00Z",
                    "2024-01-20T15:00:00Z",
                    JAN31_NY_LATE,
                    "2024-02-15T15:00:00Z",
                    "2024-03-05T15:00:00Z",
                    "2024-03-20T15:00:00Z",
                    "2024-01-15T15:00:00Z",
                ]
            ),
            "acquisition_channel": [
                "google_ads",
                "facebook",
                "google_ads",
                "organic",
                "facebook",
                "google_ads",
                "bing",
            ],
            "segment": [
                "consumer",
                "business",
                "consumer",
                "consumer",
                "consumer",
                "consumer",
                "consumer",
            ],
            "country": ["US", "DE", "US", "US", "US", "US", "US"],
        }
    )
    spend = pd.DataFrame(
        {
            "date": pd.to_datetime(
                [
                    *("2024-01-05", "2024-02-10", "2024-03-10"),
                    *("2024-01-05", "2024-02-10"),
                    *("2024-02-10", "2024-01-05"),
                ]
            ).date,
            "channel": ["google_ads"] * 3 + ["facebook"] * 2 + ["tiktok", "bing"],
            "campaign": ["", "", "", "", "", "", ""],
            "spend": [100.0, 50.0, 30.0, 60.0, 0.0, 40.0, 0.0],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(1, 10)],
            "customer_id": ["A", "B", "C", "A", "D", "E", "F", "G", "A"],
            "ordered_at": _ts(
                [
                    "2024-01-10T16:00:00Z",
                    "2024-01-20T16:00:00Z",
                    JAN31_NY_LATE,
                    "2024-02-12T15:00:00Z",
                    "2024-02-15T16:00:00Z",
                    "2024-03-05T16:00:00Z",
                    "2024-03-20T16:00:00Z",
                    "2024-01-15T16:00:00Z",
                    "2024-03-02T15:00:00Z",
                ]
            ),
            "status": [
                "completed",
                "refunded",
                "completed",
                "partially_refunded",
                "completed",
                "completed",
                "cancelled",
                "completed",
                "completed",
            ],
            "total": [100.0, 50.0, 80.0, 60.0, 40.0, 70.0, 90.0, 30.0, 25.0],
            "refunded": [0.0, 50.0, 0.0, 20.0, 0.0, 0.0, 0.0, 0.0, None],
            "channel": ["web"] * 9,
        }
    )
    lines = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8", "o9"],
            "line_no": [1] * 9,
            "quantity": [2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            "unit_cost": [20.0, 10.0, 30.0, None, 10.0, 35.0, 40.0, 15.0, 10.0],
            "line_total": [100.0, 50.0, 80.0, 60.0, 40.0, 70.0, 90.0, 30.0, 25.0],
        }
    )
    events = [
        ("s1", "2024-01-10T15:00:00Z", "google_ads", FUNNEL_STEPS),
        ("s2", "2024-01-12T15:00:00Z", "organic", ("visit", "product_view")),
        ("s3", "2024-02-01T04:50:00Z", "organic", ("visit",)),
        ("s4", "2024-02-03T15:00:00Z", "google_ads", ("product_view", "add_to_cart")),
        ("s5", "2024-02-05T15:00:00Z", "google_ads", FUNNEL_STEPS[:4]),
        (None, "2024-02-06T15:00:00Z", None, ("visit",)),
    ]
    rows: list[dict[str, Any]] = []
    for session, at, channel, steps in events:
        for i, step in enumerate(steps):
            rows.append(
                {
                    "event_id": f"e{len(rows)}",
                    "session_id": session,
                    "occurred_at": pd.Timestamp(at) + pd.Timedelta(minutes=i),
                    "step": step,
                    "channel": channel,
                }
            )
    rows.append(  # an unknown step is ignored
        {
            "event_id": "e-odd",
            "session_id": "s9",
            "occurred_at": pd.Timestamp("2024-01-11T15:00:00Z"),
            "step": "newsletter_signup",
            "channel": "email",
        }
    )
    web = pd.DataFrame(rows)
    deals = pd.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3", "d4", "d5", "d6"],
            "customer_id": ["A", "B", "A", "C", "D", "B"],
            "created_at": _ts(
                [
                    "2024-01-05T15:00:00Z",
                    "2024-01-10T15:00:00Z",
                    "2024-01-20T12:00:00Z",
                    "2024-02-01T12:00:00Z",
                    "2024-02-10T15:00:00Z",
                    "2024-02-10T15:00:00Z",
                ]
            ),
            "closed_at": _ts(
                [
                    "2024-01-25T15:00:00Z",
                    JAN31_NY_LATE,
                    "2024-02-19T12:00:00Z",
                    "2024-02-11T12:00:00Z",
                    "2024-04-01T12:00:00Z",
                    "2024-02-20T15:00:00Z",
                ]
            ),
            "won": pd.array([True, False, True, True, None, True], dtype="boolean"),
            "amount": [1000.0, 500.0, 3000.0, 2000.0, 800.0, 4000.0],
            "stage": ["won", "lost", "won", "won", "proposal", "won"],
        }
    )
    # Stage history: d1, d3, d4, d6 went lead → proposal → won; d2 was lost after the
    # lead stage; d5 is still at proposal. One proposal (d6) is entered on Jan 31, 23:30
    # in New York, which is February in UTC.
    history = [
        ("d1", "lead", "2024-01-05T15:00:00Z"),
        ("d1", "proposal", "2024-01-15T15:00:00Z"),
        ("d1", "won", "2024-01-25T15:00:00Z"),
        ("d2", "lead", "2024-01-10T15:00:00Z"),
        ("d2", "lost", JAN31_NY_LATE),
        ("d3", "lead", "2024-01-20T12:00:00Z"),
        ("d3", "proposal", "2024-02-05T12:00:00Z"),
        ("d3", "won", "2024-02-19T12:00:00Z"),
        ("d4", "lead", "2024-02-01T12:00:00Z"),
        ("d4", "proposal", "2024-02-05T12:00:00Z"),
        ("d4", "won", "2024-02-11T12:00:00Z"),
        ("d5", "lead", "2024-02-10T15:00:00Z"),
        ("d5", "proposal", "2024-03-01T15:00:00Z"),
        ("d6", "lead", "2024-01-12T15:00:00Z"),
        ("d6", "proposal", JAN31_NY_LATE),
        ("d6", "won", "2024-02-20T15:00:00Z"),
    ]
    deal_stages = pd.DataFrame(history, columns=["deal_id", "stage", "entered_at"])
    deal_stages["entered_at"] = pd.to_datetime(deal_stages.entered_at, utc=True)
    return {
        "customers": customers,
        "marketing_spend": spend,
        "orders": orders,
        "order_lines": lines,
        "web_events": web,
        "deals": deals,
        "deal_stages": deal_stages,
    }


FRAMES = _frames()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = smbgrowth.init_workspace(tmp_path_factory.mktemp("shop"), currency="USD", time_zone=ZONE)
    for name, frame in FRAMES.items():
        ws.append(name, frame, source="test")
    try:
        yield ws
    finally:
        ws.close()


def _values(ws: Workspace, metric: str, **kwargs: Any) -> Reference:
    frame = compute_metric(ws, metric, **kwargs).frame
    keys = [c for c in frame.columns if c != "value"]
    return {tuple(str(r[k]) for k in keys): float(r["value"]) for _, r in frame.iterrows()}


def _same(got: Reference, want: Reference) -> None:
    """Every defined expected value is there; every other row has no value."""
    for key, value in want.items():
        assert key in got, (key, got)
        assert got[key] == pytest.approx(value, nan_ok=True), (key, got[key], value)
    for key, value in got.items():
        if key not in want:
            assert math.isnan(value), (key, value)


# -- an independent pandas version of each metric --------------------------------------------


def _local_month(s: pd.Series) -> pd.Series:
    months: pd.Series = s.dt.tz_convert(ZONE).dt.strftime("%Y-%m")
    return months


def _group(df: pd.DataFrame, grain: str, by: str | None) -> list[str]:
    keys = [] if grain == "total" else ["period"]
    return [*keys, *([by] if by else [])]


def _key(row_key: Any) -> Key:
    return tuple(str(k) for k in (row_key if isinstance(row_key, tuple) else (row_key,)))


def _sums(df: pd.DataFrame, keys: list[str], col: str) -> dict[Key, float]:
    if not keys:
        return {(): float(df[col].sum())}
    return {_key(k): float(v) for k, v in df.groupby(keys)[col].sum().items()}


def _divide(num: dict[Key, float], den: dict[Key, float]) -> Reference:
    out = {}
    for key in set(num) | set(den):
        n, d = num.get(key, np.nan), den.get(key, np.nan)
        if d and not np.isnan(d) and not np.isnan(n):
            out[key] = n / d
    return out


def _paid() -> set[str]:
    s = FRAMES["marketing_spend"]
    totals = s.groupby("channel")["spend"].sum()
    return set(totals[totals > 0].index)


def _customers(by: str | None) -> pd.DataFrame:
    c = FRAMES["customers"].rename(columns={"acquisition_channel": "channel"})
    return c if by == "channel" else c[c.channel.isin(_paid())]


def ref_spend(grain: str, by: str | None) -> dict[Key, float]:
    s = FRAMES["marketing_spend"].copy()
    s["period"] = pd.to_datetime(s["date"]).dt.strftime("%Y-%m")
    return _sums(s, _group(s, grain, by), "spend")


def ref_cac(grain: str, by: str | None) -> Reference:
    c = _customers(by).copy()
    c["period"], c["one"] = _local_month(c.created_at), 1.0
    spend = {k: v for k, v in ref_spend(grain, by).items() if v != 0}
    return _divide(spend, _sums(c, _group(c, grain, by), "one"))


def _sold_orders(by: str | None) -> pd.DataFrame:
    o = FRAMES["orders"]
    o = o[o.status.isin(["completed", "partially_refunded", "refunded"])].drop(columns="channel")
    o = o.merge(_customers(by), on="customer_id")
    o["net"] = o.total - o.refunded.fillna(0)
    o["period"] = _local_month(o.ordered_at)
    return o


def ref_roas(grain: str, by: str | None) -> Reference:
    o = _sold_orders(by)
    if grain != "total":
        o = o[o.period == _local_month(o.created_at)]
    revenue = _sums(o, _group(o, grain, by), "net")
    spend = ref_spend(grain, by)
    return _divide({k: revenue.get(k, 0.0) for k in spend}, spend)


def _economics(grain: str, by: str | None) -> dict[Key, dict[str, float]]:
    o = _sold_orders(by)
    lines = FRAMES["order_lines"]
    costed = lines[lines.unit_cost.notna()].assign(cost=lambda t: t.unit_cost * t.quantity)
    o = o.merge(costed[["order_id", "cost", "line_total"]], on="order_id", how="left")
    dim = [by] if by else []
    cm = o.groupby(["customer_id", "period", *dim], as_index=False).agg(
        revenue=("net", "sum"), cost=("cost", "sum"), costed=("line_total", "sum")
    )
    months = sorted(cm.period.unique())
    rows: list[dict[str, Any]] = []
    for _, r in cm.iterrows():
        rows.append({**{str(k): v for k, v in r.items()}, "cm": 1, "base": 0, "lost": 0})
        nxt = str(pd.Period(r.period, "M") + 1)
        if nxt <= months[-1]:
            bought = ((cm.customer_id == r.customer_id) & (cm.period == nxt)).any()
            rows.append(
                {
                    "period": nxt,
                    **({by: r[by]} if by else {}),
                    "revenue": 0.0,
                    "cost": 0.0,
                    "costed": 0.0,
                    "cm": 0,
                    "base": 1,
                    "lost": 0 if bought else 1,
                }
            )
    df = pd.DataFrame(rows)
    keys = _group(df, grain, by)
    groups = df.groupby(keys) if keys else [((), df)]
    return {
        _key(k): {c: float(g[c].sum()) for c in ("revenue", "cost", "costed", "cm", "base", "lost")}
        for k, g in groups
    }


def _unit(grain: str, by: str | None, margin: float | None) -> dict[Key, dict[str, float]]:
    cac = ref_cac(grain, by)
    out = {}
    for key, e in _economics(grain, by).items():
        if key not in cac or e["cm"] == 0:
            continue
        if margin is None and e["costed"] == 0:
            continue  # no order line with a cost: gross margin unknown
        m = margin if margin is not None else 1 - e["cost"] / e["costed"]
        gp = e["revenue"] / e["cm"] * m
        if gp != 0:
            out[key] = {"cac": cac[key], "gp": gp, **e}
    return out


def ref_payback(grain: str, by: str | None, margin: float | None = None) -> Reference:
    return {k: u["cac"] / u["gp"] for k, u in _unit(grain, by, margin).items()}


def ref_ltv_to_cac(grain: str, by: str | None, margin: float | None = None) -> Reference:
    out = {}
    for key, u in _unit(grain, by, margin).items():
        if u["base"] == 0:
            continue
        churn = u["lost"] / u["base"]
        lifetime = LIFETIME_CAP_MONTHS if churn == 0 else min(1 / churn, LIFETIME_CAP_MONTHS)
        out[key] = u["gp"] * lifetime / u["cac"]
    return out


def _sessions() -> pd.DataFrame:
    w = FRAMES["web_events"].copy()
    w = w[w.step.isin(FUNNEL_STEPS)]
    w["session"] = w.session_id.fillna("event:" + w.event_id)
    w["rank"] = w.step.map({s: i for i, s in enumerate(FUNNEL_STEPS)})
    s = w.groupby("session").agg(
        started=("occurred_at", "min"),
        channel=("channel", lambda c: c.fillna("(none)").max()),
        reached=("rank", "max"),
    )
    s["period"] = _local_month(s.started)
    return s


def ref_funnel(
    grain: str, by: str | None, step: str = "purchase", base: str = "visit"
) -> Reference:
    s = _sessions()
    s["num"] = (s.reached >= FUNNEL_STEPS.index(step)).astype(float)
    s["den"] = (s.reached >= FUNNEL_STEPS.index(base)).astype(float)
    keys = _group(s, grain, by)
    return _divide(_sums(s, keys, "num"), _sums(s, keys, "den"))


def _deals(by: str | None) -> pd.DataFrame:
    d = FRAMES["deals"].merge(FRAMES["customers"], on="customer_id", suffixes=("", "_c"))
    d = d.rename(columns={"acquisition_channel": "channel", "created_at_c": "joined"})
    d["closed_period"] = _local_month(d.closed_at)
    d["created_period"] = _local_month(d.created_at)
    return d


def _by_period(d: pd.DataFrame, col: str, grain: str, by: str | None) -> Any:
    d = d.assign(period=d[col])
    keys = _group(d, grain, by)
    return d.groupby(keys) if keys else [((), d)]


def ref_win_rate(grain: str, by: str | None) -> Reference:
    d = _deals(by)
    d = d[d.won.notna()]
    return {
        _key(k): float(g.won.astype(float).mean())
        for k, g in _by_period(d, "closed_period", grain, by)
    }


def ref_deal_size(grain: str, by: str | None) -> Reference:
    d = _deals(by)
    d = d[d.won.fillna(False).astype(bool)]
    return {_key(k): float(g.amount.mean()) for k, g in _by_period(d, "closed_period", grain, by)}


def ref_cycle(grain: str, by: str | None) -> Reference:
    d = _deals(by)
    d = d[d.won.fillna(False).astype(bool)]
    d["days"] = (d.closed_at - d.created_at).dt.total_seconds() / 86400
    return {_key(k): float(g.days.median()) for k, g in _by_period(d, "closed_period", grain, by)}


def ref_deal_conversion(grain: str, by: str | None) -> Reference:
    d = _deals(by)
    d["w"] = d.won.fillna(False).astype(float)
    return {_key(k): float(g.w.mean()) for k, g in _by_period(d, "created_period", grain, by)}


def ref_stage_conversion(grain: str, by: str | None) -> Reference:
    s = FRAMES["deal_stages"].copy()
    s = s[~s.stage.str.contains("lost")]
    s["pos"] = s.sort_values("entered_at").groupby("deal_id").cumcount() + 1
    order = s.groupby("stage").pos.mean().sort_values()
    ladder = list(order.index)
    reached = set(zip(s.deal_id, s.stage, strict=True))
    if by == "stage":
        step = s[s.stage != ladder[-1]].copy()
        step["converted"] = [
            float((d, ladder[ladder.index(st) + 1]) in reached)
            for d, st in zip(step.deal_id, step.stage, strict=True)
        ]
    else:
        step = s[s.stage == ladder[0]].copy()
        step["converted"] = [float((d, ladder[-1]) in reached) for d in step.deal_id]
    step["period"] = _local_month(step.entered_at)
    keys = (["period"] if grain == "month" else []) + (["stage"] if by == "stage" else [])
    if not keys:
        return {(): float(step.converted.mean())}
    return {_key(k): float(g.converted.mean()) for k, g in step.groupby(keys)}


REFERENCES: dict[str, tuple[Callable[[str, str | None], Reference], str]] = {
    "marketing_spend": (ref_spend, "channel"),
    "cac": (ref_cac, "channel"),
    "roas": (ref_roas, "channel"),
    "cac_payback_months": (ref_payback, "channel"),
    "ltv_to_cac": (ref_ltv_to_cac, "channel"),
    "funnel_conversion": (ref_funnel, "channel"),
    "funnel_step_conversion": (
        lambda grain, by: ref_funnel(grain, by, "purchase", "checkout"),
        "channel",
    ),
    "win_rate": (ref_win_rate, "segment"),
    "average_deal_size": (ref_deal_size, "segment"),
    "sales_cycle_days": (ref_cycle, "segment"),
    "deal_conversion": (ref_deal_conversion, "segment"),
    "stage_conversion": (ref_stage_conversion, "stage"),
}

# -- hand-worked values (New York months) ------------------------------------------------------

# Jan: CAC 160/3; ARPA 180/3; margin 1 − 90/230.  Mar: CAC 30/2; ARPA 95/2; margin 1 − 45/95.
# Total: CAC 280/5; ARPA 315/6; margin 1 − 135/325; churn = 2 lost of 4 → lifetime 2 months.
_GP_TOTAL = 315 / 6 * (1 - 135 / 325)
HAND: dict[tuple[str, str, str | None], Reference] = {
    ("marketing_spend", "month", None): {("2024-01",): 160, ("2024-02",): 90, ("2024-03",): 30},
    ("marketing_spend", "total", None): {(): 280},
    ("marketing_spend", "total", "channel"): {
        ("google_ads",): 180,
        ("facebook",): 60,
        ("tiktok",): 40,
        ("bing",): 0,
    },
    ("marketing_spend", "month", "channel"): {
        ("2024-01", "bing"): 0,
        ("2024-02", "facebook"): 0,
        ("2024-02", "tiktok"): 40,
        ("2024-03", "facebook"): 0,
    },
    ("cac", "month", None): {("2024-01",): 160 / 3, ("2024-03",): 15},
    ("cac", "total", None): {(): 56},
    ("cac", "month", "channel"): {("2024-01", "google_ads"): 50, ("2024-01", "facebook"): 60},
    ("cac", "total", "channel"): {("google_ads",): 60, ("facebook",): 30},
    ("roas", "month", None): {("2024-01",): 180 / 160, ("2024-02",): 0, ("2024-03",): 70 / 30},
    ("roas", "total", None): {(): 315 / 280},
    ("roas", "month", "channel"): {
        ("2024-01", "google_ads"): 1.8,
        ("2024-01", "facebook"): 0,
        ("2024-02", "tiktok"): 0,
    },
    ("roas", "total", "channel"): {
        ("google_ads",): 245 / 180,
        ("facebook",): 70 / 60,
        ("tiktok",): 0,
    },
    ("cac_payback_months", "month", None): {
        ("2024-01",): (160 / 3) / (60 * (1 - 90 / 230)),
        ("2024-03",): 0.6,
    },
    ("cac_payback_months", "total", None): {(): 56 / _GP_TOTAL},
    ("ltv_to_cac", "month", None): {("2024-03",): 25 * LIFETIME_CAP_MONTHS / 15},
    ("ltv_to_cac", "total", None): {(): _GP_TOTAL * 2 / 56},
    ("funnel_conversion", "month", None): {("2024-01",): 1 / 3, ("2024-02",): 0},
    ("funnel_conversion", "total", None): {(): 1 / 6},
    ("funnel_conversion", "total", "channel"): {
        ("google_ads",): 1 / 3,
        ("organic",): 0,
        ("(none)",): 0,
    },
    ("win_rate", "month", None): {("2024-01",): 0.5, ("2024-02",): 1.0},
    ("win_rate", "total", None): {(): 0.8},
    ("win_rate", "total", "segment"): {("consumer",): 1.0, ("business",): 0.5},
    ("average_deal_size", "month", None): {("2024-01",): 1000, ("2024-02",): 3000},
    ("average_deal_size", "total", None): {(): 2500},
    ("sales_cycle_days", "month", None): {("2024-01",): 20, ("2024-02",): 10},
    ("sales_cycle_days", "total", None): {(): 15},
    ("deal_conversion", "month", None): {("2024-01",): 2 / 3, ("2024-02",): 2 / 3},
    ("deal_conversion", "total", None): {(): 4 / 6},
    ("deal_conversion", "total", "segment"): {("consumer",): 0.75, ("business",): 0.5},
    # Leads: 6, of which 5 reached proposal; proposals: 5, of which 4 were won.
    ("stage_conversion", "total", "stage"): {("lead",): 5 / 6, ("proposal",): 4 / 5},
    ("stage_conversion", "total", None): {(): 4 / 6},
    # January leads d1, d2, d3, d6: all but d2 reached proposal. January proposals: d1
    # and d6 (23:30 on the 31st in New York), both won.
    ("stage_conversion", "month", "stage"): {
        ("2024-01", "lead"): 3 / 4,
        ("2024-01", "proposal"): 1.0,
        ("2024-02", "proposal"): 1.0,
        ("2024-03", "proposal"): 0.0,
    },
}


def _cases() -> list[tuple[str, str, str | None]]:
    return [
        (metric, grain, by)
        for metric, (_, dim) in REFERENCES.items()
        for grain in ("month", "total")
        for by in (None, dim)
    ]


def test_every_sales_metric_is_checked_and_well_described() -> None:
    assert {m.id for m in METRICS} == set(REFERENCES)
    for m in METRICS:
        assert m.driver == "sales & marketing"
        assert m.formula and m.convention and m.unit
        assert set(m.dimensions) <= {"segment", "channel", "country", "stage"}
        assert m.additive == (m.id == "marketing_spend"), m.id


@pytest.mark.parametrize(("metric", "grain", "by"), _cases())
def test_metric_matches_independent_pandas_computation(
    shop: Workspace, metric: str, grain: str, by: str | None
) -> None:
    reference, _ = REFERENCES[metric]
    want = reference(grain, by)
    if metric == "marketing_spend" and grain == "month":
        # additive: every channel has a row in every month, 0 where nothing was spent
        periods = {k[0] for k in want}
        channels = {k[-1] for k in want} if by else set()
        for p in periods:
            for ch in channels:
                want.setdefault((p, ch), 0.0)
    _same(_values(shop, metric, grain=grain, by=by), want)


@pytest.mark.parametrize(("metric", "grain", "by"), list(HAND))
def test_metric_matches_hand_worked_value(
    shop: Workspace, metric: str, grain: str, by: str | None
) -> None:
    got = _values(shop, metric, grain=grain, by=by)
    for key, value in HAND[(metric, grain, by)].items():
        assert got[key] == pytest.approx(value), (key, got[key], value)


@pytest.mark.parametrize(
    ("step", "base", "jan", "feb"),
    [
        ("product_view", "visit", 2 / 3, 2 / 3),  # s4 has no visit event but reached it
        ("add_to_cart", "product_view", 0.5, 1.0),
        ("checkout", "add_to_cart", 1.0, 0.5),
        ("purchase", "checkout", 1.0, 0.0),
    ],
)
def test_funnel_step_conversion_each_step(
    shop: Workspace, step: str, base: str, jan: float, feb: float
) -> None:
    got = _values(shop, "funnel_step_conversion", grain="month", options={"step": step})
    assert got == pytest.approx({("2024-01",): jan, ("2024-02",): feb})
    for by in (None, "channel"):
        for grain in ("month", "total"):
            want = ref_funnel(grain, by, step, base)
            _same(
                _values(shop, "funnel_step_conversion", grain=grain, by=by, options={"step": step}),
                want,
            )


def test_late_evening_new_york_counts_in_january(shop: Workspace) -> None:
    # C (created and ordering at 23:30 on Jan 31 New York) is January's third new customer
    # and its 80 are January revenue; d2 closed on Jan 31 and is January's lost deal.
    assert _values(shop, "cac", grain="month")[("2024-01",)] == pytest.approx(160 / 3)
    assert _values(shop, "roas", grain="month", by="channel")[
        ("2024-01", "google_ads")
    ] == pytest.approx((100 + 80) / 100)
    assert _values(shop, "win_rate", grain="month")[("2024-01",)] == pytest.approx(0.5)


def test_zero_spend_and_spend_without_customers_give_no_value(shop: Workspace) -> None:
    cac = _values(shop, "cac", grain="total", by="channel")
    assert math.isnan(cac[("bing",)])  # zero spend, one customer: undefined, not 0
    assert math.isnan(cac[("tiktok",)])  # spend, no customers: no value, not infinity
    assert math.isnan(cac[("organic",)])  # never paid for
    assert _values(shop, "marketing_spend", grain="total", by="channel")[("bing",)] == 0
    roas = _values(shop, "roas", grain="total", by="channel")
    assert math.isnan(roas[("bing",)]) and roas[("tiktok",)] == 0
    # bing is not a paid channel, so its customer G and G's order stay out of the overall
    assert _values(shop, "cac", grain="total")[()] == pytest.approx(280 / 5)


def test_refunds_are_subtracted_from_return_on_spend(shop: Workspace) -> None:
    # B's fully refunded order adds nothing to facebook's January return
    assert _values(shop, "roas", grain="month", by="channel")[("2024-01", "facebook")] == 0


def test_window_keeps_its_empty_months(shop: Workspace) -> None:
    window = {"start": date(2024, 2, 1), "end": date(2024, 4, 30)}
    spend = _values(shop, "marketing_spend", grain="month", **window)
    assert spend == {("2024-02",): 90, ("2024-03",): 30, ("2024-04",): 0}
    cac = _values(shop, "cac", grain="month", **window)
    assert list(cac) == [("2024-02",), ("2024-03",), ("2024-04",)]
    assert math.isnan(cac[("2024-02",)]) and math.isnan(cac[("2024-04",)])
    assert cac[("2024-03",)] == pytest.approx(15)
    # the January 31 evening order and deal stay out of a window starting February 1
    assert _values(shop, "win_rate", grain="total", **window) == {(): 1.0}
    assert _values(shop, "roas", grain="total", **window) == pytest.approx({(): 70 / 120})
    funnel = _values(shop, "funnel_conversion", grain="month", **window)
    assert funnel[("2024-02",)] == 0 and math.isnan(funnel[("2024-04",)])
    assert math.isnan(_values(shop, "ltv_to_cac", grain="month", **window)[("2024-04",)])


def test_assumed_gross_margin_option(shop: Workspace) -> None:
    payback = _values(shop, "cac_payback_months", grain="month", options={"gross_margin": "0.5"})
    assert payback[("2024-01",)] == pytest.approx((160 / 3) / (60 * 0.5))
    _same(payback, ref_payback("month", None, 0.5))
    ltv = _values(shop, "ltv_to_cac", grain="total", by="channel", options={"gross_margin": "1.0"})
    _same(ltv, ref_ltv_to_cac("total", "channel", 1.0))


def test_empty_workspace_gives_no_rows(tmp_path: Path) -> None:
    with smbgrowth.init_workspace(tmp_path / "ws", currency="USD", time_zone=ZONE) as ws:
        for m in METRICS:
            frame = compute_metric(ws, m.id, grain="month").frame
            assert frame.empty, m.id


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.dates(min_value=date(2024, 1, 1), max_value=date(2024, 6, 30)),
            st.sampled_from(["google_ads", "facebook", "tiktok", "bing"]),
            st.integers(min_value=0, max_value=100_000).map(lambda cents: cents / 100),
        ),
        min_size=1,
        max_size=30,
        unique_by=lambda row: (row[0], row[1]),
    )
)
def test_spend_split_by_channel_sums_to_the_total(rows: list[tuple[date, str, float]]) -> None:
    frame = pd.DataFrame(rows, columns=["date", "channel", "spend"]).assign(campaign="")
    with (
        tempfile.TemporaryDirectory() as tmp,
        smbgrowth.init_workspace(Path(tmp) / "ws", time_zone=ZONE) as ws,
    ):
        ws.append("marketing_spend", frame, source="test")
        for grain in ("month", "total"):
            whole = compute_metric(ws, "marketing_spend", grain=grain).frame
            split = compute_metric(ws, "marketing_spend", grain=grain, by="channel").frame
            if grain == "total":
                assert split["value"].sum() == pytest.approx(whole["value"].iloc[0])
                continue
            summed = split.groupby("period")["value"].sum()
            assert summed.to_dict() == pytest.approx(whole.set_index("period")["value"].to_dict())
