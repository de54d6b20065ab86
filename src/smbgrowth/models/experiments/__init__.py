"""Experiments: A/B and multi-variant test analysis, planning and a plain-language readout.

The analysis follows the methods of GrowthBook's stats engine — frequentist,
Bayesian with a Gaussian effect posterior, sequential confidence sequences,
CUPED, the delta method for ratio metrics — on sufficient statistics computed
in DuckDB, so a test with millions of units is analysed in seconds.
"""

from smbgrowth.models.experiments.analysis import (
    CORRECTIONS,
    METHODS,
    Comparison,
    ExperimentResult,
    MetricResult,
    VariantSummary,
    analyze_data,
    analyze_experiment,
    counts_data,
)
from smbgrowth.models.experiments.data import ExperimentData, Metric, summarise_units
from smbgrowth.models.experiments.outcomes import (
    WORKSPACE_METRICS,
    analyze_workspace_experiment,
    experiment_units,
    list_experiments,
)
from smbgrowth.models.experiments.planning import (
    MdePlan,
    SamplePlan,
    minimum_detectable_effect,
    plan_sample_size,
    power,
)
from smbgrowth.models.experiments.stats import MetricKind, MetricStats, cuped_theta

__all__ = [
    "CORRECTIONS",
    "METHODS",
    "WORKSPACE_METRICS",
    "Comparison",
    "ExperimentData",
    "ExperimentResult",
    "MdePlan",
    "Metric",
    "MetricKind",
    "MetricResult",
    "MetricStats",
    "SamplePlan",
    "VariantSummary",
    "analyze_data",
    "analyze_experiment",
    "analyze_workspace_experiment",
    "counts_data",
    "cuped_theta",
    "experiment_units",
    "list_experiments",
    "minimum_detectable_effect",
    "plan_sample_size",
    "power",
    "summarise_units",
]
