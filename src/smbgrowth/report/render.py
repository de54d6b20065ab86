"""The report as one self-contained HTML file: Jinja2 (autoescaped), plotly.js inline.

Nothing is fetched when the file opens: plotly.js comes from the installed
``plotly`` package and is embedded once; each chart's figure sits in a
``<script type="application/json">`` element (escaped by
:func:`~smbgrowth.report.charts.script_json`) and one small inline script draws
them all. Text from the data is escaped by Jinja2's autoescaping in HTML and by
:mod:`smbgrowth.report.charts` inside figures.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from smbgrowth.data.workspace import Workspace
from smbgrowth.errors import ConfigError
from smbgrowth.report.charts import script_json
from smbgrowth.report.data import Report, ReportPeriod, build_report

__all__ = ["ReportFile", "plotly_js", "render_report", "write_report"]


@dataclass(frozen=True)
class ReportFile:
    """Where the report was written, its size, its sections and period."""

    path: Path
    bytes: int
    sections: list[dict[str, Any]]
    period: ReportPeriod

    def to_dict(self) -> dict[str, Any]:
        """``{"path", "bytes", "sections": [{"id", "title", "charts", "notes"}], "period"}``."""
        return {
            "path": str(self.path),
            "bytes": self.bytes,
            "sections": self.sections,
            "period": self.period.to_dict(),
        }


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The minified plotly.js bundled with the installed ``plotly`` package."""
    js = (files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    if "</script" in js.lower():  # would end the inline <script> early
        raise ConfigError("the installed plotly.min.js cannot be embedded inline")
    return js


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("smbgrowth.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _css() -> str:
    return (files("smbgrowth.report") / "templates" / "report.css").read_text(encoding="utf-8")


def render_report(report: Report) -> str:
    """The report as one HTML document (plotly.js and every chart inline)."""
    figures = {
        block.chart_id: Markup(script_json(block.figure))
        for section in report.sections
        for block in section.charts
    }
    template = _environment().get_template("report.html")
    return template.render(
        report=report,
        figures=figures,
        css=Markup(_css()),
        plotly_js=Markup(plotly_js()),
    )


def _temporary(path: Path) -> Path:
    """An empty temporary file next to ``path`` (so replacing it is atomic)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return Path(name)


def write_report(
    ws: Workspace,
    path: str | Path,
    *,
    start: date | None = None,
    end: date | None = None,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> ReportFile:
    """Build the workspace's report and write it to ``path`` atomically.

    The folder is checked for writing before the (slow) build; the file appears
    only when complete.

    Raises
    ------
    ConfigError
        When ``path`` cannot be written.
    DataError
        When the workspace is empty.
    MetricError
        When ``start`` is after ``end``.
    """
    target = Path(path)
    if target.is_dir():
        raise ConfigError(f"cannot write {target}: it is a folder; give a file name")
    tmp = _temporary(target)
    try:
        report = build_report(ws, start=start, end=end, seed=seed, progress=progress)
        text = render_report(report)
        data = text.encode("utf-8")
        tmp.write_bytes(data)
        tmp.chmod(0o644)
        tmp.replace(target)
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    sections = [
        {"id": s.id, "title": s.title, "charts": len(s.charts), "notes": s.notes}
        for s in report.sections
    ]
    return ReportFile(target, len(data), sections, report.period)
