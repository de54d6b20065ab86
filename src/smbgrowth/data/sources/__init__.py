"""Export formats smbgrowth reads, by name (``smbgrowth import SOURCE FILE...``)."""

from __future__ import annotations

from smbgrowth.data.sources.ads import AdsSource
from smbgrowth.data.sources.base import Source
from smbgrowth.data.sources.generic import GenericSource
from smbgrowth.data.sources.hubspot import HubSpotSource
from smbgrowth.data.sources.quickbooks import QuickBooksSource
from smbgrowth.data.sources.shopify import ShopifySource
from smbgrowth.data.sources.stripe import StripeSource
from smbgrowth.data.sources.woocommerce import WooCommerceSource
from smbgrowth.data.sources.xero import XeroSource
from smbgrowth.errors import ConfigError

__all__ = ["SOURCES", "Source", "get_source"]

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        GenericSource(),
        ShopifySource(),
        StripeSource(),
        WooCommerceSource(),
        XeroSource(),
        QuickBooksSource(),
        HubSpotSource(),
        AdsSource(),
    )
}


def get_source(name: str) -> Source:
    """Return the source called ``name`` or raise ConfigError listing the known ones."""
    try:
        return SOURCES[name.lower()]
    except KeyError:
        raise ConfigError(f"unknown source {name!r}; choose one of: {', '.join(SOURCES)}") from None
