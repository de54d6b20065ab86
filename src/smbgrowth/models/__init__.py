"""Models layer: customer value, segments, lifecycle stage and insights.

Names are imported on first use (the insight and lifecycle models load
statsmodels and ruptures, which the customer-value models do not need).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    "Insight": "insights",
    "LifecycleModel": "lifecycle",
    "StageJudgement": "lifecycle",
    "anomalies": "insights",
    "change_points": "insights",
    "find_insights": "insights",
    "judge_stage": "lifecycle",
    "lead_lag": "insights",
    "monthly_series": "insights",
    "seasonally_adjusted": "insights",
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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
