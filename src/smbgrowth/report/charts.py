"""Plotly figures for the report and the dashboard, as plain JSON-able dicts.

Every function takes a library result (a DataFrame, a ``to_dict()`` or a typed
result) and returns ``{"data": [...], "layout": {...}}`` for
``Plotly.newPlot(el, fig.data, fig.layout)``; nothing here imports plotly.

Plotly renders a subset of HTML inside text (``<b>``, ``<a href>``…), so every
string that comes from the business's data (products, segments, channels,
experiment ids, periods) goes through :func:`html.escape` before it enters a
figure: it is then shown as literal text. :func:`script_json` makes a figure safe
to embed in a ``<script type="application/json">`` element.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from smbgrowth.jsonsafe import json_safe
from smbgrowth.metrics.cohorts import CohortMatrix

__all__ = [
    "Figure",
    "cash_paths_figure",
    "clv_histogram_figure",
    "cohort_heatmap_figure",
    "experiment_lift_figure",
    "fan_chart_figure",
    "forecast_figure",
    "funnel_figure",
    "kpi_trend_figure",
    "npv_range_figure",
    "orders_aov_figure",
    "script_json",
    "segment_share_figure",
]

Figure = dict[str, Any]

BLUE = "#1f5fa8"
ORANGE = "#d9730d"
GREEN = "#2e8540"
GREY = "#6b7280"
_FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"


def _t(value: Any) -> str:
    """Data text made literal for Plotly: ``<b>`` shows as ``<b>``, not bold."""
    return html.escape(str(value), quote=True)


def _ts(values: Iterable[Any]) -> list[str]:
    return [_t(v) for v in values]


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _nums(values: Iterable[Any]) -> list[float | None]:
    return [_num(v) for v in values]


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _tickformat(unit: str) -> str:
    return {"ratio": ".0%", "currency": ",.0f"}.get(unit, ",.4~g")


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    """A clean layout that fits a phone: small margins, legend under the plot."""
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 15}, "x": 0.01, "xanchor": "left"},
        "font": {"family": _FONT, "size": 12, "color": "#1f2933"},
        "margin": {"l": 56, "r": 16, "t": 44, "b": 40},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "legend": {"orientation": "h", "y": -0.18, "x": 0},
        "hovermode": "x unified",
        "xaxis": {"gridcolor": "#eef0f3", "automargin": True},
        "yaxis": {"gridcolor": "#eef0f3", "automargin": True, "rangemode": "tozero"},
        "autosize": True,
    }
    layout.update(extra)
    return layout


def kpi_trend_figure(frame: pd.DataFrame, *, title: str, unit: str) -> Figure:
    """A metric by period as a line: ``frame`` is a ``compute_metric(...).frame``
    (columns ``period`` and ``value``)."""
    layout = _layout(_t(title))
    layout["yaxis"] = {**layout["yaxis"], "tickformat": _tickformat(unit)}
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _t(title),
                "x": _ts(frame["period"]),
                "y": _nums(frame["value"]),
                "line": {"color": BLUE, "width": 2},
                "marker": {"size": 5},
            }
        ],
        "layout": layout,
    }


def orders_aov_figure(orders: pd.DataFrame, aov: pd.DataFrame, *, currency: str) -> Figure:
    """Orders (bars) and average order value (line, right axis) by period, from two
    ``compute_metric(...).frame`` tables."""
    layout = _layout("Orders and average order value")
    layout["yaxis2"] = {
        "overlaying": "y",
        "side": "right",
        "rangemode": "tozero",
        "showgrid": False,
        "title": {"text": _t(f"AOV ({currency})")},
    }
    layout["margin"] = {**layout["margin"], "r": 56}
    return {
        "data": [
            {
                "type": "bar",
                "name": "orders",
                "x": _ts(orders["period"]),
                "y": _nums(orders["value"]),
                "marker": {"color": _rgba(BLUE, 0.55)},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "average order value",
                "x": _ts(aov["period"]),
                "y": _nums(aov["value"]),
                "yaxis": "y2",
                "line": {"color": ORANGE, "width": 2},
            },
        ],
        "layout": layout,
    }


def cohort_heatmap_figure(matrix: CohortMatrix) -> Figure:
    """The retention triangle as a heatmap: cohorts down, age across, share in colour."""
    shares = matrix.shares.where(matrix.counts.notna())
    z = [
        [None if pd.isna(v) else round(float(v) * 100, 1) for v in row] for row in shares.to_numpy()
    ]
    what = "customers still buying" if matrix.measure == "customers" else "revenue retained"
    layout = _layout(
        _t(f"Share of each {matrix.grain}'s cohort: {what}"),
        hovermode="closest",
        height=max(320, 22 * len(z) + 120),
    )
    layout["xaxis"] = {"title": {"text": f"{matrix.grain}s since first order"}, "dtick": 1}
    layout["yaxis"] = {"autorange": "reversed", "type": "category", "automargin": True}
    return {
        "data": [
            {
                "type": "heatmap",
                "z": z,
                "x": [int(a) for a in shares.columns],
                "y": _ts(shares.index),
                "colorscale": "Blues",
                # Plotly's "Blues" runs dark to light: higher retention is the darker blue.
                "reversescale": True,
                "zmin": 0,
                "zmax": 100 if matrix.measure == "customers" else None,
                "hoverongaps": False,
                "hovertemplate": "cohort %{y}, age %{x}: %{z:.0f}%<extra></extra>",
                "colorbar": {"ticksuffix": "%", "thickness": 12},
            }
        ],
        "layout": layout,
    }


def funnel_figure(steps: Sequence[str], shares: Sequence[float | None]) -> Figure:
    """Share of sessions reaching each funnel step (first step = 100 %)."""
    return {
        "data": [
            {
                "type": "funnel",
                "y": _ts(steps),
                "x": [None if s is None else round(100 * s, 2) for s in shares],
                "texttemplate": "%{x:.1f}%",
                "marker": {"color": BLUE},
                "hovertemplate": "%{y}: %{x:.1f}% of sessions<extra></extra>",
            }
        ],
        "layout": _layout("Sessions reaching each step", hovermode="closest"),
    }


def segment_share_figure(segments: Sequence[Mapping[str, Any]]) -> Figure:
    """Each segment's share of customers and of revenue (``Segmentation.to_dict()["segments"]``)."""
    names = _ts(s["segment"] for s in segments)
    layout = _layout("Segments: share of customers and of revenue", barmode="group")
    layout["yaxis"] = {**layout["yaxis"], "tickformat": ".0%"}
    return {
        "data": [
            {
                "type": "bar",
                "name": "customers",
                "x": names,
                "y": _nums(s["customer_share"] for s in segments),
                "marker": {"color": BLUE},
            },
            {
                "type": "bar",
                "name": "revenue",
                "x": names,
                "y": _nums(s["revenue_share"] for s in segments),
                "marker": {"color": ORANGE},
            },
        ],
        "layout": layout,
    }


def clv_histogram_figure(clv: pd.Series, *, currency: str, horizon_months: int = 12) -> Figure:
    """How customers' predicted value spreads: a histogram of CLV (``predict_customers().clv``)."""
    values = np.asarray(clv, dtype="float64")
    values = values[np.isfinite(values)]
    layout = _layout(
        _t(f"Customer value over the next {horizon_months} months ({currency})"),
        hovermode="closest",
        bargap=0.05,
    )
    layout["xaxis"] = {**layout["xaxis"], "title": {"text": _t(f"CLV ({currency})")}}
    layout["yaxis"] = {**layout["yaxis"], "title": {"text": "customers"}}
    # Binned here, not in the browser: a chart of 300,000 customers stays a few kB. The
    # tail beyond the 99th percentile is folded into the last bin (its label says so).
    if values.size == 0:
        return {"data": [], "layout": layout}
    low, top = float(values.min()), float(np.percentile(values, 99))
    if top <= low:
        top = low + 1.0
    counts, edges = np.histogram(np.clip(values, low, top), bins=40, range=(low, top))
    centres = (edges[:-1] + edges[1:]) / 2
    labels = [f"{a:,.0f}–{b:,.0f}" for a, b in pairwise(edges)]
    labels[-1] = f"≥ {edges[-2]:,.0f}"
    return {
        "data": [
            {
                "type": "bar",
                "x": [round(float(c), 2) for c in centres],
                "y": [int(n) for n in counts],
                "width": float(edges[1] - edges[0]),
                "customdata": labels,
                "hovertemplate": "%{customdata}: %{y} customers<extra></extra>",
                "marker": {"color": BLUE},
                "name": "customers",
            }
        ],
        "layout": layout,
    }


def experiment_lift_figure(comparisons: Sequence[Mapping[str, Any]], *, title: str) -> Figure:
    """Relative lift of each variant on each metric with its 95 % interval (error bars);
    ``comparisons`` are the ``comparisons`` of an experiment result's ``to_dict()["metrics"]``."""
    labels, lifts, plus, minus, colours = [], [], [], [], []
    for c in comparisons:
        lift = _num(c.get("rel_lift"))
        lo, hi = (c.get("rel_ci") or [None, None])[:2]
        lo_n, hi_n = _num(lo), _num(hi)
        labels.append(_t(f"{c['metric']}: {c['variant']} vs {c['control']}"))
        lifts.append(lift)
        plus.append(None if lift is None or hi_n is None else max(hi_n - lift, 0.0))
        minus.append(None if lift is None or lo_n is None else max(lift - lo_n, 0.0))
        verdict = str(c.get("verdict", ""))
        colours.append(GREEN if "better" in verdict or verdict == "win" else GREY)
    layout = _layout(_t(title), hovermode="closest")
    layout["xaxis"] = {
        "tickformat": ".0%",
        "zeroline": True,
        "zerolinecolor": "#9aa5b1",
        "title": {"text": "relative lift (95% interval)"},
        "gridcolor": "#eef0f3",
    }
    layout["yaxis"] = {"automargin": True, "type": "category"}
    layout["height"] = max(220, 60 * len(labels) + 120)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "orientation": "h",
                "x": lifts,
                "y": labels,
                "marker": {"size": 11, "color": colours},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": plus,
                    "arrayminus": minus,
                    "thickness": 2,
                    "color": GREY,
                },
                "hovertemplate": "%{y}: %{x:+.1%}<extra></extra>",
                "name": "lift",
            }
        ],
        "layout": layout,
    }


def forecast_figure(series: Mapping[str, Any], *, title: str, unit: str = "currency") -> Figure:
    """Actuals, then the forecast's mean with 80 % and 95 % bands; ``series`` is one item
    of ``forecast_metric(...).to_dict()["series"]``."""
    actuals = series.get("actuals") or []
    rows = series.get("forecast") or []
    periods = _ts(str(r["period"])[:7] for r in rows)
    layout = _layout(_t(title))
    layout["yaxis"] = {**layout["yaxis"], "tickformat": _tickformat(unit)}
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "actual",
            "x": _ts(str(r["period"])[:7] for r in actuals),
            "y": _nums(r["y"] for r in actuals),
            "line": {"color": "#1f2933", "width": 2},
        }
    ]
    for level, alpha in (("95", 0.15), ("80", 0.3)):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": periods,
                "y": _nums(r[f"lo_{level}"] for r in rows),
                "line": {"width": 0},
                "showlegend": False,
                "hoverinfo": "skip",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{level}% interval",
                "x": periods,
                "y": _nums(r[f"hi_{level}"] for r in rows),
                "fill": "tonexty",
                "fillcolor": _rgba(BLUE, alpha),
                "line": {"width": 0},
                "hoverinfo": "skip",
            }
        )
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": _t(f"forecast ({series.get('model', '')})"),
            "x": periods,
            "y": _nums(r["mean"] for r in rows),
            "line": {"color": BLUE, "width": 2, "dash": "dot"},
        }
    )
    return {"data": data, "layout": layout}


def cash_paths_figure(projection: Mapping[str, Any]) -> Figure:
    """The bank balance by period with the p10–p90 band and the median
    (``project_cash(...).to_dict()``)."""
    periods = projection.get("periods") or []
    x = _ts(p["period"] for p in periods)
    currency = projection.get("currency", "")
    layout = _layout(_t(f"Cash balance by {projection.get('grain', 'week')} ({currency})"))
    layout["yaxis"] = {**layout["yaxis"], "tickformat": ",.0f", "rangemode": "normal"}
    layout["shapes"] = [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": 0,
            "y1": 0,
            "line": {"color": "#c0392b", "width": 1, "dash": "dash"},
        }
    ]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": "p10",
                "x": x,
                "y": _nums(p["p10"] for p in periods),
                "line": {"color": _rgba(BLUE, 0.6), "width": 1},
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "p90",
                "x": x,
                "y": _nums(p["p90"] for p in periods),
                "fill": "tonexty",
                "fillcolor": _rgba(BLUE, 0.18),
                "line": {"color": _rgba(BLUE, 0.6), "width": 1},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "median",
                "x": x,
                "y": _nums(p["p50"] for p in periods),
                "line": {"color": BLUE, "width": 2},
            },
        ],
        "layout": layout,
    }


_SCENARIO_COLOURS = (GREY, ORANGE, GREEN, BLUE)


def fan_chart_figure(trajectories: pd.DataFrame, measure: str, *, title: str) -> Figure:
    """Fan chart of one measure (``revenue``, ``customers``, ``cash``…) for every scenario:
    the p10–p90 band and the median by month (``SimulationResult.trajectories``)."""
    data: list[dict[str, Any]] = []
    for i, (name, rows) in enumerate(trajectories.groupby("scenario", sort=False)):
        colour = _SCENARIO_COLOURS[i % len(_SCENARIO_COLOURS)]
        x = _ts(rows["month"])
        label = _t(name)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": x,
                "y": _nums(rows[f"{measure}_p10"]),
                "line": {"width": 0},
                "showlegend": False,
                "hoverinfo": "skip",
                "legendgroup": label,
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{label} p10–p90",
                "x": x,
                "y": _nums(rows[f"{measure}_p90"]),
                "fill": "tonexty",
                "fillcolor": _rgba(colour, 0.18),
                "line": {"width": 0},
                "hoverinfo": "skip",
                "legendgroup": label,
                "showlegend": False,
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": label,
                "x": x,
                "y": _nums(rows[f"{measure}_p50"]),
                "line": {"color": colour, "width": 2},
                "legendgroup": label,
            }
        )
    layout = _layout(_t(title))
    layout["yaxis"] = {**layout["yaxis"], "tickformat": ",.0f", "rangemode": "normal"}
    return {"data": data, "layout": layout}


def npv_range_figure(opportunities: Sequence[Mapping[str, Any]], *, currency: str) -> Figure:
    """Each opportunity's NPV: median dot with its p10–p90 range (``AutomationPlan.to_dict()``
    ``opportunities``, best first)."""
    names, mid, plus, minus = [], [], [], []
    for o in opportunities:
        npv = o["roi"]["npv"]
        p10, p50, p90 = _num(npv["p10"]), _num(npv["p50"]), _num(npv["p90"])
        names.append(_t(f"{o['rank']}. {o['name']}"))
        mid.append(p50)
        plus.append(None if p50 is None or p90 is None else max(p90 - p50, 0.0))
        minus.append(None if p50 is None or p10 is None else max(p50 - p10, 0.0))
    layout = _layout(_t(f"NPV of each opportunity ({currency}; median, p10–p90)"))
    layout["hovermode"] = "closest"
    layout["xaxis"] = {
        "tickformat": ",.0f",
        "zeroline": True,
        "zerolinecolor": "#9aa5b1",
        "gridcolor": "#eef0f3",
    }
    layout["yaxis"] = {"autorange": "reversed", "automargin": True, "type": "category"}
    layout["height"] = max(260, 34 * len(names) + 110)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "x": mid,
                "y": names,
                "marker": {"size": 10, "color": BLUE},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": plus,
                    "arrayminus": minus,
                    "color": GREY,
                    "thickness": 2,
                },
                "hovertemplate": "%{y}: %{x:,.0f}<extra></extra>",
                "name": "NPV",
            }
        ],
        "layout": layout,
    }


_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_json(value: Any) -> str:
    """JSON text safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&``
    are ``\\u`` escapes, so ``</script>`` in the data cannot close the element."""
    text = json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in _SCRIPT_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text
