"""System dynamics: stock-and-flow models as plain data, simulated for many runs at once.

The generic part (models, equations, units, the engine, uncertainty, XMILE)
knows nothing about businesses; :mod:`~smbgrowth.dynamics.business`,
:mod:`~smbgrowth.dynamics.calibration`, :mod:`~smbgrowth.dynamics.scenarios`,
:mod:`~smbgrowth.dynamics.explain` and :mod:`~smbgrowth.dynamics.projection`
build the growth simulator of a business on top of it.
"""

from __future__ import annotations

from smbgrowth.dynamics.business import BusinessParameters, Channel, Segment, business_model
from smbgrowth.dynamics.calibration import Calibration, Estimate, calibrate, calibrate_workspace
from smbgrowth.dynamics.delays import material_delay3
from smbgrowth.dynamics.engine import SimulationResult, simulate
from smbgrowth.dynamics.history import History, history_from_workspace
from smbgrowth.dynamics.library import (
    BASS_REFERENCE_COLUMNS,
    MARKET_GROWTH_REFERENCE_COLUMNS,
    MARKET_GROWTH_SCENARIOS,
    bass_diffusion,
    market_growth,
)
from smbgrowth.dynamics.model import Auxiliary, Constant, Flow, Lookup, Model, Stock
from smbgrowth.dynamics.projection import BusinessSimulation, simulate_business
from smbgrowth.dynamics.scenarios import Scenario, builtin_scenarios, load_scenario
from smbgrowth.dynamics.uncertainty import Distribution, monte_carlo, sample_constants
from smbgrowth.dynamics.units import DIMENSIONLESS, Unit, infer_unit, parse_unit
from smbgrowth.dynamics.xmile import XMILE_NAMESPACE, export_xmile, xmile_equation

__all__ = [
    "BASS_REFERENCE_COLUMNS",
    "DIMENSIONLESS",
    "MARKET_GROWTH_REFERENCE_COLUMNS",
    "MARKET_GROWTH_SCENARIOS",
    "XMILE_NAMESPACE",
    "Auxiliary",
    "BusinessParameters",
    "BusinessSimulation",
    "Calibration",
    "Channel",
    "Constant",
    "Distribution",
    "Estimate",
    "Flow",
    "History",
    "Lookup",
    "Model",
    "Scenario",
    "Segment",
    "SimulationResult",
    "Stock",
    "Unit",
    "bass_diffusion",
    "builtin_scenarios",
    "business_model",
    "calibrate",
    "calibrate_workspace",
    "export_xmile",
    "history_from_workspace",
    "infer_unit",
    "load_scenario",
    "market_growth",
    "material_delay3",
    "monte_carlo",
    "parse_unit",
    "sample_constants",
    "simulate",
    "simulate_business",
    "xmile_equation",
]
