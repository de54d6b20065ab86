"""Xero: the sales invoices export (one row per invoice line)."""

from __future__ import annotations

from smbgrowth.data.parsing import quote_ident
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile
from smbgrowth.data.sources.base import HeaderSource, find, find_all, require
from smbgrowth.data.workspace import Workspace

__all__ = ["XeroSource"]

# Invoice-level columns only: they repeat on every line row, so each invoice
# collapses to one row.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "invoice_id": ("InvoiceNumber",),
    "customer_id": ("ContactName",),
    "customer_email": ("EmailAddress",),
    "customer_country": ("POCountry",),
    "customer_city": ("POCity",),
    "customer_region": ("PORegion",),
    "issued_at": ("InvoiceDate",),
    "due_at": ("DueDate",),
    "amount": ("Total",),
    "tax": ("TaxTotal",),
    "paid_amount": ("InvoiceAmountPaid",),
    "paid_at": ("FullyPaidOnDate", "PaidDate"),
    "currency": ("Currency",),
    "status": ("Status",),
}


# Xero's invoice statuses in the canonical vocabulary (draft, open, paid, void).
_STATUS = """CASE upper(status)
    WHEN 'DRAFT' THEN 'draft'
    WHEN 'SUBMITTED' THEN 'open'
    WHEN 'AUTHORISED' THEN 'open'
    WHEN 'AUTHORIZED' THEN 'open'
    WHEN 'PAID' THEN 'paid'
    WHEN 'VOIDED' THEN 'void'
    WHEN 'DELETED' THEN 'void'
    ELSE lower(status) END"""


class XeroSource(HeaderSource):
    name = "xero"
    help = "Xero sales invoices export (Business › Invoices › Export)"

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        columns = find_all(raw, _COLUMNS)
        require(
            raw,
            columns,
            ("invoice_id", "issued_at", "amount"),
            "a Xero sales invoices export",
        )
        kind = find(raw, "Type")
        # Bills (ACCPAY) in the same file are purchases, not sales invoices.
        row_filter = (
            f"coalesce(upper(trim({quote_ident(kind)})), 'ACCREC') "
            "NOT IN ('ACCPAY', 'ACCPAYCREDIT')"
            if kind
            else None
        )
        derive = {"status": _STATUS} if "status" in columns else {}
        return [
            FilePlan(
                target="invoices",
                columns=columns,
                derive=derive,
                row_filter=row_filter,
                date_format=options.date_format,
                decimal=options.decimal,
                label="invoices",
            )
        ]
