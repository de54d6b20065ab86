"""Customer-value models: the "buy till you die" family and subscription survival."""

from smbgrowth.models.clv.base import CustomerValueModel, FitResult, compress, fit_mle, rfm_arrays
from smbgrowth.models.clv.bgnbd import BetaGeoModel, ModifiedBetaGeoModel
from smbgrowth.models.clv.data import calibration_holdout, rfm_summary

__all__ = [
    "BetaGeoModel",
    "CustomerValueModel",
    "FitResult",
    "ModifiedBetaGeoModel",
    "calibration_holdout",
    "compress",
    "fit_mle",
    "rfm_arrays",
    "rfm_summary",
]
