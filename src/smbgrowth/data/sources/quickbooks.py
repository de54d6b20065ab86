"""QuickBooks Online report exports: Transaction List / Transaction Detail and A/R reports.

Reports open with title rows (company, report name, date range) and mix data
with section and ``Total for …`` rows. The header is found by its ``Date``
column; only rows with a date are data. Transactions are routed by type:
invoices to ``invoices``, expenses, bills and checks to ``expenses``, sales
receipts to ``orders``; payments, deposits, transfers and journal entries are
skipped and counted.
"""

from __future__ import annotations

from pathlib import Path

from smbgrowth.data.fields import normalise_header
from smbgrowth.data.parsing import quote_ident
from smbgrowth.data.plan import FilePlan, ImportOptions
from smbgrowth.data.readers import RawFile, peek_rows
from smbgrowth.data.sources.base import find
from smbgrowth.data.sources.generic import transaction_id_sql
from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import MappingError

__all__ = ["QuickBooksSource"]

_INVOICE = ("invoice",)
_EXPENSE = ("expense", "bill", "check", "cheque", "credit card expense", "purchase", "cash expense")
_SALE = ("sales receipt",)


def _in(column: str, values: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{v}'" for v in values)
    return f"lower(trim({column})) IN ({listed})"


class QuickBooksSource:
    name = "quickbooks"
    help = "QuickBooks Online report export (Transaction List/Detail, Invoice List, A/R Aging)"

    def skip_rows(self, path: Path, options: ImportOptions) -> int:
        for i, row in enumerate(peek_rows(path, 40)):
            cells = {normalise_header(c) for c in row}
            if "date" in cells and cells & {"amount", "openbalance", "debit", "total"}:
                return i
        raise MappingError(
            f"{path.name}: no header row with Date and Amount in the first 40 rows; "
            "is this a QuickBooks report exported to CSV?"
        )

    def plan(self, raw: RawFile, options: ImportOptions, ws: Workspace) -> list[FilePlan]:
        date = find(raw, "Date")
        amount = find(raw, "Amount", "Total", "Open Balance", "Debit")
        if date is None or amount is None:
            raise MappingError(
                f"{raw.path.name}: a QuickBooks report needs Date and Amount columns"
            )
        ttype = find(raw, "Transaction Type", "Type")
        num = find(raw, "Num", "No.", "Number")
        name = find(raw, "Name", "Customer", "Vendor", "Payee")
        due = find(raw, "Due Date")
        open_balance = find(raw, "Open Balance")
        account = find(raw, "Split", "Account")
        memo = find(raw, "Memo/Description", "Memo")
        d = quote_ident(date)
        # Data rows carry a date; section headers, "Total for …" and footers do not.
        is_data = (
            f"sg_text({d}) IS NOT NULL AND NOT starts_with(lower(sg_text({d})), 'total') "
            f"AND regexp_matches(sg_text({d}), '\\d')"
        )
        common = {"_amount": (amount, "money")}
        plans: list[FilePlan] = []
        type_sql = quote_ident(ttype) if ttype else None

        invoices = {"issued_at": date}
        if num:
            invoices["invoice_id"] = num
        if name:
            invoices["customer_id"] = name
        if due:
            invoices["due_at"] = due
        extra = dict(common)
        derive = {"amount": "_amount"}
        if open_balance and open_balance != amount:
            extra["_open"] = (open_balance, "money")
            derive["paid_amount"] = "_amount - coalesce(_open, 0)"
        elif open_balance:
            derive["paid_amount"] = "NULL"
        if "invoice_id" not in invoices:
            derive["invoice_id"] = transaction_id_sql("QI", ("customer_id", "issued_at", "_amount"))
        inv_filter = f"{is_data} AND {_in(type_sql, _INVOICE)}" if type_sql else is_data
        if type_sql or open_balance:
            plans.append(
                FilePlan(
                    target="invoices",
                    columns=invoices,
                    extra=extra,
                    derive=derive,
                    row_filter=inv_filter,
                    date_format=options.date_format,
                    decimal=options.decimal,
                    label="invoices",
                )
            )
        if type_sql:
            exp_cols = {"incurred_at": date}
            if name:
                exp_cols["vendor"] = name
            extra = dict(common)
            parts = ["incurred_at", "_amount"]
            derive = {"amount": "abs(_amount)"}
            if account:
                extra["_account"] = (account, "text")
                derive["category"] = "_account"
                parts.append("_account")
            if num:
                extra["_num"] = (num, "text")
                parts.append("_num")
            if memo:
                extra["_memo"] = (memo, "text")
                parts.append("_memo")
            if name:
                parts.append("vendor")
            derive["expense_id"] = transaction_id_sql("QE", tuple(parts))
            plans.append(
                FilePlan(
                    target="expenses",
                    columns=exp_cols,
                    extra=extra,
                    derive=derive,
                    row_filter=f"{is_data} AND {_in(type_sql, _EXPENSE)}",
                    date_format=options.date_format,
                    decimal=options.decimal,
                    label="expenses",
                )
            )
            sale_cols = {"ordered_at": date}
            if name:
                sale_cols["customer_id"] = name
            extra = dict(common)
            derive = {"total": "_amount"}
            if num:
                sale_cols["order_number"] = num
            derive["order_id"] = transaction_id_sql(
                "QS",
                (
                    "ordered_at",
                    "_amount",
                    *(("customer_id",) if name else ()),
                    *(("order_number",) if num else ()),
                ),
            )
            plans.append(
                FilePlan(
                    target="orders",
                    columns=sale_cols,
                    extra=extra,
                    derive=derive,
                    constants={"channel": "quickbooks"},
                    row_filter=f"{is_data} AND {_in(type_sql, _SALE)}",
                    date_format=options.date_format,
                    decimal=options.decimal,
                    label="sales receipts",
                )
            )
        if not plans:
            raise MappingError(
                f"{raw.path.name}: the report has no Transaction Type or Open Balance column, "
                "so its rows cannot be told apart; export a Transaction List or Invoice List"
            )
        return plans
