"""Manager reports: a self-contained HTML page (inline SVG charts) and an Excel workbook with the same tables."""

from qc.reports.render import ReportPaths, render_report

__all__ = ["ReportPaths", "render_report"]
