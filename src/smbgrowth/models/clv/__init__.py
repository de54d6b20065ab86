"""Customer-value models: the "buy till you die" family and subscription survival."""

from smbgrowth.models.clv.base import CustomerValueModel, FitResult, compress, fit_mle, rfm_arrays

__all__ = ["CustomerValueModel", "FitResult", "compress", "fit_mle", "rfm_arrays"]
