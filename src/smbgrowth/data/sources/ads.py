"""Ad platforms: daily spend by channel and campaign (Google Ads, Meta, LinkedIn, …)."""

from __future__ import annotations

from smbgrowth.data.fields import normalise_header
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.sources.base import HeaderSource, find_all
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError

__all__ = ["AdsSource"]

_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("Date", "Day", "Reporting starts", "Reporting Starts"),
    "channel": ("Channel", "Platform", "Network", "Source"),
    "campaign": ("Campaign", "Campaign name", "Campaign Name"),
    "spend": ("Spend", "Cost", "Amount spent", "Spent", "Amount"),
    "impressions": ("Impressions", "Impr.", "Impr"),
    "clicks": ("Clicks", "Link clicks"),
    "conversions": ("Conversions", "Results", "Total_Conversion", "Purchases"),
}


class AdsSource(HeaderSource):
    name = "ads"
    help = "daily ad spend export: date, campaign, spend, impressions, clicks, conversions"

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        columns = find_all(raw, _COLUMNS)
        if "spend" not in columns:
            # Meta names the column after the currency: "Amount spent (EUR)".
            for h in raw.headers:
                if normalise_header(h).startswith("amountspent"):
                    columns["spend"] = h
                    break
        for fld in ("date", "spend"):
            if fld not in columns:
                raise MappingError(
                    f"{raw.path.name}: no column for {fld}; an ads export needs a date and spend "
                    f"per row. Its columns are {', '.join(repr(h) for h in raw.headers[:30])}"
                )
        constants = {}
        if "channel" not in columns:
            if not options.channel:
                raise MappingError(
                    f"{raw.path.name}: the file does not say which channel it is from; "
                    "pass --channel (e.g. --channel google_ads)"
                )
            constants["channel"] = options.channel
        derive = {"campaign": "coalesce(campaign, '')" if "campaign" in columns else "''"}
        if "channel" in columns:
            derive["channel"] = "lower(channel)"
        return [
            FilePlan(
                target="marketing_spend",
                columns=columns,
                constants=constants,
                derive=derive,
                date_format=options.date_format,
                decimal=options.decimal,
                label="ad spend",
            )
        ]
