"""HubSpot CRM exports: contacts, companies and deals (told apart by their headers).

An export may carry the columns of associated records after the record's own:
``Record ID - Contact, First Name, …, Record ID - Company, Company name, Create
Date, …``. Each ``Record ID - <object>`` header after the first starts such a
block; a header repeated there is read with a ``_1``-style suffix (as DuckDB and
the Excel reader name repeated headers). The record's own fields come only from
the columns before the first block; a block fills only what belongs to its
object (the company name of a contact that has none of its own).

Record ids that a spreadsheet rewrote as ``1.11015E+11`` have lost digits: such
a contact is keyed by its e-mail instead, or left out when it has none.
"""

from __future__ import annotations

import dataclasses
import re

from smbgrowth.data.duck import one
from smbgrowth.data.fields import normalise_header
from smbgrowth.data.parsing import quote_ident
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.sources.base import HeaderSource, find, find_all, mapped_columns, require
from smbgrowth.data.workspace import Workspace

__all__ = ["HubSpotSource"]

_CONTACTS: dict[str, tuple[str, ...]] = {
    "customer_id": ("Record ID - Contact", "Record ID", "Contact ID"),
    "email": ("Email", "Email Address"),
    "phone": ("Phone Number", "Mobile Phone Number"),
    "created_at": ("Create Date", "Created Date"),
    "country": ("Country/Region", "Country"),
    "region": ("State/Region", "State"),
    "city": ("City",),
    "company": ("Associated Company", "Company Name"),
    "segment": ("Lifecycle Stage",),
    "acquisition_channel": ("Original Source", "Original Traffic Source"),
}

_COMPANIES: dict[str, tuple[str, ...]] = {
    "customer_id": ("Record ID - Company", "Record ID", "Company ID"),
    "name": ("Company name", "Name"),
    "phone": ("Phone Number",),
    "created_at": ("Create Date", "Created Date"),
    "country": ("Country/Region", "Country"),
    "region": ("State/Region", "State"),
    "city": ("City",),
    "segment": ("Lifecycle Stage",),
    "acquisition_channel": ("Original Source", "Original Traffic Source"),
}

_DEALS: dict[str, tuple[str, ...]] = {
    "deal_id": ("Record ID - Deal", "Record ID", "Deal ID"),
    "name": ("Deal Name",),
    "stage": ("Deal Stage",),
    "amount": ("Amount",),
    "owner": ("Deal owner",),
    "closed_at": ("Close Date",),
    "created_at": ("Create Date",),
    "pipeline": ("Pipeline",),
    "customer_id": ("Associated Contact IDs", "Associated Contact"),
}

# "Marketing contact status" reads "Marketing contact" / "Non-marketing contact".
_MARKETING_STATUS = ("Marketing contact status",)
# Opting out of all e-mail withdraws marketing consent. Not having opted out is not
# consent, so these only ever say no.
_OPTED_OUT = (
    "Unsubscribed from all email",
    "Opted out of all email",
    "Email opt out",
    "Email opted out",
)

# Internal stage ids (closedwon) and labels (Closed Won) both occur.
_WON = """CASE
    WHEN regexp_matches(lower(stage), 'closed\\s*won') THEN true
    WHEN regexp_matches(lower(stage), 'closed\\s*lost') THEN false
END"""

# HubSpot names stage-entry properties 'Date entered "Qualified To Buy (Sales Pipeline)"'.
_ENTERED = re.compile(r'^date entered\s*"?(?P<stage>.+?)(?:\s*\([^)]*\))?"?\s*$', re.I)

# The start of an associated record's columns: "Record ID - Company".
_BLOCK = re.compile(r"^\s*record\s*id\s*-\s*(?P<object>.+?)\s*$", re.I)

# An id a spreadsheet turned into a number in scientific notation (1.11015E+11).
_MANGLED = r"'^\s*[0-9]+(\.[0-9]*)?[eE][+]?[0-9]+\s*$'"


def _mangled(sql: str) -> str:
    """SQL: true when the text ``sql`` is an id written in scientific notation."""
    return f"coalesce(regexp_full_match({sql}, {_MANGLED}), false)"


@dataclasses.dataclass(frozen=True)
class _Layout:
    """The file's own columns, and each associated object's columns by plain name."""

    own: RawFile
    blocks: dict[str, dict[str, str]]
    kind: str  # the object named by the record's own "Record ID - <object>", else ""

    def block(self, obj: str, *candidates: str) -> str | None:
        """The real header of an associated ``obj``'s column matching a candidate spelling."""
        headers = self.blocks.get(obj, {})
        for c in candidates:
            found = headers.get(normalise_header(c))
            if found is not None:
                return found
        return None


def _layout(raw: RawFile) -> _Layout:
    """Split the headers into the record's own columns and the associated blocks."""
    starts = [i for i, h in enumerate(raw.headers) if _BLOCK.match(h)]
    kind = ""
    if starts and not any(normalise_header(h) == "recordid" for h in raw.headers[: starts[0]]):
        # The first "Record ID - <object>" is the record's own id, wherever it stands.
        kind = _object(raw.headers[starts.pop(0)])
    own = dataclasses.replace(raw, headers=raw.headers[: starts[0] if starts else None])
    blocks: dict[str, dict[str, str]] = {}
    for k, start in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else len(raw.headers)
        earlier = {normalise_header(h) for h in raw.headers[:start]}
        plain: dict[str, str] = {}
        for header in raw.headers[start:stop]:
            # A header repeated from earlier columns arrives as "Create Date_1".
            named = re.fullmatch(r"(?P<name>.+)_\d+", header)
            if named and normalise_header(named.group("name")) in earlier:
                header_name = named.group("name")
            else:
                header_name = header
            plain.setdefault(normalise_header(header_name), header)
        blocks.setdefault(_object(raw.headers[start]), plain)
    return _Layout(own, blocks, kind)


def _object(header: str) -> str:
    """``Record ID - Company`` → ``company``."""
    match = _BLOCK.match(header)
    return normalise_header(match.group("object")) if match else ""


def _mangled_note(
    ws: Workspace, raw: RawFile, id_header: str, email: str | None, what: str
) -> tuple[str, ...]:
    """One line saying how many ids a spreadsheet mangled and what became of their rows."""
    col = quote_ident(id_header)
    has_email = f"nullif(trim({quote_ident(email)}), '') IS NOT NULL" if email else "false"
    counts = one(
        ws.duck,
        f"SELECT count(*) FILTER (WHERE {_mangled(col)}), "
        f"count(*) FILTER (WHERE {_mangled(col)} AND NOT {has_email}) FROM {raw.relation}",
    )
    mangled, dropped = (int(counts[0]), int(counts[1])) if counts else (0, 0)
    if not mangled:
        return ()
    kept = mangled - dropped
    fate = []
    if kept:
        fate.append(f"{kept} are keyed by their e-mail instead")
    if dropped:
        fate.append(
            f"{dropped} without an e-mail are skipped" if email else "their rows are skipped"
        )
    return (
        f"{mangled} {what} id(s) in {id_header!r} were rewritten by a spreadsheet as numbers "
        f"like 1.11015E+11 and lost digits; {' and '.join(fate)}. Export again from HubSpot "
        f"and import the file without opening and saving it in Excel",
    )


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
                row_filter=(
                    f"sg_text({quote_ident(header)}) IS NOT NULL "
                    f"AND NOT {_mangled(quote_ident(deal_id))}"
                ),
                date_format=options.date_format,
                decimal=options.decimal,
                label=f"stage history ({stage})",
            )
        )
    return plans


def _consent(raw: RawFile, extra: dict[str, tuple[str, str]], derive: dict[str, str]) -> None:
    """Read marketing consent from the status and opt-out columns that are present."""
    status = find(raw, *_MARKETING_STATUS)
    opted_out = [h for h in (find(raw, c) for c in _OPTED_OUT) if h]
    if status is None and not opted_out:
        return
    cases = []
    for k, header in enumerate(dict.fromkeys(opted_out)):
        extra[f"_opted_out{k}"] = (header, "boolean")
        cases.append(f"WHEN _opted_out{k} THEN false")
    if status is not None:
        extra["_marketing"] = (status, "text")
        cases.append("WHEN _marketing IS NOT NULL THEN lower(_marketing) LIKE 'marketing%'")
    derive["accepts_marketing"] = f"CASE {' '.join(cases)} END"


class HubSpotSource(HeaderSource):
    name = "hubspot"
    help = "HubSpot contacts, companies or deals export (detected from the headers)"

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        layout = _layout(raw)
        own, kind = layout.own, layout.kind
        if kind == "deal" or (not kind and find(own, "Deal Stage", "Deal Name")):
            return self._deals(raw, layout, options, ws)
        if kind == "company" or (
            not kind
            and find(own, "Company Domain Name", "Company name")
            and not find(own, "Email", "First Name", "Last Name")
        ):
            return self._companies(raw, layout, options, ws)
        return self._contacts(raw, layout, options, ws)

    def _contacts(
        self, raw: RawFile, layout: _Layout, options: ImportOptions, ws: Workspace
    ) -> list[FilePlan]:
        own = layout.own
        columns = {**find_all(own, _CONTACTS), **mapped_columns(raw, options, "customers")}
        require(raw, columns, ("customer_id",), "a HubSpot contacts, companies or deals export")
        extra: dict[str, tuple[str, str]] = {}
        derive: dict[str, str] = {}
        first, last = find(own, "First Name"), find(own, "Last Name")
        names = []
        if first:
            extra["_first"] = (first, "text")
            names.append("_first")
        if last:
            extra["_last"] = (last, "text")
            names.append("_last")
        if names:
            derive["name"] = f"nullif(concat_ws(' ', {', '.join(names)}), '')"
        # The company block fills the company only when the contact names none.
        block_company = layout.block("company", "Company name", "Name")
        if block_company:
            extra["_block_company"] = (block_company, "text")
            own_company = "company, " if "company" in columns else ""
            derive["company"] = f"coalesce({own_company}_block_company)"
        _consent(own, extra, derive)
        id_header, email = columns["customer_id"], columns.get("email")
        # An id that lost its digits gives way to the e-mail (rows without one are skipped).
        instead = "email" if email else "NULL"
        derive["customer_id"] = (
            f"CASE WHEN {_mangled('customer_id')} THEN {instead} ELSE customer_id END"
        )
        has_email = f"sg_text({quote_ident(email)}) IS NOT NULL" if email else "false"
        return [
            FilePlan(
                target="customers",
                columns=columns,
                extra=extra,
                derive=derive,
                row_filter=f"NOT ({_mangled(quote_ident(id_header))} AND NOT {has_email})",
                date_format=options.date_format,
                decimal=options.decimal,
                label="contacts",
                notes=_mangled_note(ws, raw, id_header, email, "contact"),
            )
        ]

    def _companies(
        self, raw: RawFile, layout: _Layout, options: ImportOptions, ws: Workspace
    ) -> list[FilePlan]:
        own = layout.own
        columns = {**find_all(own, _COMPANIES), **mapped_columns(raw, options, "customers")}
        require(raw, columns, ("customer_id",), "a HubSpot companies export")
        id_header = columns["customer_id"]
        # Company and contact ids are counted separately by HubSpot and may coincide.
        derive = {"customer_id": "'company-' || customer_id"}
        if "name" in columns:
            derive["company"] = "name"
        return [
            FilePlan(
                target="customers",
                columns=columns,
                derive=derive,
                row_filter=f"NOT {_mangled(quote_ident(id_header))}",
                date_format=options.date_format,
                decimal=options.decimal,
                label="companies",
                notes=_mangled_note(ws, raw, id_header, None, "company"),
            )
        ]

    def _deals(
        self, raw: RawFile, layout: _Layout, options: ImportOptions, ws: Workspace
    ) -> list[FilePlan]:
        own = layout.own
        columns = {**find_all(own, _DEALS), **mapped_columns(raw, options, "deals")}
        if "customer_id" not in columns:
            contact = layout.block("contact", "Record ID - Contact")
            if contact:
                columns["customer_id"] = contact
        require(raw, columns, ("deal_id", "created_at"), "a HubSpot deals export")
        derive = {"won": _WON} if "stage" in columns else {}
        if "customer_id" in columns:
            # Several associated contacts are separated by ';' — the first is the buyer.
            # A contact id a spreadsheet mangled points at nobody.
            first_id = "nullif(trim(split_part(customer_id, ';', 1)), '')"
            derive["customer_id"] = f"CASE WHEN NOT {_mangled(first_id)} THEN {first_id} END"
        id_header = columns["deal_id"]
        plans = [
            FilePlan(
                target="deals",
                columns=columns,
                derive=derive,
                row_filter=f"NOT {_mangled(quote_ident(id_header))}",
                date_format=options.date_format,
                decimal=options.decimal,
                label="deals",
                notes=_mangled_note(ws, raw, id_header, None, "deal"),
            )
        ]
        return plans + _stage_history(own, id_header, options)
