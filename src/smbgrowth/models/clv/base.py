"""What every customer-value model shares: input checks, sufficient statistics and MLE.

Models are fitted by maximum likelihood on *sufficient statistics*: customers
with the same (frequency, recency, T) — or whatever a model's data are — are one
row with a weight, so a million customers are often a few thousand rows.

Parameters are optimised on the log scale (they are all positive) with
L-BFGS-B and the model's analytic gradient. Standard errors come from the
observed information: the Hessian of the negative log-likelihood in the
log-parameters, obtained by central differences of the analytic gradient, then
carried to the natural scale by the delta method (se(θ) = θ · se(log θ)).

Identifiability: a fit can converge and still not be determined by the data (a
parameter running off towards the edge of the search range, a flat direction of
the likelihood, NaN or infinite standard errors). :func:`fit_mle` says so in
``FitResult.identification_issue`` and each model adds its own checks (e.g. the
BG/NBD's dropout parameters exploding when almost nobody bought twice); the
fitted model exposes ``identified_`` and ``identification_issue_`` in words an
owner understands, and everything built on it repeats them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize

from smbgrowth.errors import ModelError, NotFittedError

__all__ = [
    "EXPLODED",
    "CustomerValueModel",
    "FitResult",
    "FloatArray",
    "compress",
    "exploded",
    "fit_mle",
    "repeat_clause",
    "rfm_arrays",
]

FloatArray = npt.NDArray[np.float64]
#: Negative log-likelihood and its gradient, both in the log-parameters.
Objective = Callable[[FloatArray], tuple[float, FloatArray]]

#: A shape parameter above this has run off: the data no longer tell it apart from infinity.
EXPLODED = 1e4
#: Log-parameters this close to the search range's edge count as at the edge.
_NEAR_EDGE = 5.0
#: A standard error of a log-parameter above this spans a factor of e^±10 (≈ 20,000×).
_LOG_SE_LIMIT = 5.0
#: Information-matrix eigenvalues below this share of the largest make it singular.
_SINGULAR = 1e-9


def rfm_arrays(
    frequency: Any, recency: Any = None, T: Any = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate (frequency, recency, T) given as arrays or as one DataFrame with those columns.

    frequency = repeat purchases (whole, ≥ 0); recency = age at the last purchase
    (0 without repeats); T = age at the end of calibration; 0 ≤ recency ≤ T.
    """
    if isinstance(frequency, pd.DataFrame):
        frame = frequency
        missing = [c for c in ("frequency", "recency", "T") if c not in frame.columns]
        if missing:
            raise ModelError(f"the data have no column(s) {', '.join(missing)}")
        frequency, recency, T = frame["frequency"], frame["recency"], frame["T"]
    if recency is None or T is None:
        raise ModelError("fit needs frequency, recency and T (or a DataFrame with them)")
    x = np.asarray(frequency, dtype=np.float64)
    t_x = np.asarray(recency, dtype=np.float64)
    t = np.asarray(T, dtype=np.float64)
    if not (x.shape == t_x.shape == t.shape) or x.ndim != 1:
        raise ModelError("frequency, recency and T must be 1-D and of the same length")
    if len(x) == 0:
        raise ModelError("no customers to fit")
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(t).all()):
        raise ModelError("frequency, recency and T must be finite numbers")
    if (x < 0).any() or (np.floor(x) != x).any():
        raise ModelError("frequency must be a whole number of repeat purchases (≥ 0)")
    if (t_x < 0).any() or (t_x > t + 1e-9).any():
        raise ModelError("recency must lie between 0 and T for every customer")
    if ((x == 0) & (t_x != 0)).any():
        raise ModelError("recency must be 0 for customers without repeat purchases")
    if (t < 0).any() or ((t == 0) & (x > 0)).any():
        # T = 0 is a customer first seen on the last day: no repeats possible yet.
        raise ModelError("T must be ≥ 0, and positive for customers with repeat purchases")
    return x, t_x, t


def compress(*columns: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """Unique rows of the columns (sorted) and how many customers share each (the weights).

    Grouped by hashing (pandas), which is an order of magnitude faster than
    ``numpy.unique(axis=0)`` on a million rows.
    """
    frame = pd.DataFrame({i: np.asarray(c, dtype=np.float64) for i, c in enumerate(columns)})
    counts = frame.groupby(list(frame.columns), sort=True).size()
    unique = counts.index.to_frame(index=False).to_numpy(dtype=np.float64)
    weights: FloatArray = np.asarray(counts, dtype=np.float64)
    return [unique[:, i].copy() for i in range(unique.shape[1])], weights


@dataclass(frozen=True)
class FitResult:
    """The outcome of a maximum-likelihood fit."""

    params: dict[str, float]
    standard_errors: dict[str, float]
    log_likelihood: float
    converged: bool
    iterations: int
    message: str
    identification_issue: str | None = None

    @property
    def identified(self) -> bool:
        """Whether the data pin the parameters down (no issue found)."""
        return self.identification_issue is None


def _hessian(objective: Objective, x: FloatArray) -> FloatArray:
    """Hessian by central differences of the analytic gradient, symmetrised."""
    n = len(x)
    h = np.empty((n, n))
    for i in range(n):
        step = 1e-5 * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        h[i] = (objective(up)[1] - objective(down)[1]) / (2 * step)
    return (h + h.T) / 2


def fit_mle(
    objective: Objective,
    start: Sequence[float],
    names: Sequence[str],
    *,
    what: str,
    tol: float = 1e-10,
    max_iter: int = 2000,
    bounds: tuple[float, float] = (-30.0, 30.0),
) -> FitResult:
    """Minimise ``objective`` over log-parameters from ``start`` (natural scale).

    Raises ModelError, naming the model, when the optimiser fails or the
    likelihood is not finite at the optimum — never returns NaN parameters.
    """
    x0 = np.log(np.asarray(start, dtype=np.float64))

    def wrapped(z: FloatArray) -> tuple[float, FloatArray]:
        value, grad = objective(z)
        if not np.isfinite(value):
            # Steer the optimiser away from regions where the likelihood breaks down.
            return 1e300, np.zeros_like(z)
        return value, grad

    with np.errstate(all="ignore"):
        res = optimize.minimize(
            wrapped,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=[bounds] * len(x0),
            options={"maxiter": max_iter, "ftol": tol * 1e-3, "gtol": 1e-8},
        )
    z = np.asarray(res.x, dtype=np.float64)
    value, _ = objective(z)
    if not np.isfinite(value) or not np.isfinite(z).all():
        raise ModelError(f"{what}: the fit failed ({res.message}); check the data")
    at_bound = np.isclose(np.abs(z), bounds[1], rtol=1e-6)
    if at_bound.any():
        stuck = ", ".join(n for n, b in zip(names, at_bound, strict=True) if b)
        raise ModelError(
            f"{what}: parameter(s) {stuck} ran to the edge of the search range; the data do "
            "not identify the model (too few customers or no repeat purchases?)"
        )
    params = np.exp(z)
    with np.errstate(all="ignore"):
        hess = _hessian(objective, z)
        try:
            cov = np.linalg.inv(hess)
            se_log = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        except np.linalg.LinAlgError:
            se_log = np.full(len(z), np.nan)
    se = params * se_log
    issue = _identification_issue(z, hess, se_log, names, bounds=bounds)
    return FitResult(
        params={n: float(p) for n, p in zip(names, params, strict=True)},
        standard_errors={n: float(s) for n, s in zip(names, se, strict=True)},
        log_likelihood=-float(value),
        converged=bool(res.success),
        iterations=int(res.nit),
        message=str(res.message),
        identification_issue=issue,
    )


def _identification_issue(
    z: FloatArray,
    hess: FloatArray,
    se_log: FloatArray,
    names: Sequence[str],
    *,
    bounds: tuple[float, float],
) -> str | None:
    """Why the data do not pin the log-parameters ``z`` down, in plain words, or None."""
    edge = (z <= bounds[0] + _NEAR_EDGE) | (z >= bounds[1] - _NEAR_EDGE)
    if edge.any():
        stuck = ", ".join(n for n, e in zip(names, edge, strict=True) if e)
        return (
            f"the history does not pin down the model: {stuck} ran off towards "
            "zero or infinity, so its predictions rest on arbitrary values"
        )
    # Positive definite with no direction (nearly) flat, relative to the steepest.
    if np.isfinite(hess).all():
        eigen = np.linalg.eigvalsh(hess)
        singular = float(eigen.min()) <= _SINGULAR * float(np.max(np.abs(eigen)))
    else:
        singular = True
    vague = ~np.isfinite(se_log) | (se_log > _LOG_SE_LIMIT)
    if singular or vague.any():
        which = [n for n, v in zip(names, vague, strict=True) if v] or list(names)
        return (
            "the history does not pin down the model: very different values of "
            f"{', '.join(which)} fit it equally well, so its predictions are not reliable"
        )
    return None


def exploded(params: dict[str, float], names: Sequence[str]) -> list[str]:
    """The parameters among ``names`` that ran off above :data:`EXPLODED`."""
    return [n for n in names if not params[n] <= EXPLODED]


def repeat_clause(frequency: FloatArray, weights: FloatArray | None = None) -> str:
    """How many customers bought again, said plainly ("almost no customer bought twice …")."""
    w = np.ones_like(frequency) if weights is None else weights
    total = float(w.sum())
    share = float(w[frequency > 0].sum()) / total if total else 0.0
    if share < 0.05:
        return f"almost no customer bought twice ({share:.1%} of {total:,.0f})"
    return (
        f"too few customers or too short a history ({total:,.0f} customers, "
        f"{share:.0%} bought more than once)"
    )


class CustomerValueModel:
    """Common surface of the customer-value models (scikit-learn estimator contract).

    Subclasses set ``name`` (CLI id), ``param_names`` (the papers' names) and
    fill ``params_``, ``standard_errors_``, ``log_likelihood_``,
    ``n_customers_``, ``converged_`` and ``iterations_`` in ``fit``; ``identified_``
    is False when the data do not pin the parameters down, and
    ``identification_issue_`` then says why in plain words (None when identified).
    Subclasses pass their model-specific reason to :meth:`_store`.
    """

    name: str = ""
    param_names: tuple[str, ...] = ()

    params_: dict[str, float]
    standard_errors_: dict[str, float]
    log_likelihood_: float
    n_customers_: int
    converged_: bool
    iterations_: int
    identified_: bool
    identification_issue_: str | None

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet; call fit(...) before predicting"
            )

    def _store(
        self, result: FitResult, n_customers: int, *, shape_issue: str | None = None
    ) -> None:
        self.params_ = result.params
        self.standard_errors_ = result.standard_errors
        self.log_likelihood_ = result.log_likelihood
        self.n_customers_ = n_customers
        self.converged_ = result.converged
        self.iterations_ = result.iterations
        # The model's own reason speaks the business's language; the generic one is the fallback.
        issue = shape_issue or result.identification_issue
        self.identification_issue_ = issue
        self.identified_ = issue is None

    def to_dict(self) -> dict[str, Any]:
        """``{"model", "params", "standard_errors", "log_likelihood", "n_customers"}``."""
        self._check_fitted()
        return {
            "model": self.name,
            "params": dict(self.params_),
            "standard_errors": dict(self.standard_errors_),
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
            "converged": self.converged_,
            "identified": self.identified_,
            "identification_issue": self.identification_issue_,
        }

    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and 95 % intervals."""
        self._check_fitted()
        rows = []
        for k, v in self.params_.items():
            se = self.standard_errors_[k]
            rows.append({"param": k, "estimate": v, "se": se, "low": v - 1.96 * se,
                         "high": v + 1.96 * se})  # fmt: skip
        return pd.DataFrame(rows).set_index("param")

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"{type(self).__name__}()"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({shown})"
