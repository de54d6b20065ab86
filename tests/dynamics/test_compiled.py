"""The compiled (numba) backend gives the numpy engine's results, clip counts and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from smbgrowth.dynamics import (
    MARKET_GROWTH_REFERENCE_COLUMNS,
    Auxiliary,
    Constant,
    Flow,
    Lookup,
    Model,
    SimulationResult,
    Stock,
    bass_diffusion,
    market_growth,
    simulate,
)
from smbgrowth.dynamics import compiled as compiled_backend
from smbgrowth.dynamics.business import BusinessParameters, business_model
from smbgrowth.dynamics.engine import AUTO_COMPILED_RUN_STEPS
from smbgrowth.errors import SimulationError

pytest.importorskip("numba")

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "dynamics"


def assert_same(compiled: SimulationResult, numpy: SimulationResult) -> None:
    """Same times, variables, trajectories and clip counts.

    Trajectories agree to 1e-9 of each variable's scale: the backends share
    every operation except exp and log, where numpy's own vectorised versions
    (e.g. on AVX-512) can differ from the C library's by an ulp; that is also
    why values that a clip sets to about zero are compared to the scale.
    """
    np.testing.assert_array_equal(compiled.time, numpy.time)
    assert compiled.variables == numpy.variables
    for name in numpy.variables:
        scale = float(np.abs(numpy[name]).max(initial=0.0))
        np.testing.assert_allclose(
            compiled[name], numpy[name], rtol=1e-9, atol=1e-9 * scale + 1e-300, err_msg=name
        )
    assert compiled.clipped == numpy.clipped
    assert compiled.clipped_by_run.keys() == numpy.clipped_by_run.keys()
    for name, counts in numpy.clipped_by_run.items():
        np.testing.assert_array_equal(compiled.clipped_by_run[name], counts, err_msg=name)


def both(model: Model, **kwargs: Any) -> tuple[SimulationResult, SimulationResult]:
    return (
        simulate(model, backend="compiled", **kwargs),
        simulate(model, backend="numpy", **kwargs),
    )


def every_construct() -> Model:
    """Every piece of the equation language, non-negative flows and stocks that clip."""
    many = [float(x) for x in range(20)]
    return Model(
        name="constructs",
        stocks=[
            Stock("tank", "capacity * 0.5"),
            Stock("buffer", 2.0),
            Stock("debt", -1.0, non_negative=False),
        ],
        flows=[
            # negative at times: a negative inflow drains the tank
            Flow("fill", None, "tank", "inflow_rate * (4 * wave - 1)"),
            Flow("transfer", "tank", "buffer", "transfer_rate * tank + pulse"),
            Flow("spill", "buffer", None, "max(buffer * 2, demand, 0.1)", non_negative=True),
            Flow("uni", None, "debt", "demand - 3 + if_then_else(debt, 0, 1)", non_negative=True),
            # a negative outflow fills the buffer
            Flow("leak", "buffer", None, "-0.5 * leak_sign"),
        ],
        auxiliaries=[
            Auxiliary("wave", "table(time) - 0.25"),
            Auxiliary("pulse", "if_then_else(2 <= time < 4, 5, 0)"),
            Auxiliary(
                "demand",
                "abs(-demand_base) * exp(-time / 10) + log(1 + time) ** 0.5 + big(time * 3) / 10",
            ),
            Auxiliary("seen", "spill + transfer + fill"),
            Auxiliary(
                "flags", "(tank > buffer) + (tank == tank) - (debt != debt) + min(tank, buffer, 1)"
            ),
            Auxiliary("signs", "-(+debt) / 2 + one(time) + 3"),
        ],
        constants=[
            Constant("capacity", 10.0),
            Constant("inflow_rate", 1.0),
            Constant("transfer_rate", 0.8),
            Constant("demand_base", 2.0),
            Constant("leak_sign", 1.0),
        ],
        lookups=[
            Lookup("table", [0, 2, 5, 8], [0, 1, 0.2, 0.9]),
            Lookup("big", many, [x * x % 7 for x in many]),
            Lookup("one", [1.0], [7.0]),
        ],
    )


def construct_overrides(runs: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "inflow_rate": rng.uniform(0.2, 3.0, runs),
        "transfer_rate": rng.uniform(0.1, 1.5, runs),
        "demand_base": rng.uniform(0.5, 4.0, runs),
        "leak_sign": rng.choice([-1.0, 1.0], runs),
    }


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_every_construct_and_clipping_match_numpy(method: str) -> None:
    runs = 37
    compiled, numpy = both(
        every_construct(),
        t_end=10,
        dt=0.25,
        method=method,
        runs=runs,
        overrides=construct_overrides(runs),
    )
    assert_same(compiled, numpy)
    # the model does exercise the clipping rules
    for flow in ("fill", "transfer", "spill", "uni"):
        assert numpy.clipped[flow] > 0, flow


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_bass_diffusion_matches_numpy(method: str) -> None:
    runs = 5
    overrides = {"market_size": np.linspace(1e6, 5e6, runs)}
    compiled, numpy = both(
        bass_diffusion(), t_end=24, dt=0.125, method=method, runs=runs, overrides=overrides
    )
    assert_same(compiled, numpy)


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_market_growth_matches_numpy(method: str) -> None:
    runs = 64
    rng = np.random.default_rng(3)
    overrides = {
        "salesman_salary": rng.uniform(1500, 2500, runs),
        "capacity_receiving_delay": rng.uniform(6, 18, runs),
    }
    compiled, numpy = both(
        market_growth("F"), t_end=100, dt=0.5, method=method, runs=runs, overrides=overrides
    )
    assert_same(compiled, numpy)


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_business_model_matches_numpy(method: str) -> None:
    model = business_model(BusinessParameters(), months=60)
    runs = 9
    rng = np.random.default_rng(11)
    overrides = {
        "wom_rate": model.compiled.constants["wom_rate"] * rng.lognormal(0, 0.3, runs),
        "productivity": model.compiled.constants["productivity"] * rng.lognormal(0, 0.3, runs),
    }
    compiled, numpy = both(
        model, t_end=60, dt=0.25, method=method, runs=runs, overrides=overrides, record_every=1
    )
    assert_same(compiled, numpy)


def test_recording_a_subset_at_intervals_matches_numpy() -> None:
    record = ["buffer", "spill", "seen"]
    runs = 3
    compiled, numpy = both(
        every_construct(),
        t_end=10,
        dt=0.25,
        runs=runs,
        overrides=construct_overrides(runs),
        record=record,
        record_every=1.5,
    )
    assert compiled.variables == record
    assert list(compiled.time) == [0, 1.5, 3, 4.5, 6, 7.5, 9, 10]
    assert_same(compiled, numpy)


def test_generated_source_is_plain_python_per_model() -> None:
    source = compiled_backend.generate_source(every_construct(), "euler", ["tank"])
    compile(source, "<test>", "exec")
    assert "def kernel(" in source and "def limit(" in source
    assert compiled_backend.generate_source(every_construct(), "euler", ["tank"]) == source
    assert compiled_backend.generate_source(every_construct(), "rk4", ["tank"]) != source


def error_of(model: Model, **kwargs: Any) -> tuple[str, str]:
    messages = []
    for backend in ("compiled", "numpy"):
        with pytest.raises(SimulationError) as excinfo:
            simulate(model, backend=backend, **kwargs)  # type: ignore[arg-type]
        messages.append(str(excinfo.value))
    return messages[0], messages[1]


def test_errors_are_the_same_in_both_backends() -> None:
    division = Model(name="m", stocks=[Stock("s", 0.0)], auxiliaries=[Auxiliary("x", "1 / s")])
    compiled, numpy = error_of(division, t_end=1, dt=1)
    assert compiled == numpy
    assert "'x' is not a finite number" in compiled and "\n" not in compiled

    # an unrecorded stock that runs away is reported by its final value
    growth = Model(
        name="g",
        stocks=[Stock("s", 1.0, non_negative=False)],
        flows=[Flow("f", None, "s", "s * s * k")],
        constants=[Constant("k", 1.0)],
    )
    overrides = {"k": np.array([0.0, 1e300, 0.0])}
    compiled, numpy = error_of(growth, t_end=3, dt=1, runs=3, overrides=overrides, record=["f"])
    assert compiled == numpy
    compiled, numpy = error_of(growth, t_end=3, dt=1, runs=3, overrides=overrides, record=["k"])
    assert compiled == numpy and "cannot record 'k'" in compiled

    negative = Model(name="n", stocks=[Stock("s", "start")], constants=[Constant("start", 1.0)])
    compiled, numpy = error_of(negative, t_end=1, dt=1, runs=2, overrides={"start": [1.0, -2.0]})
    assert compiled == numpy and "starts at -2" in compiled

    compiled, numpy = error_of(
        bass_diffusion(), t_end=2, dt=0.5, runs=2, overrides={"market_size": [1e6, np.nan]}
    )
    assert compiled == numpy and "in run 1" in compiled


def test_unknown_backend_is_rejected() -> None:
    with pytest.raises(SimulationError, match="unknown backend 'gpu'"):
        simulate(bass_diffusion(), t_end=1, dt=1, backend="gpu")  # type: ignore[arg-type]


def test_auto_compiles_only_large_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = compiled_backend.run_kernel

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["runs"])
        return real(*args, **kwargs)

    monkeypatch.setattr(compiled_backend, "run_kernel", counting)
    model = bass_diffusion()
    simulate(model, t_end=10, dt=0.5, runs=10)
    assert calls == []
    runs = AUTO_COMPILED_RUN_STEPS // 20
    auto = simulate(model, t_end=10, dt=0.5, runs=runs, record_every=10)
    assert calls == [runs]
    numpy = simulate(model, t_end=10, dt=0.5, runs=runs, record_every=10, backend="numpy")
    assert_same(auto, numpy)


def test_compiled_market_growth_matches_the_conformance_reference() -> None:
    path = REFERENCE / "market_growth_scenario_f_expected.csv"
    if not path.exists():
        pytest.skip(f"reference trajectory {path} is not available in this checkout")
    expected = pd.read_csv(path)
    result = simulate(market_growth("F"), t_end=100, dt=0.5, backend="compiled")
    frame = result.frame()
    assert len(frame) == len(expected)
    np.testing.assert_allclose(frame["time"], expected["time"], rtol=0, atol=1e-12)
    for column, variable in MARKET_GROWTH_REFERENCE_COLUMNS.items():
        np.testing.assert_allclose(
            frame[variable], expected[column], rtol=1e-6, atol=1e-9, err_msg=column
        )
    assert result["salesmen"][-1, 0] == pytest.approx(123.90, abs=0.005)
    assert sum(result.clipped.values()) == 0


def test_concurrent_simulations_from_threads_match() -> None:
    from concurrent.futures import ThreadPoolExecutor

    model = market_growth("F")
    runs = 200
    rng = np.random.default_rng(5)
    overrides = [{"salesman_salary": rng.uniform(1500, 2500, runs)} for _ in range(4)]

    def one(values: dict[str, np.ndarray]) -> SimulationResult:
        return simulate(model, t_end=50, dt=0.5, runs=runs, overrides=values, backend="compiled")

    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(one, overrides))
    for values, result in zip(overrides, together, strict=True):
        assert_same(result, one(values))
