"""Customer-value models: the "buy till you die" family and subscription survival."""

from smbgrowth.models.clv.base import CustomerValueModel, FitResult, compress, fit_mle, rfm_arrays
from smbgrowth.models.clv.bgbb import BetaGeoBetaBinomModel
from smbgrowth.models.clv.bgnbd import BetaGeoModel, ModifiedBetaGeoModel
from smbgrowth.models.clv.data import calibration_holdout, rfm_summary
from smbgrowth.models.clv.gammagamma import GammaGammaModel
from smbgrowth.models.clv.pareto import ParetoNBDModel, pareto_nbd_log_likelihood
from smbgrowth.models.clv.sbg import ShiftedBetaGeoModel, survivors_from_subscriptions

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
