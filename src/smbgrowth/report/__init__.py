"""The static report: one self-contained HTML file showing the whole business.

``write_report(ws, "report.html")`` builds every section from the library
(:mod:`smbgrowth.report.data`), draws the charts as Plotly figure dicts
(:mod:`smbgrowth.report.charts`, reused by the dashboard) and writes one HTML
file with plotly.js inline (:mod:`smbgrowth.report.render`).
"""

from smbgrowth.report.data import Report, ReportPeriod, Section, build_report
from smbgrowth.report.render import ReportFile, render_report, write_report

__all__ = [
    "Report",
    "ReportFile",
    "ReportPeriod",
    "Section",
    "build_report",
    "render_report",
    "write_report",
]
