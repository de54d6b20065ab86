"""Customer-value models: the "buy till you die" family and subscription survival.

Names are imported on first use, so fitting a model does not load the
workspace's database and data-frame libraries unless it needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smbgrowth.lazy import lazy_exports

if TYPE_CHECKING:
    from smbgrowth.models.clv.base import (
        CustomerValueModel,
        FitResult,
        compress,
        fit_mle,
        rfm_arrays,
    )
    from smbgrowth.models.clv.bgbb import BetaGeoBetaBinomModel
    from smbgrowth.models.clv.bgnbd import BetaGeoModel, ModifiedBetaGeoModel
    from smbgrowth.models.clv.data import calibration_holdout, rfm_summary
    from smbgrowth.models.clv.gammagamma import GammaGammaModel
    from smbgrowth.models.clv.pareto import ParetoNBDModel, pareto_nbd_log_likelihood
    from smbgrowth.models.clv.sbg import ShiftedBetaGeoModel, survivors_from_subscriptions

_WHERE = {
    "BetaGeoBetaBinomModel": ".bgbb",
    "BetaGeoModel": ".bgnbd",
    "CustomerValueModel": ".base",
    "FitResult": ".base",
    "GammaGammaModel": ".gammagamma",
    "ModifiedBetaGeoModel": ".bgnbd",
    "ParetoNBDModel": ".pareto",
    "ShiftedBetaGeoModel": ".sbg",
    "calibration_holdout": ".data",
    "compress": ".base",
    "fit_mle": ".base",
    "pareto_nbd_log_likelihood": ".pareto",
    "rfm_arrays": ".base",
    "rfm_summary": ".data",
    "survivors_from_subscriptions": ".sbg",
}

__all__ = [
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "CustomerValueModel",
    "FitResult",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ShiftedBetaGeoModel",
    "calibration_holdout",
    "compress",
    "fit_mle",
    "pareto_nbd_log_likelihood",
    "rfm_arrays",
    "rfm_summary",
    "survivors_from_subscriptions",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _WHERE)
