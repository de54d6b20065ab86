"""Models layer: lifecycle stage and insights (change points, anomalies, lead–lag)."""

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
