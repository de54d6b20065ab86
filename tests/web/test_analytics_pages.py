"""The analytics pages: KPI explorer, cohorts, customers, experiments, forecast and cash.

Each page is read by a viewer; each API route answers exactly what the library
computes on the same workspace (opened directly once the dashboard has closed).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

import smbgrowth
from smbgrowth.errors import SmbGrowthWarning
from smbgrowth.jsonsafe import json_safe
from tests.web.conftest import dashboard, log_in


def plain(value: Any) -> Any:
    """A library result as the API's JSON would carry it."""
    return json.loads(json.dumps(json_safe(value), allow_nan=False))


def same(api: Any, expected: Any, path: str = "") -> None:
    """``api`` equals the library's result, floats to 1e-9 (model fits may differ in the
    last bits between runs: BLAS threads sum in different orders)."""
    expected = plain(expected) if path == "" else expected
    if isinstance(expected, dict):
        assert isinstance(api, dict) and set(api) == set(expected), path
        for key, value in expected.items():
            same(api[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(api, list) and len(api) == len(expected), path
        for i, (got, want) in enumerate(zip(api, expected, strict=True)):
            same(got, want, f"{path}[{i}]")
    elif isinstance(expected, float) and not isinstance(api, bool):
        assert api == pytest.approx(expected, rel=1e-9, abs=1e-9), path
    else:
        assert api == expected, path


def one_line_error(response: Any) -> str:
    assert response.status_code == 400, response.text
    message = response.json()["error"]
    assert isinstance(message, str) and message and "\n" not in message
    return message


@pytest.mark.anyio
async def test_kpi_explorer_page_fragment_and_api(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        await log_in(client, "viewer")
        page = await client.get("/kpis")
        assert page.status_code == 200
        assert "<h1>KPI explorer</h1>" in page.text and 'id="kpi-result"' in page.text
        assert 'hx-get="/kpis"' in page.text and 'hx-push-url="true"' in page.text
        assert 'name="grain"' in page.text and 'name="by"' in page.text
        assert 'data-chart="kpi-chart-plot"' in page.text and 'id="kpi-table"' in page.text

        # An htmx filter change gets only the fragment: form, chart and table.
        by_channel = await client.get(
            "/kpis",
            params={"metric": "orders", "grain": "quarter", "by": "channel"},
            headers={"HX-Request": "true"},
        )
        assert by_channel.status_code == 200
        assert "<html" not in by_channel.text and "<header" not in by_channel.text
        assert 'data-chart="kpi-chart-plot"' in by_channel.text
        assert '<option value="channel" selected>' in by_channel.text
        assert '<option value="quarter" selected>' in by_channel.text
        # A metric without that dimension drops it instead of failing.
        burn = await client.get(
            "/kpis", params={"metric": "burn", "by": "channel"}, headers={"HX-Request": "true"}
        )
        assert burn.status_code == 200 and '<option value="channel"' not in burn.text
        # What the form sends: every field, empty ones as "".
        form = await client.get(
            "/kpis",
            params={"metric": "burn", "grain": "quarter", "by": "", "start": "", "end": ""},
            headers={"HX-Request": "true"},
        )
        assert form.status_code == 200 and 'role="alert"' not in form.text
        assert 'data-chart="kpi-chart-plot"' in form.text

        monthly = (await client.get("/api/kpis", params={"metric": "orders"})).json()
        quarterly = (
            await client.get("/api/kpis", params={"metric": "orders", "grain": "quarter"})
        ).json()
        channels = (
            await client.get(
                "/api/kpis", params={"metric": "orders", "grain": "quarter", "by": "channel"}
            )
        ).json()
        window = (
            await client.get(
                "/api/kpis",
                params={"metric": "revenue_net", "start": "2025-03-01", "end": "2025-08-31"},
            )
        ).json()
        assert monthly["grain"] == "month" and quarterly["grain"] == "quarter"
        assert monthly["rows"] != quarterly["rows"] and len(quarterly["rows"]) < len(
            monthly["rows"]
        )
        assert channels["by"] == "channel" and len(channels["rows"]) > len(quarterly["rows"])
        assert {"period", "channel", "value"} == set(channels["rows"][0])
        # The split sums to the total (orders are additive).
        by_period: dict[str, float] = {}
        for row in channels["rows"]:
            by_period[row["period"]] = by_period.get(row["period"], 0) + row["value"]
        assert by_period == {r["period"]: r["value"] for r in quarterly["rows"]}

        metrics = (await client.get("/api/metrics")).json()["metrics"]
        assert "revenue_net" in {m["id"] for m in metrics}

        assert "unknown metric" in one_line_error(
            await client.get("/api/kpis", params={"metric": "no_such_metric"})
        )
        assert "grain" in one_line_error(
            await client.get("/api/kpis", params={"metric": "orders", "grain": "fortnight"})
        )
        assert "channel" in one_line_error(
            await client.get("/api/kpis", params={"metric": "burn", "by": "channel"})
        )
        bad_page = await client.get("/kpis", params={"metric": "no_such_metric"})
        assert bad_page.status_code == 400 and "unknown metric" in bad_page.text

    from smbgrowth.metrics.registry import METRICS, compute_metric

    assert [m["id"] for m in metrics] == list(METRICS)
    ws = smbgrowth.open_workspace(sample_ws)
    try:
        assert monthly == plain(compute_metric(ws, "orders", grain="month").to_dict())
        assert channels == plain(
            compute_metric(ws, "orders", grain="quarter", by="channel").to_dict()
        )
        from datetime import date

        assert window == plain(
            compute_metric(
                ws, "revenue_net", start=date(2025, 3, 1), end=date(2025, 8, 31)
            ).to_dict()
        )
    finally:
        ws.close()


@pytest.mark.anyio
async def test_cohorts_page_and_api(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        await log_in(client, "viewer")
        page = await client.get("/cohorts")
        assert page.status_code == 200
        assert "<h1>Cohort retention</h1>" in page.text and 'data-chart="cohort-chart"' in page.text
        assert 'id="cohort-table"' in page.text
        fragment = await client.get(
            "/cohorts", params={"measure": "revenue"}, headers={"HX-Request": "true"}
        )
        assert fragment.status_code == 200 and "<html" not in fragment.text
        assert "Net revenue relative to the first month" in fragment.text
        customers = (await client.get("/api/cohorts")).json()
        revenue = (await client.get("/api/cohorts", params={"measure": "revenue"})).json()
        assert "customers or revenue" in one_line_error(
            await client.get("/api/cohorts", params={"measure": "visits"})
        )

    from smbgrowth.metrics.cohorts import cohort_retention

    ws = smbgrowth.open_workspace(sample_ws)
    try:
        same(customers, cohort_retention(ws).to_dict())
        same(revenue, cohort_retention(ws, measure="revenue").to_dict())
    finally:
        ws.close()
    assert customers["cohorts"] and customers["cohorts"][0]["values"][0] == 1.0


@pytest.mark.anyio
async def test_customers_page_and_api(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        await log_in(client, "viewer")
        page = await client.get("/customers")
        assert page.status_code == 200, page.text
        for heading in ("RFM segments", "Customer lifetime value", "Churn risk"):
            assert heading in page.text
        for chart_id in ("segment-chart", "clv-chart", "churn-chart"):
            assert f'data-chart="{chart_id}"' in page.text
        segments = (await client.get("/api/customers/segments")).json()
        clv = (await client.get("/api/customers/clv")).json()
        churn = (await client.get("/api/customers/churn-risk")).json()
        churn_10 = (await client.get("/api/customers/churn-risk", params={"top": 10})).json()

    from smbgrowth.models.clv.workflow import churn_risk, predict_customers
    from smbgrowth.models.segments import segment_customers

    ws = smbgrowth.open_workspace(sample_ws)
    try:
        expected_segments = segment_customers(ws, method="rfm", save=False).to_dict()
        table = predict_customers(ws)
        risk = churn_risk(ws, top=50)
        # Reading the page saved no segments.
        assert "rfm" not in str(ws.get_meta("segments") or "")
    finally:
        ws.close()
    same(segments, expected_segments)
    assert segments["customers"] == len(table)
    assert clv["customers"] == len(table) and len(clv["top"]) == 50
    assert clv["total_clv"] == pytest.approx(float(table.clv.sum()), rel=1e-12)
    assert [r["customer_id"] for r in clv["top"]] == [str(i) for i in table.index[:50]]
    assert clv["top"][0]["clv"] == pytest.approx(float(table.clv.iloc[0]), rel=1e-12)
    assert [r["customer_id"] for r in churn["customers"]] == [str(i) for i in risk.index]
    assert churn["customers"][0]["value_at_risk"] == pytest.approx(
        float(risk.value_at_risk.iloc[0]), rel=1e-12
    )
    assert churn_10["customers"] == churn["customers"][:10]


@pytest.mark.anyio
async def test_experiments_pages_and_api(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        await log_in(client, "viewer")
        page = await client.get("/experiments")
        assert page.status_code == 200 and "<h1>Experiments</h1>" in page.text
        listed = (await client.get("/api/experiments")).json()["experiments"]
        ids = [e["experiment_id"] for e in listed]
        assert ids and all(f'href="/experiments/{i}"' in page.text for i in ids)
        chosen = next(e for e in listed if e["unit_type"] == "customer")
        one = await client.get(f"/experiments/{chosen['experiment_id']}")
        assert one.status_code == 200
        assert "Recommendation:" in one.text and 'data-chart="lift-chart"' in one.text
        assert 'id="experiment-table"' in one.text
        analysis = (await client.get(f"/api/experiments/{chosen['experiment_id']}")).json()
        assert "no experiment" in one_line_error(await client.get("/api/experiments/nope"))
        missing = await client.get("/experiments/nope")
        assert missing.status_code == 400 and "no experiment" in missing.text

    from smbgrowth.models.experiments import analyze_workspace_experiment, list_experiments

    ws = smbgrowth.open_workspace(sample_ws)
    try:
        frame = list_experiments(ws)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmbGrowthWarning)
            result = analyze_workspace_experiment(
                ws, chosen["experiment_id"], ["converted", "revenue"]
            )
    finally:
        ws.close()
    assert ids == [str(i) for i in frame.experiment_id]
    assert [e["units"] for e in listed] == [int(u) for u in frame.units]
    extra = {"experiment", "warnings"}
    same({k: v for k, v in analysis.items() if k not in extra}, result.to_dict())
    assert analysis["readout"] and analysis["readout"].split(".")[0] in one.text.replace(
        "&#39;", "'"
    )
    lifts = [c for m in analysis["metrics"] for c in m["comparisons"]]
    assert lifts and all(len(c["rel_ci"]) == 2 for c in lifts)


@pytest.mark.anyio
async def test_forecast_and_cash_page_and_api(sample_ws: Path) -> None:
    async with dashboard(sample_ws) as client:
        await log_in(client, "viewer")
        page = await client.get("/forecast")
        assert page.status_code == 200, page.text
        assert "Net revenue, next 6 months" in page.text and "Runway:" in page.text
        assert (
            'data-chart="forecast-chart-1"' in page.text and 'data-chart="cash-chart"' in page.text
        )
        assert "chance of running out" in page.text
        forecast = (await client.get("/api/forecast")).json()
        cash = (await client.get("/api/cash")).json()

    from smbgrowth.models.cashflow import opening_balance, project_cash
    from smbgrowth.models.forecast import forecast_metric

    ws = smbgrowth.open_workspace(sample_ws)
    try:
        expected_forecast = forecast_metric(ws, "revenue_net", grain="month", horizon=6).to_dict()
        currency = ws.reporting_currency
        balance = opening_balance(ws)
        expected_cash = project_cash(
            ws, balance.amount, weeks=13, as_of=balance.as_of, seed=0
        ).to_dict()
    finally:
        ws.close()
    same(forecast, {**expected_forecast, "currency": currency, "name": "Net revenue"})
    assert len(forecast["series"][0]["forecast"]) == 6
    assert {"lo_80", "hi_80", "lo_95", "hi_95"} <= set(forecast["series"][0]["forecast"][0])
    same(cash, expected_cash)
    assert len(cash["periods"]) == 13 and 0 <= cash["p_negative_any"] <= 1


def test_kpi_chart_keeps_the_top_series_and_escapes_names() -> None:
    from smbgrowth.web.routes.kpis import TOP_SERIES, _figure, _series

    names = [f"<b>ch{i}</b>" for i in range(TOP_SERIES + 3)]
    rows = [
        {"period": p, "channel": n, "value": float(i + 1)}
        for p in ("2025-01", "2025-02")
        for i, n in enumerate(names)
    ]
    data = {"metric": "orders", "by": "channel", "rows": rows}
    periods, series = _series(data, additive=True)
    assert periods == ["2025-01", "2025-02"] and len(series) == TOP_SERIES + 1
    assert series["other"] == {"2025-01": 6.0, "2025-02": 6.0}  # the three smallest: 1 + 2 + 3
    assert names[0] not in series and names[-1] in series
    _, ratios = _series(data, additive=False)
    assert len(ratios) == TOP_SERIES and "other" not in ratios  # ratios do not add up
    figure = _figure("Orders <i>by</i> channel", "count", periods, series)
    assert figure is not None
    text = json.dumps(figure)
    assert "<b>" not in text and "<i>" not in text and "&lt;b&gt;ch10&lt;/b&gt;" in text
