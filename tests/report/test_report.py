"""The report: one self-contained HTML file with every section, its charts and the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import smbgrowth
from smbgrowth.cli.main import app
from smbgrowth.data.sample import generate_sample_business
from smbgrowth.metrics.scorecard import driver_scorecard
from smbgrowth.report.data import format_value
from smbgrowth.report.render import plotly_js

runner = CliRunner()

SECTIONS = {
    "scorecard": "Scorecard and lifecycle stage",
    "kpis": "KPI trends",
    "cohorts": "Cohort retention",
    "funnel": "Web funnel",
    "customers": "Segments and customer value",
    "experiments": "Experiments",
    "forecasts": "Forecasts and cash",
    "simulation": "Growth simulation",
    "plan": "Automation plan",
}
CHARTS = {
    "kpis": ["kpi-revenue", "kpi-new-customers", "kpi-orders-aov", "kpi-churn"],
    "cohorts": ["cohort-heatmap"],
    "funnel": ["funnel"],
    "customers": ["segments", "clv"],
    "experiments": ["experiment-0", "experiment-1"],
    "forecasts": ["forecast-0", "cash"],
    "simulation": ["fan-revenue", "fan-customers", "fan-cash"],
    "plan": ["plan-npv"],
}


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


class _Page(HTMLParser):
    """Attributes, section headings, figure JSON and the scorecard table of a report."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs: list[tuple[str, str, str | None]] = []
        self.sections: dict[str, list[str]] = {}
        self.headings: list[str] = []
        self.figures: dict[str, str] = {}
        self.tables: list[list[list[str]]] = []
        self._section: str | None = None
        self._in: str | None = None
        self._text: list[str] = []
        self._figure: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag == "section":
            self._section = found["id"]
            self.sections[str(self._section)] = []
        elif tag == "h2":
            self._in, self._text = "h2", []
        elif tag == "script" and found.get("type") == "application/json":
            self._figure = str(found["id"]).removeprefix("figure-")
            self._text = []
            if self._section:
                self.sections[self._section].append(self._figure)
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag == "td":
            self._in, self._text = "td", []

    def handle_data(self, data: str) -> None:
        if self._in or self._figure:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._in == "h2":
            self.headings.append("".join(self._text).strip())
            self._in = None
        elif tag == "td" and self._in == "td":
            self.tables[-1][-1].append("".join(self._text).strip())
            self._in = None
        elif tag == "script" and self._figure:
            self.figures[self._figure] = "".join(self._text)
            self._figure = None


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("report") / "ws"
    ws = smbgrowth.init_workspace(path)
    try:
        generate_sample_business(ws, customers=800, years=2.0, seed=3)
    finally:
        ws.close()
    yield path


@pytest.fixture(scope="module")
def written(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("out") / "report.html"
    code, stdout, stderr = _invoke("report", "-w", str(sample), "--out", str(out), "--json")
    assert code == 0, stderr
    return out, json.loads(stdout)


@pytest.mark.slow
def test_json_output_names_the_file_its_size_sections_and_period(
    written: tuple[Path, dict[str, Any]],
) -> None:
    path, data = written
    assert set(data) == {"path", "bytes", "sections", "period"}
    assert data["path"] == str(path)
    assert data["bytes"] == path.stat().st_size
    assert [s["id"] for s in data["sections"]] == list(SECTIONS)
    assert set(data["period"]) == {"from", "to"}
    for s in data["sections"]:
        assert s["charts"] == len(CHARTS.get(s["id"], []))


@pytest.mark.slow
def test_one_self_contained_file_with_plotly_once_and_no_external_urls(
    written: tuple[Path, dict[str, Any]],
) -> None:
    path, _ = written
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]  # no temp left
    html = path.read_text(encoding="utf-8")
    assert html.count(plotly_js()[:300]) == 1
    assert html.count("Plotly.newPlot(") == 1
    page = _parse(path)
    links = [(t, k, v) for t, k, v in page.attrs if k in ("src", "href")]
    assert links, "the table of contents links to the sections"
    for tag, key, value in links:
        assert not re.match(r"\s*(https?:)?//", value or "", re.I), (tag, key, value)
    assert "<link" not in html.lower()
    assert "@media print" in html and "@media (max-width" in html
    assert "responsive: true" in html


@pytest.mark.slow
def test_every_section_has_its_heading_and_charts(written: tuple[Path, dict[str, Any]]) -> None:
    page = _parse(written[0])
    assert page.headings == [f"{i}. {title}" for i, title in enumerate(SECTIONS.values(), 1)]
    for section, charts in CHARTS.items():
        assert page.sections[section] == charts
    for figure in page.figures.values():
        assert "<" not in figure and ">" not in figure
        parsed = json.loads(figure)
        assert parsed["data"] and "layout" in parsed


@pytest.mark.slow
def test_scorecard_table_shows_the_library_values(
    sample: Path, written: tuple[Path, dict[str, Any]]
) -> None:
    shown = _parse(written[0]).tables[0]
    ws = smbgrowth.open_workspace(sample)
    try:
        card = driver_scorecard(ws)
    finally:
        ws.close()
    expected = [
        [
            d.driver if i == 0 else "",
            m.name + (" *" if m.metric == d.moved_most else ""),
            format_value(m.value, m.unit),
            format_value(m.previous, m.unit),
            format_value(m.last_year, m.unit),
            m.trend,
        ]
        for d in card.drivers
        for i, m in enumerate(d.metrics)
    ]
    assert [row for row in shown if row] == expected
    # And independently of the report's formatter: a count shows as a whole number.
    first = card.drivers[0].metrics[0]
    assert first.unit == "customers" and shown[1][2] == f"{first.value:,.0f}"


def _months(path: Path, chart: str) -> list[str]:
    figure = json.loads(_parse(path).figures[chart])
    months: list[str] = figure["data"][0]["x"]
    return months


@pytest.mark.slow
def test_from_and_to_narrow_the_kpi_period(
    sample: Path, written: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    default = _months(written[0], "kpi-revenue")
    assert len(default) == 24
    assert written[1]["period"]["to"].startswith(default[-1])
    out = tmp_path / "narrow.html"
    code, stdout, err = _invoke(
        "report", "-w", str(sample), "--out", str(out),
        "--from", "2025-03-01", "--to", "2025-08-31", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(stdout)["period"] == {"from": "2025-03-01", "to": "2025-08-31"}
    expected = ["2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08"]
    assert _months(out, "kpi-revenue") == expected
    assert _months(out, "kpi-new-customers") == expected
    cohorts = json.loads(_parse(out).figures["cohort-heatmap"])["data"][0]["y"]
    assert cohorts == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-13-01"], "--from '2025-13-01' is not a date"),
        (["--from", "2025-06-01", "--to", "2025-01-01"], "is after --to"),
        (["--out", "{file}/report.html"], "cannot write"),
        (["--out", "{dir}"], "it is a folder"),
    ],
)
def test_bad_input_is_one_line(sample: Path, tmp_path: Path, args: list[str], message: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    args = [a.format(file=blocker, dir=tmp_path) for a in args]
    code, out, err = _invoke("report", "-w", str(sample), *args, "--json")
    assert code == 1
    assert message in json.loads(out)["error"]
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:")
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".*.part"))


def test_an_empty_workspace_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    assert _invoke("init", "-w", str(path))[0] == 0
    code, _, err = _invoke("report", "-w", str(path), "--out", str(tmp_path / "r.html"))
    assert code == 1
    assert "is empty" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


@pytest.mark.slow
def test_the_demo_writes_the_report(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    code, out, err = _invoke(
        "demo", "-w", str(path), "--customers", "300", "--years", "1.5", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["report"] == str(path / "report.html")
    page = _parse(path / "report.html")
    assert len(page.headings) == len(SECTIONS)
    assert page.figures
