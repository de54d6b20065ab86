"""The engine: determinism, vectorised runs, accuracy, non-negative stocks, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from smbgrowth.dynamics import (
    Auxiliary,
    Constant,
    Flow,
    Lookup,
    Model,
    Stock,
    bass_diffusion,
    market_growth,
    material_delay3,
    simulate,
)
from smbgrowth.errors import SimulationError


def bass_error(method: str, dt: float) -> float:
    """Largest gap between the simulated and the closed-form adopted fraction."""
    result = simulate(bass_diffusion(), t_end=24, dt=dt, method=method)  # type: ignore[arg-type]
    t = result.time
    decay = np.exp(-0.55 * t)
    exact = (1 - decay) / (1 + 10 * decay)
    return float(np.max(np.abs(result["adopted_fraction"][:, 0] - exact)))


def varied_constants(runs: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "salesman_salary": rng.uniform(1500, 2500, runs),
        "sales_effectiveness_maximum": rng.uniform(300, 500, runs),
        "capacity_receiving_delay": rng.uniform(6, 18, runs),
    }


def test_same_overrides_give_identical_results() -> None:
    model = market_growth()
    first = simulate(model, t_end=100, dt=0.5, runs=50, overrides=varied_constants(50, 7))
    again = simulate(model, t_end=100, dt=0.5, runs=50, overrides=varied_constants(50, 7))
    for name in first.variables:
        assert np.array_equal(first[name], again[name]), name


def test_each_of_1000_runs_equals_the_single_run_with_its_constants() -> None:
    model = market_growth()
    overrides = varied_constants(1000, 42)
    many = simulate(model, t_end=100, dt=0.5, runs=1000, overrides=overrides)
    assert many["salesmen"].shape == (201, 1000)
    for i in (0, 1, 137, 500, 998, 999):
        single = simulate(
            model, t_end=100, dt=0.5, overrides={k: float(v[i]) for k, v in overrides.items()}
        )
        for name in single.variables:
            assert np.array_equal(many[name][:, i], single[name][:, 0]), (i, name)


def test_halving_dt_roughly_halves_the_euler_error() -> None:
    coarse, fine = bass_error("euler", 1 / 16), bass_error("euler", 1 / 32)
    assert 1.8 < coarse / fine < 2.2


def test_rk4_is_far_closer_than_euler_at_the_same_step() -> None:
    assert bass_error("rk4", 0.25) < bass_error("euler", 0.25) / 1000


def drain_model(non_negative: bool = True) -> Model:
    return Model(
        name="tank",
        stocks=[Stock("water", 10.0, "l", non_negative=non_negative)],
        flows=[Flow("drain", "water", None, "outflow_rate", "l/min")],
        constants=[Constant("outflow_rate", 4.0, "l/min")],
    )


def test_non_negative_stock_with_too_large_outflow_is_clipped_and_reported() -> None:
    result = simulate(drain_model(), t_end=5, dt=1)
    water = result["water"][:, 0]
    assert water.min() >= 0
    assert list(water) == [10, 6, 2, 0, 0, 0]
    assert list(result["drain"][:, 0]) == [4, 4, 2, 0, 0, 0]
    assert result.clipped["drain"] == 3  # steps from t = 2, 3 and 4
    unclipped = simulate(drain_model(non_negative=False), t_end=5, dt=1)
    assert unclipped["water"][-1, 0] == -10
    assert unclipped.clipped["drain"] == 0


def test_clips_are_counted_per_run() -> None:
    result = simulate(
        drain_model(), t_end=5, dt=1, runs=2, overrides={"outflow_rate": np.array([1.0, 4.0])}
    )
    assert list(result.clipped_by_run["drain"]) == [0, 3]
    assert result["water"].min() >= 0


def test_rk4_keeps_non_negative_stocks_at_or_above_zero() -> None:
    result = simulate(drain_model(), t_end=5, dt=1, method="rk4")
    assert result["water"].min() >= 0
    assert result.clipped["drain"] > 0


def test_material_delay3_passes_a_steady_input_through_unchanged() -> None:
    stocks, flows = material_delay3("arrivals", "orders", "lead_time")
    model = Model(
        name="pipeline",
        stocks=stocks,
        flows=flows,
        auxiliaries=[Auxiliary("orders", "-30")],
        constants=[Constant("lead_time", 6.0)],
    )
    result = simulate(model, t_end=12, dt=0.25)
    np.testing.assert_allclose(result["arrivals"][:, 0], -30)
    np.testing.assert_allclose(result["arrivals_stage_2"][:, 0], -60)


def test_initial_values_can_be_equations_over_auxiliaries() -> None:
    model = Model(
        name="init",
        stocks=[Stock("level", "2 * target", non_negative=False)],
        flows=[Flow("adjust", None, "level", "(target - level) / 4")],
        auxiliaries=[Auxiliary("target", "base * 3")],
        constants=[Constant("base", 5.0)],
    )
    assert simulate(model, t_end=1, dt=1)["level"][0, 0] == 30


def test_expression_language_functions_and_lookups() -> None:
    model = Model(
        name="functions",
        stocks=[Stock("s", 1.0)],
        flows=[Flow("f", None, "s", "0")],
        auxiliaries=[
            Auxiliary("a", "if_then_else(time >= 1, max(s, 2, 3), min(-s, abs(-4)))"),
            Auxiliary("b", "exp(log(8)) ** (1 / 3) + (1 < 2 <= 2) - (3 != 3)"),
            Auxiliary("c", "table(time * 10)"),
        ],
        lookups=[Lookup("table", [0, 10], [5, 15])],
    )
    frame = simulate(model, t_end=2, dt=1).frame()
    assert list(frame["a"]) == [-1, 3, 3]
    np.testing.assert_allclose(frame["b"], 3)
    assert list(frame["c"]) == [5, 15, 15]  # flat beyond the last point


def test_result_frame_percentiles_and_record_every() -> None:
    runs = 20
    result = simulate(
        bass_diffusion(),
        t_end=24,
        dt=1 / 64,
        runs=runs,
        overrides={"imitation_coefficient": np.linspace(0.3, 0.7, runs)},
        record_every=1,
    )
    assert list(result.time) == list(range(25))
    frame = result.frame(run=3)
    assert list(frame.columns[:3]) == ["time", "potential_users", "users"]
    bands = result.percentiles("users", [10, 50, 90])
    assert list(bands.columns) == ["time", "p10", "p50", "p90"]
    assert (bands["p10"] <= bands["p50"]).all() and (bands["p50"] <= bands["p90"]).all()


def one_line(excinfo: pytest.ExceptionInfo[SimulationError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_parse_error_is_one_line_and_names_the_variable() -> None:
    with pytest.raises(SimulationError) as excinfo:
        Model(name="m", stocks=[Stock("s", 0.0)], auxiliaries=[Auxiliary("x", "s +* 2")])
    message = one_line(excinfo)
    assert "auxiliary 'x'" in message and "not a valid expression" in message


def test_unsupported_syntax_names_the_offending_piece() -> None:
    with pytest.raises(SimulationError) as excinfo:
        Model(name="m", stocks=[Stock("s", 0.0)], auxiliaries=[Auxiliary("x", "s.real + 1")])
    message = one_line(excinfo)
    assert "auxiliary 'x'" in message and "'s.real'" in message


def test_unknown_name_lists_the_known_names() -> None:
    with pytest.raises(SimulationError) as excinfo:
        Model(name="m", stocks=[Stock("s", 0.0)], flows=[Flow("f", None, "s", "rate * 2")])
    message = one_line(excinfo)
    assert "flow 'f'" in message and "'rate'" in message and "known names: f, s" in message


def test_circular_auxiliaries_report_the_cycle() -> None:
    with pytest.raises(SimulationError, match="a -> b -> a"):
        Model(name="m", auxiliaries=[Auxiliary("a", "b + 1"), Auxiliary("b", "a * 2")])


def test_duplicate_names_and_flows_between_non_stocks_are_rejected() -> None:
    with pytest.raises(SimulationError, match="duplicate name 'x'"):
        Model(name="m", stocks=[Stock("x", 0.0)], constants=[Constant("x", 1.0)])
    with pytest.raises(SimulationError, match="target 'k' is not a stock"):
        Model(
            name="m",
            stocks=[Stock("s", 0.0)],
            flows=[Flow("f", "s", "k", "1")],
            constants=[Constant("k", 1.0)],
        )


def test_bad_overrides_and_steps_are_rejected() -> None:
    with pytest.raises(SimulationError, match="not a constant"):
        simulate(bass_diffusion(), t_end=1, dt=0.5, overrides={"users": 3.0})
    with pytest.raises(SimulationError, match="give a number or 2 values"):
        simulate(bass_diffusion(), t_end=1, dt=0.5, runs=2, overrides={"market_size": [1, 2, 3]})
    with pytest.raises(SimulationError, match="whole number of dt"):
        simulate(bass_diffusion(), t_end=1, dt=0.3)


def test_non_finite_values_are_reported() -> None:
    model = Model(name="m", stocks=[Stock("s", 0.0)], auxiliaries=[Auxiliary("x", "1 / s")])
    with pytest.raises(SimulationError, match="'x' is not a finite number"):
        simulate(model, t_end=1, dt=1)
