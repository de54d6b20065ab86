"""Models layer: customer value, segments, lifecycle stage and insights.

Names are imported on first use (the insight and lifecycle models load
statsmodels and ruptures, which the customer-value models do not need).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smbgrowth.lazy import lazy_exports

if TYPE_CHECKING:
    from smbgrowth.models.insights import (
        Insight,
        anomalies,
        change_points,
        find_insights,
        lead_lag,
        monthly_series,
        seasonally_adjusted,
    )
    from smbgrowth.models.lifecycle import LifecycleModel, StageJudgement, judge_stage

_WHERE = {
    "Insight": ".insights",
    "LifecycleModel": ".lifecycle",
    "StageJudgement": ".lifecycle",
    "anomalies": ".insights",
    "change_points": ".insights",
    "find_insights": ".insights",
    "judge_stage": ".lifecycle",
    "lead_lag": ".insights",
    "monthly_series": ".insights",
    "seasonally_adjusted": ".insights",
}

__all__ = [
    "Insight",
    "LifecycleModel",
    "StageJudgement",
    "anomalies",
    "change_points",
    "find_insights",
    "judge_stage",
    "lead_lag",
    "monthly_series",
    "seasonally_adjusted",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _WHERE)
