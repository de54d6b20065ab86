"""HubSpot CRM exports: contacts and deals (told apart by their headers)."""

from __future__ import annotations

import re

from smbgrowth.data.parsing import quote_ident
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.sources.base import HeaderSource, find, find_all, require
from smbgrowth.data.workspace import Workspace

__all__ = ["HubSpotSource"]

_CONTACTS: dict[str, tuple[str, ...]] = {
    "customer_id": ("Record ID", "Contact ID"),
    "email": ("Email",),
    "phone": ("Phone Number", "Mobile Phone Number"),
    "created_at": ("Create Date",),
    "country": ("Country/Region", "Country"),
    "region": ("State/Region",),
    "city": ("City",),
    "company": ("Associated Company", "Company Name"),
    "segment": ("Lifecycle Stage",),
    "acquisition_channel": ("Original Source",),
    "accepts_marketing": ("Marketing contact status",),
}

_DEALS: dict[str, tuple[str, ...]] = {
    "deal_id": ("Record ID", "Deal ID"),
    "name": ("Deal Name",),
    "stage": ("Deal Stage",),
    "amount": ("Amount",),
    "owner": ("Deal owner",),
    "closed_at": ("Close Date",),
    "created_at": ("Create Date",),
    "pipeline": ("Pipeline",),
    "customer_id": ("Associated Contact IDs", "Associated Contact"),
}

# Internal stage ids (closedwon) and labels (Closed Won) both occur.
_WON = """CASE
    WHEN regexp_matches(lower(stage), 'closed\\s*won') THEN true
    WHEN regexp_matches(lower(stage), 'closed\\s*lost') THEN false
END"""


# HubSpot names stage-entry properties 'Date entered "Qualified To Buy (Sales Pipeline)"'.
_ENTERED = re.compile(r'^date entered\s*"?(?P<stage>.+?)(?:\s*\([^)]*\))?"?\s*$', re.I)


def _stage_history(raw: RawFile, deal_id: str, options: ImportOptions) -> list[FilePlan]:
    """One plan per 'Date entered <stage>' column: the deal's stage history."""
    plans = []
    for header in raw.headers:
        match = _ENTERED.match(header)
        if not match:
            continue
        stage = match.group("stage").strip().strip('"')
        plans.append(
            FilePlan(
                target="deal_stages",
                columns={"deal_id": deal_id, "entered_at": header},
                constants={"stage": stage},
                row_filter=f"sg_text({quote_ident(header)}) IS NOT NULL",
                date_format=options.date_format,
                decimal=options.decimal,
                label=f"stage history ({stage})",
            )
        )
    return plans


class HubSpotSource(HeaderSource):
    name = "hubspot"
    help = "HubSpot contacts or deals export (detected from the headers)"

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        if find(raw, "Deal Stage", "Deal Name"):
            columns = find_all(raw, _DEALS)
            require(raw, columns, ("deal_id", "created_at"), "a HubSpot deals export")
            derive = {"won": _WON} if "stage" in columns else {}
            if "customer_id" in columns:
                # Several associated contacts are separated by ';' — the first is the buyer.
                derive["customer_id"] = "nullif(trim(split_part(customer_id, ';', 1)), '')"
            plans = [
                FilePlan(
                    target="deals",
                    columns=columns,
                    derive=derive,
                    date_format=options.date_format,
                    decimal=options.decimal,
                    label="deals",
                )
            ]
            return plans + _stage_history(raw, columns["deal_id"], options)
        columns = find_all(raw, _CONTACTS)
        require(raw, columns, ("customer_id",), "a HubSpot contacts or deals export")
        extra: dict[str, tuple[str, str]] = {}
        first, last = find(raw, "First Name"), find(raw, "Last Name")
        if first:
            extra["_first"] = (first, "text")
        if last:
            extra["_last"] = (last, "text")
        derive = {}
        if extra:
            derive["name"] = f"nullif(concat_ws(' ', {', '.join(extra)}), '')"
        if "accepts_marketing" in columns:
            # "Marketing contact status" reads "Marketing contact" / "Non-marketing contact".
            extra["_marketing"] = (columns.pop("accepts_marketing"), "text")
            derive["accepts_marketing"] = "lower(_marketing) LIKE 'marketing%'"
        return [
            FilePlan(
                target="customers",
                columns=columns,
                extra=extra,
                derive=derive,
                date_format=options.date_format,
                decimal=options.decimal,
                label="contacts",
            )
        ]
