"""Monte Carlo over uncertain constants: seeded draws, one run per draw, all runs at once."""

from __future__ import annotations

import numpy as np
import pytest

from smbgrowth.dynamics import Distribution, bass_diffusion, monte_carlo, simulate
from smbgrowth.errors import SimulationError

UNCERTAIN = {
    "innovation_coefficient": Distribution("uniform", 0.03, 0.07),
    "imitation_coefficient": Distribution("normal", 0.5, 0.05, low=0.0),
}


def _mc(seed: int, runs: int = 400):  # type: ignore[no-untyped-def]
    return monte_carlo(
        bass_diffusion(), UNCERTAIN, runs=runs, seed=seed, t_end=12, dt=0.25, record_every=1
    )


def test_same_seed_same_runs_and_another_seed_differs() -> None:
    a, drawn_a = _mc(1)
    b, drawn_b = _mc(1)
    c, drawn_c = _mc(2)
    np.testing.assert_array_equal(a.stocks["users"], b.stocks["users"])
    np.testing.assert_array_equal(
        drawn_a["innovation_coefficient"], drawn_b["innovation_coefficient"]
    )
    assert not np.array_equal(drawn_a["innovation_coefficient"], drawn_c["innovation_coefficient"])
    assert not np.array_equal(a.stocks["users"], c.stocks["users"])


def test_each_run_is_the_single_run_with_its_drawn_constants() -> None:
    result, drawn = _mc(3, runs=200)
    for run in (0, 57, 199):
        single = simulate(
            bass_diffusion(
                innovation=drawn["innovation_coefficient"][run],
                imitation=drawn["imitation_coefficient"][run],
            ),
            t_end=12,
            dt=0.25,
            record_every=1,
        )
        np.testing.assert_allclose(result.stocks["users"][:, run], single.stocks["users"][:, 0])


def test_uncertainty_fans_out_around_the_central_run() -> None:
    result, _ = _mc(4, runs=2000)
    central = simulate(bass_diffusion(), t_end=12, dt=0.25, record_every=1)
    month6 = int(np.flatnonzero(result.time == 6.0)[0])
    users = result.stocks["users"][month6]
    p10, p50, p90 = np.percentile(users, [10, 50, 90])
    assert p10 < central.stocks["users"][month6, 0] < p90
    assert abs(p50 - central.stocks["users"][month6, 0]) < 0.25 * (p90 - p10)


@pytest.mark.parametrize(
    ("dist", "mean", "sd"),
    [
        (Distribution("normal", 10.0, 2.0), 10.0, 2.0),
        (Distribution("uniform", 2.0, 8.0), 5.0, 6.0 / 12**0.5),
        (Distribution("triangular", 0.0, 1.0, 4.0), 5.0 / 3.0, (13 / 18) ** 0.5),
        (Distribution("lognormal", 3.0, 0.2), 3.0 * np.exp(0.02), None),
    ],
)
def test_draws_follow_their_distribution(dist: Distribution, mean: float, sd: float | None) -> None:
    draws = dist.sample(np.random.default_rng(0), 200_000)
    assert draws.mean() == pytest.approx(mean, rel=0.01)
    if sd is not None:
        assert draws.std() == pytest.approx(sd, rel=0.01)


def test_low_clips_draws() -> None:
    draws = Distribution("normal", 0.01, 0.05, low=0.0).sample(np.random.default_rng(1), 10_000)
    assert draws.min() == 0.0


def test_bad_distributions_and_names_are_one_line_errors() -> None:
    with pytest.raises(SimulationError, match="unknown distribution 'beta'"):
        Distribution("beta", 1.0, 2.0)  # type: ignore[arg-type]
    with pytest.raises(SimulationError, match="uniform needs low <= high"):
        Distribution("uniform", 3.0, 1.0)
    with pytest.raises(SimulationError, match="triangular needs low <= mode <= high"):
        Distribution("triangular", 0.0, 5.0, 4.0)
    with pytest.raises(SimulationError, match="not a constant of"):
        monte_carlo(
            bass_diffusion(),
            {"churn": Distribution("uniform", 0.0, 1.0)},
            runs=10,
            seed=0,
            t_end=1,
            dt=0.5,
        )
