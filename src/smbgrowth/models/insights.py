"""Insights: change points, anomalies and lead–lag relations in monthly metrics.

The pure functions take pandas Series indexed by period label (``"2024-03"``)
and return :class:`Insight` objects whose sentence carries its numbers;
:func:`find_insights` fetches the metrics of a workspace and ranks everything
they find by a z-like score, so the three kinds can be compared:

- change points: ruptures' PELT on a piecewise-linear cost (Killick et al. 2012),
  with a BIC-like penalty ``k·log(n)·σ²`` scaled to the series' own noise;
- anomalies: robust z-scores (median/MAD) of STL residuals (Cleveland et al.
  1990) when there are two full seasons, of month-over-month changes otherwise;
- lead–lag: Pearson correlation of the (log-)differenced series at lags
  ``0..max_lag``, scored by Fisher's z.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import ruptures as rpt
from statsmodels.tsa.seasonal import STL

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MetricError
from smbgrowth.metrics.registry import compute_metric, get_metric
from smbgrowth.metrics.scorecard import latest_complete_month

__all__ = [
    "ANOMALY_Z",
    "CHANGE_PENALTY_K",
    "DEFAULT_METRICS",
    "LEAD_LAG_MIN_N",
    "LEAD_LAG_MIN_R",
    "LEAD_LAG_MIN_Z",
    "MIN_POINTS",
    "PREWHITEN_ORDER",
    "SEASONAL_MIN_STRENGTH",
    "WARM_UP_SHARE",
    "Insight",
    "InsightKind",
    "anomalies",
    "change_points",
    "find_insights",
    "lead_lag",
    "monthly_series",
    "seasonal_strength",
    "seasonally_adjusted",
]

InsightKind = Literal["change_point", "anomaly", "lead_lag"]

#: Metrics :func:`find_insights` looks at unless told otherwise.
DEFAULT_METRICS: tuple[str, ...] = (
    "new_customers",
    "active_customers",
    "sessions",
    "leads",
    "revenue_net",
    "orders",
    "aov",
    "resolution_hours_median",
    "tickets_per_100_orders",
    "mrr",
    "customer_churn_rate",
    "cac",
    "marketing_spend",
    "operating_expenses",
)
#: Least STL seasonal strength (Wang, Smith & Hyndman 2006) for which series are adjusted.
SEASONAL_MIN_STRENGTH = 0.7
#: Fewest points a series needs before any insight is looked for.
MIN_POINTS = 8
#: Robust z-score above which a point is an anomaly (Iglewicz & Hoaglin 1993).
ANOMALY_Z = 3.5
#: Multiplier ``k`` of the change-point penalty ``k·log(n)·σ²``: a linear segment
#: has an intercept, a slope and its break, hence 3.
CHANGE_PENALTY_K = 3.0
#: Smallest |jump| / σ reported as a step (smaller breaks are reported as a change of trend).
STEP_MIN_Z = 2.0
#: Order of the autoregressive prewhitening filter used by :func:`lead_lag`.
PREWHITEN_ORDER = 3
#: Lead–lag relations need |r| at least this large ...
LEAD_LAG_MIN_R = 0.5
#: ... on at least this many paired changes ...
LEAD_LAG_MIN_N = 12
#: ... with Fisher's z at least this large (about p < 0.003, so that trying several
#: lags rarely finds a relation between unrelated series).
LEAD_LAG_MIN_Z = 3.0
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Insight:
    """One finding about a metric, with a sentence a business owner can read.

    Attributes
    ----------
    kind
        ``change_point``, ``anomaly`` or ``lead_lag``.
    metric
        The metric the finding is about (for ``lead_lag``, the one that follows).
    period
        The period it happened in (for ``lead_lag``, the last period compared).
    score
        Strength as a z-like statistic; larger is stronger, used for ranking.
    sentence
        Plain sentence with the numbers.
    related
        For ``lead_lag``, the metric that leads; otherwise None.
    details
        The numbers behind the sentence.
    """

    kind: InsightKind
    metric: str
    period: str | None
    score: float
    sentence: str
    related: str | None = None
    details: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The insight as JSON-ready data."""
        return asdict(self)


# -- helpers ---------------------------------------------------------------------------


def _capitalised(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _fmt(value: float) -> str:
    """A number with about three significant digits and thousands separators."""
    v = abs(value)
    if v >= 100 or v == 0:
        text = f"{value:,.0f}"
    elif v >= 10:
        text = f"{value:.1f}"
    elif v >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    return text


def _clean(series: pd.Series) -> pd.Series:
    """Finite float values in period order, labels as strings."""
    s = pd.Series(pd.to_numeric(series, errors="coerce"), dtype="float64")
    s.index = [str(i) for i in series.index]
    s = s.sort_index()
    finite: pd.Series = s[np.isfinite(s.to_numpy())]
    return finite


#: A positive series starts once it first reaches this share of its median: the
#: months before are the business switching the measure on (the first subscribers,
#: the first ad budget), not anomalies or steps of an established business.
WARM_UP_SHARE = 0.25


def _warmed_up(series: pd.Series) -> pd.Series:
    """The series from the first month it reaches WARM_UP_SHARE of its median."""
    values = series.to_numpy()
    if len(values) == 0 or (values < 0).any():
        return series
    level = WARM_UP_SHARE * float(np.median(values))
    reached = np.flatnonzero(values >= level)
    return series.iloc[int(reached[0]) :] if len(reached) else series


def _robust_sigma(values: np.ndarray) -> float:
    """Standard deviation estimated as 1.4826 · MAD (consistent for normal noise)."""
    mad = float(np.median(np.abs(values - np.median(values))))
    return _MAD_TO_SIGMA * mad


def _robust_z(values: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """``(v − median) / (1.4826·MAD)``, median and MAD of ``reference`` (default: values)."""
    ref = values if reference is None else reference
    sigma = _robust_sigma(ref)
    if sigma <= 0:
        return np.zeros_like(values)
    z: np.ndarray = (values - np.median(ref)) / sigma
    return z


def _stl(y: np.ndarray, period: int) -> Any:
    """STL fit with a locally constant seasonal (``seasonal_deg=0``), no robustness loop.

    With only two to four seasons, the default locally linear seasonal and
    STL's robustness iterations fit most points exactly, so the residuals'
    MAD collapses and every month looks anomalous; robustness to outliers
    comes from the median/MAD z-score applied to the residuals instead.
    """
    return STL(y, period=period, seasonal_deg=0, robust=False).fit()


def _outlier_resistant_stl(
    y: np.ndarray, period: int, threshold: float
) -> tuple[np.ndarray, float, float]:
    """STL fit (trend + seasonal) that outliers do not leak into, residual median and scale.

    Outliers are set aside one at a time, largest robust z first, and replaced
    by the fitted value before refitting, so a spike does not raise the
    seasonal of the same month in other years (at most one point in eight).
    """
    flagged = np.zeros(len(y), dtype=bool)
    work = y.copy()
    fitted = y.copy()
    for _ in range(len(y) // 8 + 3):
        result = _stl(work, period)
        fitted = np.asarray(result.trend) + np.asarray(result.seasonal)
        resid = y - fitted
        z = np.where(flagged, 0.0, np.abs(_robust_z(resid, resid[~flagged])))
        worst = int(np.argmax(z))
        grew = bool(z[worst] > threshold and flagged.sum() < len(y) // 8)
        if grew:
            flagged[worst] = True
        refreshed = y.copy()
        refreshed[flagged] = fitted[flagged]
        if not grew and np.allclose(refreshed, work):
            break
        work = refreshed
    clean = (y - fitted)[~flagged]
    return fitted, float(np.median(clean)), _robust_sigma(clean)


def seasonal_strength(series: pd.Series, period: int = 12) -> float:
    """Strength of seasonality in [0, 1]: ``max(0, 1 − var(R) / var(S + R))`` of an STL fit.

    The measure of Wang, Smith & Hyndman (2006); 0 when shorter than two seasons.
    """
    values = series.to_numpy(dtype="float64")
    if len(values) < 2 * period or not np.all(np.isfinite(values)):
        return 0.0
    y = np.log(values) if np.all(values > 0) else values
    result = _stl(y, period)
    resid, seasonal = np.asarray(result.resid), np.asarray(result.seasonal)
    total = float(np.var(seasonal + resid))
    return 0.0 if total <= 0 else max(0.0, 1.0 - float(np.var(resid)) / total)


def seasonally_adjusted(
    series: pd.Series, period: int = 12, *, min_strength: float = SEASONAL_MIN_STRENGTH
) -> pd.Series | None:
    """The series with its seasonal component removed by STL, or None if it has none.

    Uses STL (Cleveland et al. 1990) with a locally constant seasonal, on
    logarithms when every value is positive (seasonality that grows with the
    business). Returns None when the series is shorter than two full seasons
    or its :func:`seasonal_strength` is below ``min_strength``, so that steps
    in a non-seasonal series are not smeared into a fake seasonal pattern.

    Parameters
    ----------
    series
        Values indexed by period label, in period order, without gaps.
    period
        Season length in periods (12 for months).
    min_strength
        Least seasonal strength worth removing.

    References
    ----------
    .. [1] Cleveland, Cleveland, McRae & Terpenning (1990). STL: A Seasonal-Trend
       Decomposition Procedure Based on Loess. *Journal of Official Statistics* 6(1), 3–73.
    .. [2] Wang, Smith & Hyndman (2006). Characteristic-Based Clustering for Time
       Series Data. *Data Mining and Knowledge Discovery* 13(3), 335–364.
    """
    values = series.to_numpy(dtype="float64")
    if len(values) < 2 * period or not np.all(np.isfinite(values)):
        return None
    if seasonal_strength(series, period) < min_strength:
        return None
    use_log = bool(np.all(values > 0))
    y = np.log(values) if use_log else values
    adjusted = y - np.asarray(_stl(y, period).seasonal)
    return pd.Series(np.exp(adjusted) if use_log else adjusted, index=series.index)


# -- change points ---------------------------------------------------------------------


def _line(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of the least-squares line (flat for one point)."""
    if len(t) < 2:
        return 0.0, float(y[0])
    slope, intercept = np.polyfit(t, y, 1)
    return float(slope), float(intercept)


def change_points(
    series: pd.Series,
    *,
    name: str = "the metric",
    metric: str = "",
    per_month: bool = True,
    penalty_k: float = CHANGE_PENALTY_K,
    min_size: int = 3,
    period: int = 12,
) -> list[Insight]:
    """Breaks in level or trend of a series, found by PELT.

    The series is seasonally adjusted first when it covers two full seasons
    and is seasonal, and taken in logarithms when positive (so steady
    percentage growth is one straight segment). PELT (Killick et al. 2012, as
    implemented by ruptures) segments it with a piecewise-linear least-squares
    cost and the BIC-like penalty
    ``penalty_k · log(n) · σ²``, where σ is the noise level estimated robustly
    from first differences (``1.4826 · MAD(Δy) / √2``), so a trend alone is not
    a break. Each break becomes a "stepped up/down" sentence when the level
    jumps by at least :data:`STEP_MIN_Z` σ, else a "trend changed" sentence.

    Parameters
    ----------
    series
        Values indexed by period label; fewer than :data:`MIN_POINTS` finite
        values give no insights.
    name
        How the metric is called in sentences, e.g. ``"new customers"``.
    metric
        Metric id stored in the insights.
    per_month
        Say "a month" after values (for counts and money per period).
    penalty_k
        Multiplier of the penalty.
    min_size
        Fewest periods in a segment.
    period
        Season length used for the seasonal adjustment.

    Returns
    -------
    list of Insight
        One per break, in period order; ``score`` is the larger of |jump|/σ and
        the change of slope over the shorter segment divided by σ.

    References
    ----------
    .. [1] Killick, Fearnhead & Eckley (2012). Optimal Detection of Changepoints
       With a Linear Computational Cost. *JASA* 107(500), 1590–1598.
    """
    s = _clean(series)
    n = len(s)
    if n < max(MIN_POINTS, 2 * min_size):
        return []
    adjusted = seasonally_adjusted(s, period)
    level = (adjusted if adjusted is not None else s).to_numpy(dtype="float64")
    use_log = bool(np.all(level > 0))
    y = np.log(level) if use_log else level
    sigma = _robust_sigma(np.diff(y)) / math.sqrt(2)
    if sigma <= 0:
        sigma = float(np.std(np.diff(y))) / math.sqrt(2)
    if sigma <= 0:
        return []
    t = np.arange(n, dtype="float64")
    signal = np.column_stack([y, np.ones(n), t])
    algo = rpt.Pelt(model="linear", min_size=min_size, jump=1).fit(signal)
    breaks = [b for b in algo.predict(pen=penalty_k * math.log(n) * sigma**2) if b < n]
    bounds = [0, *breaks, n]
    suffix = " a month" if per_month else ""
    labels = list(s.index)
    out: list[Insight] = []
    for i, b in enumerate(breaks):
        a, c = bounds[i], bounds[i + 2]
        slope0, icpt0 = _line(t[a:b], y[a:b])
        slope1, icpt1 = _line(t[b:c], y[b:c])
        before = slope0 * (b - 1) + icpt0
        after = slope1 * b + icpt1
        jump = after - before
        if use_log:
            before, after = math.exp(before), math.exp(after)
        shorter = min(b - a, c - b)
        jump_z = abs(jump) / sigma
        slope_z = abs(slope1 - slope0) * shorter / sigma
        score = max(jump_z, slope_z)
        if jump_z >= STEP_MIN_Z:
            way = "up" if jump > 0 else "down"
            sentence = (
                f"{name} stepped {way} from {_fmt(before)} to {_fmt(after)}{suffix} in {labels[b]}"
            )
        elif use_log:
            sentence = (
                f"{name} changed trend in {labels[b]}: from {math.expm1(slope0):+.1%} to "
                f"{math.expm1(slope1):+.1%} a month"
            )
        else:
            sentence = (
                f"{name} changed trend in {labels[b]}: from {slope0:+,.3g} to "
                f"{slope1:+,.3g} a month"
            )
        if adjusted is not None:
            sentence += " (seasonally adjusted)"
        out.append(
            Insight(
                "change_point",
                metric,
                labels[b],
                round(score, 3),
                sentence,
                details={
                    "before": before,
                    "after": after,
                    "slope_before": slope0,
                    "slope_after": slope1,
                    "sigma": sigma,
                },
            )
        )
    return out


# -- anomalies -------------------------------------------------------------------------


def anomalies(
    series: pd.Series,
    period: int = 12,
    *,
    name: str = "the metric",
    metric: str = "",
    threshold: float = ANOMALY_Z,
) -> list[Insight]:
    """Periods whose value the season and trend do not explain.

    With at least two full seasons, the series is decomposed by STL
    (Cleveland et al. 1990; on logarithms when all values are positive) and a
    period is an anomaly when the robust z-score of its residual,
    ``(r − median) / (1.4826·MAD)``, exceeds ``threshold`` (3.5, after
    Iglewicz & Hoaglin 1993). Flagged points are replaced by their fitted
    value and the decomposition refitted, one at a time, so that a spike
    does not leak into the seasonal of the same month in other years. With
    fewer points the same test is applied to month-over-month changes, and
    the return from a spike is not reported again.

    Parameters
    ----------
    series
        Values indexed by period label; fewer than :data:`MIN_POINTS` give none.
    period
        Season length in periods.
    name
        How the metric is called in sentences, e.g. ``"orders"``.
    metric
        Metric id stored in the insights.
    threshold
        Robust z-score above which a period is reported.

    Returns
    -------
    list of Insight
        One per anomalous period, in period order; ``score`` is |z|.

    References
    ----------
    .. [1] Cleveland, Cleveland, McRae & Terpenning (1990). STL: A Seasonal-Trend
       Decomposition Procedure Based on Loess. *Journal of Official Statistics* 6(1), 3–73.
    .. [2] Iglewicz & Hoaglin (1993). *How to Detect and Handle Outliers*. ASQC.
    """
    s = _clean(series)
    if len(s) < MIN_POINTS:
        return []
    labels = list(s.index)
    values = s.to_numpy(dtype="float64")
    positive = bool(np.all(values > 0))
    out: list[Insight] = []
    if len(s) >= 2 * period:
        y = np.log(values) if positive else values
        expected_y, center, sigma = _outlier_resistant_stl(y, period, threshold)
        resid = y - expected_y
        z = np.zeros_like(resid) if sigma <= 0 else (resid - center) / sigma
        for i in (int(k) for k in np.flatnonzero(np.abs(z) > threshold)):
            expected = float(np.exp(expected_y[i])) if positive else float(expected_y[i])
            if positive or expected > 0:
                pct = values[i] / expected - 1
                how = f"{abs(pct):.0%} {'above' if pct > 0 else 'below'}"
            else:
                how = f"{_fmt(abs(values[i] - expected))} {'above' if z[i] > 0 else 'below'}"
            sentence = (
                f"{name} in {labels[i]}: {how} what the season and trend explain "
                f"({_fmt(values[i])} against about {_fmt(expected)}; robust z = {z[i]:.1f})"
            )
            out.append(
                Insight(
                    "anomaly",
                    metric,
                    labels[i],
                    round(abs(float(z[i])), 3),
                    sentence,
                    details={"value": float(values[i]), "expected": expected, "z": float(z[i])},
                )
            )
        return out
    change = np.diff(np.log(values)) if positive else np.diff(values)
    z = _robust_z(change)
    flagged_sign = 0.0
    for j, zj in enumerate(z):
        i = int(j) + 1
        if abs(zj) <= threshold:
            flagged_sign = 0.0
            continue
        if flagged_sign and np.sign(zj) != flagged_sign:
            flagged_sign = 0.0
            continue
        flagged_sign = float(np.sign(zj))
        prev = float(values[i - 1])
        if prev > 0:
            pct = values[i] / prev - 1
            how = f"{abs(pct):.0%} {'above' if pct > 0 else 'below'}"
        else:
            how = f"{_fmt(abs(values[i] - prev))} {'above' if zj > 0 else 'below'}"
        sentence = (
            f"{name} in {labels[i]}: {how} the month before, an unusual change "
            f"({_fmt(prev)} to {_fmt(values[i])}; robust z = {zj:.1f})"
        )
        out.append(
            Insight(
                "anomaly",
                metric,
                labels[i],
                round(abs(float(zj)), 3),
                sentence,
                details={"value": float(values[i]), "expected": prev, "z": float(zj)},
            )
        )
    return out


# -- lead–lag --------------------------------------------------------------------------


def _changes(s: pd.Series, period: int) -> pd.Series:
    """Month-over-month changes, seasonally adjusted when possible (log changes if positive)."""
    adjusted = seasonally_adjusted(s, period)
    base = adjusted if adjusted is not None else s
    values = base.to_numpy(dtype="float64")
    d = np.diff(np.log(values)) if np.all(values > 0) else np.diff(values)
    return pd.Series(d, index=base.index[1:])


def _ar_coefficients(d: np.ndarray, order: int) -> np.ndarray:
    """Least-squares AR(``order``) coefficients of a (differenced) series."""
    if order <= 0 or len(d) <= 2 * order + 2:
        return np.zeros(0)
    centered = d - d.mean()
    lags = np.column_stack([centered[order - 1 - i : len(d) - 1 - i] for i in range(order)])
    phi, *_ = np.linalg.lstsq(lags, centered[order:], rcond=None)
    return np.asarray(phi, dtype="float64")


def _prewhiten(d: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Residuals of the AR filter ``phi`` applied to ``d`` (drops the first len(phi) values)."""
    p = len(phi)
    out = d[p:].copy()
    for i in range(p):
        out -= phi[i] * d[p - 1 - i : len(d) - 1 - i]
    return out


def lead_lag(
    x: pd.Series,
    y: pd.Series,
    max_lag: int = 3,
    *,
    min_lag: int = 0,
    x_name: str = "x",
    y_name: str = "y",
    x_metric: str = "",
    y_metric: str = "",
    min_r: float = LEAD_LAG_MIN_R,
    min_n: int = LEAD_LAG_MIN_N,
    period: int = 12,
) -> Insight | None:
    """How strongly changes in ``x`` precede changes in ``y``, at the best lag.

    Both series are seasonally adjusted by STL when they cover two seasons and
    turned into month-over-month changes (log changes when positive, so they
    read as growth rates). Both are prewhitened by the AR(3) filter fitted to
    ``x``'s changes (Box & Jenkins 1976), because differencing and shared
    month-to-month noise otherwise produce spurious lag-1 correlations. For
    each lag ``L`` in ``min_lag..max_lag`` the
    Pearson correlation of ``Δx[t]`` with ``Δy[t+L]`` is computed; the lag with
    the largest |r| is reported when |r| ≥ ``min_r`` on at least ``min_n``
    pairs and its Fisher z, ``atanh(|r|)·√(n−3)``, which is also the score,
    is at least :data:`LEAD_LAG_MIN_Z`. This is association in time, not
    proof of cause.

    Parameters
    ----------
    x, y
        Values indexed by period label; only common periods are used.
    max_lag, min_lag
        Lags tried, in periods.
    x_name, y_name
        How the metrics are called in the sentence.
    x_metric, y_metric
        Metric ids stored in the insight.
    min_r, min_n
        Reporting thresholds.
    period
        Season length used for the seasonal adjustment.

    Returns
    -------
    Insight or None
        None when no lag passes the thresholds or the series are too short.

    References
    ----------
    .. [1] Box & Jenkins (1976). *Time Series Analysis: Forecasting and Control*,
       rev. ed., ch. 11 (cross-correlation after prewhitening). Holden-Day.
    """
    sx, sy = _clean(x), _clean(y)
    common = sx.index.intersection(sy.index)
    if len(common) < min_n + 1 + min_lag or max_lag < min_lag:
        return None
    dx = _changes(sx[common], period).to_numpy()
    dy = _changes(sy[common], period).to_numpy()
    phi = _ar_coefficients(dx, PREWHITEN_ORDER)
    wx, wy = _prewhiten(dx, phi), _prewhiten(dy, phi)
    best: tuple[float, int, int] | None = None
    for lag in range(min_lag, max_lag + 1):
        a = wx[: len(wx) - lag] if lag else wx
        b = wy[lag:]
        n = len(a)
        if n < min_n or np.std(a) == 0 or np.std(b) == 0:
            continue
        r = float(np.corrcoef(a, b)[0, 1])
        if math.isfinite(r) and (best is None or abs(r) > abs(best[0])):
            best = (r, lag, n)
    if best is None or abs(best[0]) < min_r:
        return None
    r, lag, n = best
    score = math.atanh(min(abs(r), 0.999999)) * math.sqrt(max(n - 3, 1))
    if score < LEAD_LAG_MIN_Z:
        return None
    if lag == 0:
        sentence = f"{x_name} and {y_name} move together in the same month, r = {r:.2f}"
    else:
        months = "month" if lag == 1 else "months"
        sentence = f"{x_name} leads {y_name} by {lag} {months}, r = {r:.2f}"
    if r < 0:
        sentence += " (they move in opposite directions)"
    sentence += f", over {n} months of changes"
    return Insight(
        "lead_lag",
        y_metric,
        str(common[-1]),
        round(score, 3),
        sentence,
        related=x_metric,
        details={"r": r, "lag": float(lag), "n": float(n)},
    )


# -- workspace -------------------------------------------------------------------------


def monthly_series(ws: Workspace, metric_ids: Iterable[str]) -> dict[str, pd.Series]:
    """Monthly series of the metrics a workspace can compute, by metric id.

    A metric that raises :class:`~smbgrowth.errors.MetricError` (unknown, or
    its data are missing) or has no values is left out; a last month the data
    do not cover to its end is dropped.
    """
    # A history that stops mid-month would make its last month look like a slump.
    cutoff = latest_complete_month(ws)
    out: dict[str, pd.Series] = {}
    for metric_id in metric_ids:
        try:
            s = compute_metric(ws, metric_id, grain="month").series()
        except MetricError:
            continue
        s = _warmed_up(_clean(s))
        if cutoff is not None:
            s = s[[str(p) <= cutoff for p in s.index]]
        if not s.empty:
            out[metric_id] = s
    return out


def _metric_name(metric_id: str) -> tuple[str, bool]:
    """Sentence name of a metric and whether its values are per-month amounts."""
    try:
        metric = get_metric(metric_id)
    except MetricError:
        return metric_id.replace("_", " "), True
    name = metric.name if metric.name.isupper() else metric.name[:1].lower() + metric.name[1:]
    return name, metric.additive


def find_insights(
    ws: Workspace,
    *,
    metrics: Sequence[str] | None = None,
    max_lag: int = 3,
) -> list[Insight]:
    """Change points, anomalies and lead–lag relations in a workspace's metrics, strongest first.

    Fetches each metric monthly (see :func:`monthly_series`), runs
    :func:`change_points` and :func:`anomalies` on each and :func:`lead_lag`
    (lags 1..``max_lag``; same-month co-movement is left out as it mostly
    restates shared growth) on every ordered pair, and sorts by score.

    Parameters
    ----------
    ws
        The workspace.
    metrics
        Metric ids; default :data:`DEFAULT_METRICS`. Ones the workspace cannot
        compute are skipped.
    max_lag
        Longest lead, in months.

    Returns
    -------
    list of Insight
        Sorted by descending score, then kind, metric and period.
    """
    series = monthly_series(ws, metrics if metrics is not None else DEFAULT_METRICS)
    names = {m: _metric_name(m) for m in series}
    found: list[Insight] = []
    with warnings.catch_warnings():
        # Constant stretches make numpy warn about empty slices; they simply give no insight.
        warnings.simplefilter("ignore", RuntimeWarning)
        for metric_id, s in series.items():
            name, per_month = names[metric_id]
            found += change_points(s, name=name, metric=metric_id, per_month=per_month)
            found += anomalies(s, name=name, metric=metric_id)
        if max_lag >= 1:
            for x_id, x in series.items():
                for y_id, y in series.items():
                    if x_id == y_id:
                        continue
                    hit = lead_lag(
                        x,
                        y,
                        max_lag,
                        min_lag=1,
                        x_name=names[x_id][0],
                        y_name=names[y_id][0],
                        x_metric=x_id,
                        y_metric=y_id,
                    )
                    if hit is not None:
                        found.append(hit)
    found = [replace(i, sentence=_capitalised(i.sentence)) for i in found]
    found.sort(key=lambda i: (-i.score, i.kind, i.metric, i.period or ""))
    return found
