"""Metrics of the finance driver."""

from __future__ import annotations

from smbgrowth.metrics.base import Metric

__all__ = ["METRICS"]

METRICS: tuple[Metric, ...] = ()
