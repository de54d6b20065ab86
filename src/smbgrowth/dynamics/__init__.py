"""System dynamics: stock-and-flow models as plain data, simulated for many runs at once."""

from __future__ import annotations

from smbgrowth.dynamics.delays import material_delay3
from smbgrowth.dynamics.engine import SimulationResult, simulate
from smbgrowth.dynamics.library import (
    BASS_REFERENCE_COLUMNS,
    MARKET_GROWTH_REFERENCE_COLUMNS,
    MARKET_GROWTH_SCENARIOS,
    bass_diffusion,
    market_growth,
)
from smbgrowth.dynamics.model import Auxiliary, Constant, Flow, Lookup, Model, Stock
from smbgrowth.dynamics.uncertainty import Distribution, monte_carlo, sample_constants
from smbgrowth.dynamics.xmile import XMILE_NAMESPACE, export_xmile, xmile_equation

__all__ = [
    "BASS_REFERENCE_COLUMNS",
    "MARKET_GROWTH_REFERENCE_COLUMNS",
    "MARKET_GROWTH_SCENARIOS",
    "XMILE_NAMESPACE",
    "Auxiliary",
    "Constant",
    "Distribution",
    "Flow",
    "Lookup",
    "Model",
    "SimulationResult",
    "Stock",
    "bass_diffusion",
    "export_xmile",
    "market_growth",
    "material_delay3",
    "monte_carlo",
    "sample_constants",
    "simulate",
    "xmile_equation",
]
