"""Metrics layer: the KPI registry, one definition per metric, grouped by growth driver."""

from smbgrowth.metrics.base import DIMENSIONS, DRIVERS, GRAINS, Metric, MetricResult, Query
from smbgrowth.metrics.cohorts import CohortMatrix, cohort_retention
from smbgrowth.metrics.registry import (
    METRICS,
    compute_all,
    compute_metric,
    get_metric,
    list_metrics,
    metric_needs,
    missing_inputs,
    registry_markdown,
)

__all__ = [
    "DIMENSIONS",
    "DRIVERS",
    "GRAINS",
    "METRICS",
    "CohortMatrix",
    "Metric",
    "MetricResult",
    "Query",
    "cohort_retention",
    "compute_all",
    "compute_metric",
    "get_metric",
    "list_metrics",
    "metric_needs",
    "missing_inputs",
    "registry_markdown",
]
