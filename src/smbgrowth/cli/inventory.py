"""Inventory commands: ``smbgrowth inventory reorder``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from smbgrowth.cli.common import JsonOpt, WorkspaceOpt, one_line_errors, parse_date, with_workspace
from smbgrowth.cli.output import Output

__all__ = ["inventory_app", "register"]

inventory_app = typer.Typer(
    help="Stock: what to reorder, how much and by when, with stock-out and over-stock risk."
)


def _number(value: Any, spec: str = ",.0f") -> str:
    return "—" if value is None else format(value, spec)


def _risk(value: Any) -> str:
    if value is None:
        return "—"
    return "<1%" if 0 < value < 0.005 else f"{value:.0%}"


def _order_by(row: dict[str, Any]) -> str:
    if row["status"] != "planned":
        return row["status"].replace("_", " ")
    if row["order_now"]:
        return "now"
    return row["order_by"] or "never"


@inventory_app.command("reorder")
def reorder(
    workspace: WorkspaceOpt = None,
    service_level: Annotated[
        float,
        typer.Option(
            "--service-level", help="Chance of no stock-out per replenishment cycle (0–1)."
        ),
    ] = 0.95,
    order_cost: Annotated[
        float | None,
        typer.Option(
            "--order-cost",
            help="Cost of placing one order, in the reporting currency (default 50).",
            show_default=False,
        ),
    ] = None,
    holding_rate: Annotated[
        float,
        typer.Option("--holding-rate", help="Yearly holding cost as a share of unit cost."),
    ] = 0.25,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Day of the stock count, e.g. 2025-01-31 (default: the latest sale)."
        ),
    ] = None,
    within_days: Annotated[
        int, typer.Option("--within-days", min=0, help="List SKUs to order within this many days.")
    ] = 14,
    show_all: Annotated[
        bool, typer.Option("--all", help="Show every SKU, not only the reorder list.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Reorder list: safety stock, reorder point, order quantity and order-by date per SKU."""
    from smbgrowth.models.inventory import DEFAULT_ORDER_COST, reorder_plan

    out = Output(as_json)
    with one_line_errors(out):
        day = parse_date(as_of, "--as-of")
    plan = with_workspace(
        out,
        workspace,
        lambda ws: reorder_plan(
            ws,
            service_level=service_level,
            order_cost=DEFAULT_ORDER_COST if order_cost is None else order_cost,
            holding_rate=holding_rate,
            as_of=day,
            reorder_within_days=within_days,
        ),
    )
    data = plan.to_dict()
    if as_json:
        out.json(data)
        return
    rows = data["skus"] if show_all else data["reorder"]
    summary = data["summary"]
    title = (
        f"Every SKU, stock as of {data['as_of']}"
        if show_all
        else f"Reorder within {within_days} days of {data['as_of']}"
    )
    cells = [
        [
            row["sku"],
            row["name"] or "",
            _number(row["stock"], ",.1f"),
            _number(row["reorder_point"], ",.1f"),
            f"{row['order_quantity']:,}" if row["order_quantity"] else "—",
            _order_by(row),
            _risk(row["stockout_risk"]),
        ]
        for row in rows
    ]
    headers = ["sku", "name", "stock", "reorder\npoint", "order\nqty", "order by",
               "stock-out\nrisk"]  # fmt: skip
    widths = [
        max([len(line) for line in header.split("\n")] + [len(c[i]) for c in cells])
        for i, header in enumerate(headers)
    ]
    # Only the name gives way on a narrow terminal; SKUs and numbers are never cut.
    room = out.console.width - (sum(widths) - widths[1]) - 2 * len(headers)
    widths[1] = max(min(widths[1], room, 30), 8)
    grid = Table(title=title, box=None, padding=(0, 1))
    for header, width in zip(headers, widths, strict=True):
        right = header not in ("sku", "name", "order by")
        grid.add_column(
            header,
            no_wrap=True,
            min_width=width,
            max_width=width if header == "name" else None,
            overflow="ellipsis",
            justify="right" if right else "left",
        )
    for line in cells:
        grid.add_row(*line)
    if rows:
        out.console.print(grid)
    for row in rows:
        out.console.print(row["sentence"], highlight=False, soft_wrap=True)
    no_sales = summary["by_status"]["no_sales"]
    out.console.print(
        f"{summary['to_reorder']} of {summary['skus']} SKUs to order within {within_days} days "
        f"({summary['order_now']} now); {summary['overstocked']} over-stocked; "
        f"{no_sales} without sales. Service level {data['service_level']:.0%}, order cost "
        f"{data['order_cost']:,.2f} {data['currency']}, holding rate {data['holding_rate']:.0%}.",
        highlight=False,
        soft_wrap=True,
    )
    for note in data["notes"]:
        out.console.print(f"Note: {note}.", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``smbgrowth inventory …`` to the main command."""
    app.add_typer(inventory_app, name="inventory")
