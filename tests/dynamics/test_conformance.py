"""smbgrowth's engine reproduces trajectories from an independent engine (PySD 3.14.3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smbgrowth.dynamics import (
    BASS_REFERENCE_COLUMNS,
    MARKET_GROWTH_REFERENCE_COLUMNS,
    bass_diffusion,
    market_growth,
    simulate,
)

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "dynamics"


def reference(name: str) -> pd.DataFrame:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"reference trajectory {path} is not available in this checkout")
    return pd.read_csv(path)


def assert_matches(frame: pd.DataFrame, expected: pd.DataFrame, columns: dict[str, str]) -> None:
    assert len(frame) == len(expected)
    np.testing.assert_allclose(frame["time"], expected["time"], rtol=0, atol=1e-12)
    for column, variable in columns.items():
        np.testing.assert_allclose(
            frame[variable], expected[column], rtol=1e-6, atol=1e-9, err_msg=column
        )


def bass_closed_form(t: np.ndarray, p: float = 0.05, q: float = 0.5) -> np.ndarray:
    decay = np.exp(-(p + q) * t)
    return (1 - decay) / (1 + (q / p) * decay)


def test_bass_euler_matches_reference() -> None:
    expected = reference("bass_default_expected.csv")
    frame = simulate(bass_diffusion(), t_end=24, dt=1 / 64).frame()
    assert_matches(frame, expected, BASS_REFERENCE_COLUMNS)


def test_bass_euler_is_within_the_stated_error_of_the_closed_form() -> None:
    result = simulate(bass_diffusion(), t_end=24, dt=1 / 64)
    users = result["users"][:, 0]
    gap = np.abs(users - 5_000_000 * bass_closed_form(result.time))
    # README: at most about 6,541 users (0.13% of N), near t = 4.2.
    assert gap.max() == pytest.approx(6541, abs=5)
    assert 4.0 <= result.time[gap.argmax()] <= 4.5
    at = {float(t): u for t, u in zip(result.time, users, strict=True)}
    assert at[6.0] == pytest.approx(3_513_972.6, abs=0.1)
    assert at[12.0] == pytest.approx(4_926_757.7, abs=0.1)
    assert at[24.0] == pytest.approx(4_999_901.8, abs=0.1)


def test_market_growth_scenario_f_matches_reference() -> None:
    expected = reference("market_growth_scenario_f_expected.csv")
    result = simulate(market_growth("F"), t_end=100, dt=0.5)
    assert_matches(result.frame(), expected, MARKET_GROWTH_REFERENCE_COLUMNS)
    assert result["salesmen"][-1, 0] == pytest.approx(123.90, abs=0.005)
    assert sum(result.clipped.values()) == 0


def test_market_growth_salesmen_milestones_and_unclamped_delay() -> None:
    result = simulate(market_growth("F"), t_end=100, dt=0.5)
    salesmen = dict(zip(result.time, result["salesmen"][:, 0], strict=True))
    for month, value in {0: 10, 12: 17.43, 24: 27.31, 48: 43.99, 72: 73.76, 100: 123.90}.items():
        assert salesmen[float(month)] == pytest.approx(value, abs=0.005)
    # The DELAY3 stages start negative (capacity ordering is -144/month at t = 0).
    assert result["production_capacity_on_order"][0, 0] == pytest.approx(-1728)
    assert result["capacity_receiving_stage_1"][0, 0] == pytest.approx(-576)
