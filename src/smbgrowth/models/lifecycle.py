"""Lifecycle stage: startup, growth, maturity, renewal or decline, with the evidence.

:class:`LifecycleModel` fits logistic (Verhulst; Winsor 1932) and Gompertz
(1825) S-curves to the cumulative customer base (or, without it, to the
seasonally adjusted level of monthly net revenue), keeps the one with the
lower AIC (Akaike 1974), and combines the share of the fitted ceiling reached
with the recent growth of net revenue, its trend, the age of the business and
its volatility under the documented rules below. :func:`judge_stage` does all
of that for a workspace.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning, curve_fit

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ModelError, NotFittedError
from smbgrowth.models.insights import monthly_series, seasonally_adjusted

__all__ = [
    "DECLINE_RATE",
    "FLAT_RATE",
    "GROWTH_MAX_SHARE",
    "GROWTH_RATE",
    "MATURITY_MIN_SHARE",
    "MIN_MONTHS",
    "RENEWAL_DIP",
    "STARTUP_MONTHS",
    "STARTUP_VOLATILITY",
    "TINY_SHARE",
    "LifecycleModel",
    "Stage",
    "StageJudgement",
    "gompertz",
    "judge_stage",
    "logistic",
]

Stage = Literal["startup", "growth", "maturity", "renewal", "decline"]

#: Fewer months than this: too few to fit a curve; judged startup with low confidence.
MIN_MONTHS = 6
#: A business younger than this (months) is in the startup stage.
STARTUP_MONTHS = 12
#: Std of monthly log changes above which a young, tiny business is still a startup.
STARTUP_VOLATILITY = 0.35
#: "Tiny": below this share of the fitted ceiling.
TINY_SHARE = 0.10
#: Monthly growth (trailing 3 months vs the 3 before, per month) that counts as growing.
GROWTH_RATE = 0.01
#: Growth stage while the S-curve is below this share of its ceiling ...
GROWTH_MAX_SHARE = 0.65
#: ... maturity once at or above this share and growth is below GROWTH_RATE.
MATURITY_MIN_SHARE = 0.80
#: Monthly growth within ±FLAT_RATE is flat.
FLAT_RATE = 0.005
#: Monthly growth at or below this, in both of the last two quarters, is decline.
DECLINE_RATE = -0.01
#: Renewal needs an earlier fall of the smoothed level of at least this share from its peak
#: (or a flat stretch of 6+ months) before growth re-accelerated.
RENEWAL_DIP = 0.10
_PLATEAU_MONTHS = 6


def logistic(t: np.ndarray, ceiling: float, rate: float, midpoint: float) -> np.ndarray:
    """Logistic curve ``K / (1 + exp(−r (t − t0)))`` (Verhulst 1838; Winsor 1932)."""
    return np.asarray(ceiling / (1.0 + np.exp(-rate * (t - midpoint))), dtype="float64")


def gompertz(t: np.ndarray, ceiling: float, rate: float, midpoint: float) -> np.ndarray:
    """Gompertz curve ``K · exp(−exp(−r (t − t0)))``, inflecting at ``t0`` (Gompertz 1825)."""
    return np.asarray(ceiling * np.exp(-np.exp(-rate * (t - midpoint))), dtype="float64")


_CURVES = {"logistic": logistic, "gompertz": gompertz}


@dataclass(frozen=True)
class StageJudgement:
    """The lifecycle stage of a business and why.

    Attributes
    ----------
    stage
        startup, growth, maturity, renewal or decline.
    confidence
        0–1; low when the data are few or the rules are met only barely.
    evidence
        Plain sentences with the numbers behind the judgement.
    months_of_history
        Months from the first to the last month with data.
    fitted
        The chosen S-curve: ``curve``, ``basis``, ``ceiling``, ``rate``,
        ``midpoint`` (months from the first month), ``aic``, ``share_of_ceiling``;
        empty when no curve could be fitted.
    """

    stage: Stage
    confidence: float
    evidence: list[str]
    months_of_history: int
    fitted: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The judgement as JSON-ready data."""
        return asdict(self)


def _monthly(series: pd.Series | None, *, cumulative: bool) -> pd.Series | None:
    """A monthly series on a gap-free PeriodIndex (gaps: 0 for flows, carried for stocks)."""
    if series is None:
        return None
    s = pd.Series(pd.to_numeric(series, errors="coerce"), dtype="float64").dropna()
    if s.empty:
        return None
    s.index = pd.PeriodIndex([pd.Period(str(p), freq="M") for p in s.index])
    s = s.groupby(level=0).sum().sort_index()
    full = pd.period_range(s.index.min(), s.index.max(), freq="M")
    return s.reindex(full).ffill() if cumulative else s.reindex(full, fill_value=0.0)


def _fit_curve(y: np.ndarray, curves: tuple[str, ...]) -> dict[str, Any] | None:
    """Best of logistic and Gompertz fits to a rising series by AIC, or None."""
    n = len(y)
    top = float(np.max(y))
    if n < MIN_MONTHS or top <= 0:
        return None
    t = np.arange(n, dtype="float64")
    scaled = y / top
    best: dict[str, Any] | None = None
    for name in curves:
        curve = _CURVES[name]
        fit: tuple[np.ndarray, float] | None = None
        for k0 in (1.2, 2.0, 5.0):
            for m0 in (n / 2, float(n), 2.0 * n):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", OptimizeWarning)
                        warnings.simplefilter("ignore", RuntimeWarning)
                        params, _ = curve_fit(
                            curve,
                            t,
                            scaled,
                            p0=(k0, 4.0 / n, m0),
                            bounds=((1.0, 1e-3, -2.0 * n), (100.0, 3.0, 6.0 * n)),
                            maxfev=5000,
                        )
                except (RuntimeError, ValueError):
                    continue
                rss = float(np.sum((curve(t, *params) - scaled) ** 2))
                if fit is None or rss < fit[1]:
                    fit = (params, rss)
        if fit is None:
            continue
        params, rss = fit
        aic = n * math.log(max(rss, 1e-300) / n) + 2 * 3
        ceiling, rate, midpoint = float(params[0]) * top, float(params[1]), float(params[2])
        share = float(curve(t[-1:], *params)[0]) / float(params[0])
        if best is None or aic < best["aic"]:
            best = {
                "curve": name,
                "ceiling": ceiling,
                "rate": rate,
                "midpoint": midpoint,
                "aic": aic,
                "share_of_ceiling": share,
            }
    return best


def _quarter_rate(level: np.ndarray, end: int) -> float | None:
    """Monthly-equivalent growth of the 3 months ending at ``end`` over the 3 before."""
    if end < 6 or end > len(level):
        return None
    now, before = level[end - 3 : end].sum(), level[end - 6 : end - 3].sum()
    if before <= 0 or now <= 0:
        return None
    return float((now / before) ** (1 / 3) - 1)


class LifecycleModel:
    """Judge the lifecycle stage from monthly net revenue and the customer base.

    Parameters
    ----------
    curves
        S-curves to try on the cumulative series; the one with the lowest AIC is kept.

    Attributes
    ----------
    stage_, confidence_, evidence_
        The judgement.
    months_
        Months of history.
    curve_
        The chosen curve and its parameters (see :class:`StageJudgement.fitted`).
    share_of_ceiling_, growth_rate_, previous_growth_rate_, volatility_
        The measures the rules use; None when not measurable.

    Notes
    -----
    Rules, in order: fewer than :data:`MIN_MONTHS` months → startup with low
    confidence; younger than :data:`STARTUP_MONTHS` → startup; growth ≤
    :data:`DECLINE_RATE` a month in both of the last two quarters → decline;
    an earlier dip (:data:`RENEWAL_DIP`) or plateau after the startup year,
    followed by growth ≥ :data:`GROWTH_RATE` now → renewal; tiny
    (< :data:`TINY_SHARE` of ceiling) and volatile (> :data:`STARTUP_VOLATILITY`)
    under 24 months → startup; growth ≥ :data:`GROWTH_RATE` below
    :data:`MATURITY_MIN_SHARE` of ceiling → growth; otherwise maturity.

    References
    ----------
    .. [1] Gompertz (1825). On the Nature of the Function Expressive of the Law
       of Human Mortality. *Phil. Trans. R. Soc.* 115, 513–583.
    .. [2] Winsor (1932). The Gompertz Curve as a Growth Curve. *PNAS* 18(1), 1–8.
    .. [3] Akaike (1974). A New Look at the Statistical Model Identification.
       *IEEE Trans. Automatic Control* 19(6), 716–723.
    """

    def __init__(self, curves: tuple[str, ...] = ("logistic", "gompertz")) -> None:
        self.curves = curves

    def fit(
        self,
        revenue: pd.Series | None = None,
        customers: pd.Series | None = None,
        *,
        revenue_label: str = "net revenue",
    ) -> Self:
        """Fit the curves and judge the stage.

        Parameters
        ----------
        revenue
            Monthly net revenue (or another activity level), indexed by period label.
        customers
            Cumulative number of customers, indexed by period label.
        revenue_label
            How ``revenue`` is called in the evidence.

        Returns
        -------
        LifecycleModel
            ``self``, fitted.
        """
        unknown = [c for c in self.curves if c not in _CURVES]
        if unknown or not self.curves:
            raise ModelError(f"unknown curve {unknown}; choose from {', '.join(_CURVES)}")
        rev = _monthly(revenue, cumulative=False)
        cust = _monthly(customers, cumulative=True)
        if rev is None and cust is None:
            raise ModelError("lifecycle needs monthly net revenue or cumulative customers")
        periods = [s.index for s in (rev, cust) if s is not None]
        first = min(p.min() for p in periods)
        last = max(p.max() for p in periods)
        self.months_ = int((last - first).n + 1)
        evidence: list[str] = []
        level = None
        if rev is not None:
            adjusted = seasonally_adjusted(rev.set_axis(rev.index.astype(str)))
            level = (adjusted if adjusted is not None else rev).to_numpy(dtype="float64")
        self.growth_rate_ = None if level is None else _quarter_rate(level, len(level))
        self.previous_growth_rate_ = None if level is None else _quarter_rate(level, len(level) - 3)
        self.volatility_ = None
        if level is not None and len(level) >= 3 and np.all(level > 0):
            self.volatility_ = float(np.std(np.diff(np.log(level)), ddof=1))
        curve = None
        if self.months_ >= MIN_MONTHS:
            if cust is not None and len(cust) >= MIN_MONTHS:
                curve = self._fit(cust.to_numpy(dtype="float64"), "cumulative customers")
            elif level is not None and len(level) >= MIN_MONTHS:
                smooth = pd.Series(level).rolling(3, min_periods=1).mean().to_numpy()
                curve = self._fit(smooth, f"monthly {revenue_label}")
        self.curve_ = curve or {}
        self.share_of_ceiling_ = None if curve is None else float(curve["share_of_ceiling"])
        stage, confidence = self._judge(level, evidence, revenue_label)
        self.stage_: Stage = stage
        self.confidence_ = round(float(min(max(confidence, 0.05), 0.95)), 2)
        self.evidence_ = evidence
        return self

    def _fit(self, y: np.ndarray, basis: str) -> dict[str, Any] | None:
        fit = _fit_curve(y, self.curves)
        if fit is not None:
            fit["basis"] = basis
        return fit

    def _judge(
        self, level: np.ndarray | None, evidence: list[str], label: str
    ) -> tuple[Stage, float]:
        months = self.months_
        g, g_prev = self.growth_rate_, self.previous_growth_rate_
        share, vol = self.share_of_ceiling_, self.volatility_
        history = min(1.0, months / 24) ** 0.5
        if months < MIN_MONTHS:
            evidence.append(
                f"Only {months} months of data: too few to fit a growth curve or measure a "
                f"trend, so the business is judged a startup with low confidence."
            )
            return "startup", 0.2
        if g is not None:
            verb = "grew" if g >= 0 else "fell"
            before = (
                "." if g_prev is None else f", after {g_prev:+.1%} a month in the quarter before."
            )
            evidence.append(
                f"{label.capitalize()} {verb} {abs(g):.1%} a month over the last 3 months "
                f"(against the 3 months before){before}"
            )
            if g_prev is not None and abs(g - g_prev) >= 0.005:
                if g >= 0 or g_prev >= 0:
                    evidence.append(f"Growth is {'accelerating' if g > g_prev else 'slowing'}.")
                else:
                    evidence.append(f"The fall is {'easing' if g > g_prev else 'deepening'}.")
        if share is not None:
            c = self.curve_
            evidence.append(
                f"The fitted {c['curve']} S-curve of {c['basis']} is {share:.0%} of its "
                f"ceiling of {c['ceiling']:,.0f} (AIC {c['aic']:.1f})."
            )
        if vol is not None:
            evidence.append(f"Month-to-month volatility of {label} is {vol:.0%}.")
        if months < STARTUP_MONTHS:
            evidence.append(f"The business has {months} months of history, under {STARTUP_MONTHS}.")
            return "startup", 0.65
        if g is not None and g_prev is not None and g <= DECLINE_RATE and g_prev <= 0:
            evidence.append(f"{label.capitalize()} has fallen for two quarters in a row.")
            return "decline", (0.55 + min(0.35, abs(g) * 7)) * history
        dip = self._dip(level, evidence, label)
        if dip and g is not None and g >= GROWTH_RATE:
            evidence.append("Growth has re-accelerated after that: the business is renewing.")
            return "renewal", (0.5 + min(0.3, g * 5)) * history
        tiny = share is not None and share < TINY_SHARE
        if months < 24 and tiny and vol is not None and vol > STARTUP_VOLATILITY:
            evidence.append("The business is still tiny against its ceiling and volatile.")
            return "startup", 0.6 * history
        if g is not None and g >= GROWTH_RATE and (share is None or share < MATURITY_MIN_SHARE):
            near = share is not None and share >= GROWTH_MAX_SHARE
            if near:
                evidence.append("Growth continues but the S-curve is nearing its ceiling.")
            margin = min(0.3, (g - GROWTH_RATE) * 5)
            return "growth", (0.6 + margin - (0.15 if near else 0.0)) * history
        if share is not None and share >= MATURITY_MIN_SHARE:
            flat = g is None or abs(g) <= FLAT_RATE
            return "maturity", (0.75 if flat else 0.6) * history
        if g is not None and g >= GROWTH_RATE:
            return "growth", 0.5 * history
        evidence.append("Growth has levelled off although the fitted ceiling is not yet near.")
        return "maturity", 0.45 * history

    def _dip(self, level: np.ndarray | None, evidence: list[str], label: str) -> bool:
        """True when, after the startup year, the smoothed level fell or stalled before now."""
        if level is None or len(level) < STARTUP_MONTHS + 6:
            return False
        smooth = pd.Series(level).rolling(3).mean().to_numpy()
        earlier = smooth[STARTUP_MONTHS - 1 : len(level) - 3]
        if np.all(np.isnan(earlier)):
            return False
        peak = np.fmax.accumulate(earlier)
        fall = np.nanmax(1 - earlier / peak)
        if fall >= RENEWAL_DIP:
            evidence.append(f"Earlier, smoothed {label} fell {fall:.0%} below its previous peak.")
            return True
        rates = [_quarter_rate(level, e) for e in range(STARTUP_MONTHS, len(level) - 2)]
        run = best = 0
        for r in rates:
            run = run + 1 if r is not None and abs(r) <= FLAT_RATE else 0
            best = max(best, run)
        if best >= _PLATEAU_MONTHS:
            evidence.append(f"Earlier, {label} was flat for {best} months.")
            return True
        return False

    def _check(self) -> None:
        if not hasattr(self, "stage_"):
            raise NotFittedError("LifecycleModel is not fitted yet; call fit() first")

    def predict(self, months_ahead: int = 0) -> np.ndarray:
        """Fitted S-curve values from the first month to ``months_ahead`` past the last."""
        self._check()
        if not self.curve_:
            raise ModelError("no S-curve could be fitted to these data")
        t = np.arange(self.months_ + months_ahead, dtype="float64")
        c = self.curve_
        return _CURVES[c["curve"]](t, c["ceiling"], c["rate"], c["midpoint"])

    def explain(self) -> StageJudgement:
        """The stage, confidence, evidence and fitted curve."""
        self._check()
        return StageJudgement(
            self.stage_, self.confidence_, list(self.evidence_), self.months_, dict(self.curve_)
        )


def judge_stage(ws: Workspace) -> StageJudgement:
    """Judge a workspace's lifecycle stage from ``revenue_net`` and ``new_customers``.

    Falls back to ``active_customers`` as the activity level when net revenue
    cannot be computed; metrics that fail or have no data are left out.
    """
    series = monthly_series(ws, ("revenue_net", "new_customers", "active_customers"))
    revenue, label = series.get("revenue_net"), "net revenue"
    if revenue is None:
        revenue, label = series.get("active_customers"), "active customers"
    new = series.get("new_customers")
    customers = None if new is None else new.cumsum()
    if revenue is None and customers is None:
        return StageJudgement(
            "startup", 0.05, ["There are no orders or customers to judge the stage from."], 0
        )
    return LifecycleModel().fit(revenue, customers, revenue_label=label).explain()
