"""Customers and segments: RFM segment shares, customer lifetime value and churn risk."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import SmbGrowthError
from smbgrowth.web.common import render, runner_of
from smbgrowth.web.runner import WorkspaceRunner

__all__ = ["router", "warm"]

router = APIRouter()

#: The CLV view: 12 months ahead at 1 % a month, BG/NBD with Gamma-Gamma (the CLI's defaults).
CLV_MODEL = "bgnbd"
CLV_HORIZON_MONTHS = 12
CLV_DISCOUNT_RATE = 0.01
CLV_TOP = 50
CHURN_TOP = 50


def _rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Customers as ``{"customer_id", <column>: float}`` rows, as the CLI prints them."""
    return [
        {"customer_id": str(k), **{str(c): float(v) for c, v in r.items()}}
        for k, r in table.iterrows()
    ]


def _segments(ws: Workspace) -> dict[str, Any]:
    from smbgrowth.models.segments import segment_customers
    from smbgrowth.report.charts import segment_share_figure

    # Reading a page must not change the workspace: the segments are not saved.
    data: dict[str, Any] = segment_customers(ws, method="rfm", save=False).to_dict()
    return {"data": data, "figure": segment_share_figure(data["segments"])}


def _clv(ws: Workspace) -> dict[str, Any]:
    from smbgrowth.models.clv.workflow import identification, predict_customers
    from smbgrowth.report.charts import clv_histogram_figure

    table = predict_customers(
        ws,
        model=CLV_MODEL,
        horizon_months=CLV_HORIZON_MONTHS,
        discount_rate=CLV_DISCOUNT_RATE,
    )
    data = {
        "model": CLV_MODEL,
        "horizon_months": CLV_HORIZON_MONTHS,
        "discount_rate": CLV_DISCOUNT_RATE,
        "currency": ws.reporting_currency,
        "customers": len(table),
        # Unknown (null) when any customer could not be valued, not a partial sum.
        "total_clv": float(table.clv.sum(skipna=False)),
        "mean_clv": float(table.clv.mean(skipna=False)),
        "median_clv": float(table.clv.median(skipna=False)),
        "mean_p_alive": float(table.p_alive.mean(skipna=False)),
        "expected_purchases": float(table.expected_purchases.sum(skipna=False)),
        **identification(table),
        "top": _rows(table.head(CLV_TOP)),
    }
    figure = clv_histogram_figure(
        table.clv, currency=ws.reporting_currency, horizon_months=CLV_HORIZON_MONTHS
    )
    return {"data": data, "figure": figure}


def _churn(ws: Workspace) -> dict[str, Any]:
    from smbgrowth.models.clv.workflow import churn_risk, identification

    table = churn_risk(ws, top=CHURN_TOP)
    rows = _rows(table)
    shown = rows[:15]
    figure = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": "value at risk",
                "y": [html.escape(r["customer_id"]) for r in shown],
                "x": [r["value_at_risk"] for r in shown],
                "marker": {"color": "#b3261e"},
                "hovertemplate": "%{y}: %{x:,.0f}<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": html.escape(f"Value at risk ({ws.reporting_currency})")},
            "yaxis": {"autorange": "reversed", "type": "category", "automargin": True},
            "xaxis": {"tickformat": ",.0f"},
            "height": max(260, 22 * len(shown) + 110),
        },
    }
    return {"data": {"customers": rows, **identification(table)}, "figure": figure}


async def _part(runner: WorkspaceRunner, name: str) -> dict[str, Any]:
    work = {"segments": _segments, "clv": _clv, "churn": _churn}[name]
    out: dict[str, Any] = await runner.cached(("customers", name), work)
    return out


@router.get("/customers", response_class=HTMLResponse, include_in_schema=False)
async def customers_page(request: Request) -> HTMLResponse:
    parts: dict[str, Any] = {}
    notes = []
    for name in ("segments", "clv", "churn"):
        try:
            parts[name] = await _part(runner_of(request), name)
        except SmbGrowthError as exc:
            parts[name] = None
            notes.append(f"{name}: {exc}")
    return render(
        request,
        "analytics/customers.html",
        {"title": "Customers", "notes": notes, **parts},
    )


@router.get("/api/customers/segments", tags=["customers"])
async def api_segments(request: Request) -> dict[str, Any]:
    """Customers by RFM segment with each segment's profile (share of customers and revenue,
    mean spend, orders, recency, mean CLV and P(alive)); not saved to the workspace."""
    data: dict[str, Any] = (await _part(runner_of(request), "segments"))["data"]
    return data


@router.get("/api/customers/clv", tags=["customers"])
async def api_clv(request: Request) -> dict[str, Any]:
    """Customer lifetime value over the next 12 months (BG/NBD + Gamma-Gamma, 1 % a month):
    totals and the 50 most valuable customers with P(alive), purchases, spend and CLV;
    ``identified`` is false (and ``identification_issue`` says why) when the data do
    not pin the models down."""
    data: dict[str, Any] = (await _part(runner_of(request), "clv"))["data"]
    return data


@router.get("/api/customers/churn-risk", tags=["customers"])
async def api_churn_risk(
    request: Request,
    top: int = Query(CHURN_TOP, ge=1, le=CHURN_TOP, description="How many customers."),
) -> dict[str, Any]:
    """Repeat customers whose P(alive) is falling, ranked by the value at risk
    (the same as ``smbgrowth churn-risk --json``), with whether the fit behind
    P(alive) is identified by the data."""
    data = (await _part(runner_of(request), "churn"))["data"]
    return {**data, "customers": data["customers"][:top]}


async def warm(runner: WorkspaceRunner) -> None:
    """Fit and rank the customers before anyone asks (CLV takes seconds on a large base)."""
    for name in ("segments", "clv", "churn"):
        await _part(runner, name)
