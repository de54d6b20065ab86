"""Metrics of the operations driver."""

from __future__ import annotations

from smbgrowth.metrics.base import Metric

__all__ = ["METRICS"]

METRICS: tuple[Metric, ...] = ()
