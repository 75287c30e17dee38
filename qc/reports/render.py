"""Render an AttributionResult to report.html (self-contained) and report.xlsx (openpyxl)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from qc.attribution.attribution import AttributionResult
from qc.reports import svg
from qc.reports.tables import ReportTable, build_tables

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    xlsx: Path


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def table_html(frame: pd.DataFrame, limit: int | None = None) -> str:
    shown = frame if limit is None else frame.head(limit)
    head = "".join(f"<th>{escape(str(c))}</th>" for c in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
                   for row in shown.itertuples(index=False))
    return f'<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def heatmaps(result: AttributionResult) -> tuple[str, str]:
    """The two heat maps (agency × violation, business line × week) as inline SVG, shared with the dashboard."""
    t = result.texts
    missing_legend = t("insufficient.legend", n=result.min_calls_per_cell)
    agency = result.heatmap_agency_violation
    line_week = result.heatmap_line_week
    return (svg.heatmap(agency, "heatmap-agency-violation", t("heat_agency_violation"), t("heat.unit"),
                        t("insufficient"), missing_legend) if len(agency) and len(agency.columns) else "",
            svg.heatmap(line_week, "heatmap-line-week", t("heat_line_week"), t("heat.unit"), t("insufficient"),
                        missing_legend, cell_w=56, col_labels=[f"{pd.Timestamp(c):%m-%d}" for c in line_week.columns])
            if len(line_week) and len(line_week.columns) else "")


def control_charts(result: AttributionResult, limit: int = 4, label=None) -> list[str]:
    """p-charts of the first `limit` cells that fired, newest data last."""
    t = result.texts
    label = label or (lambda dimension, value: value)
    chart = result.control_chart
    cells = list(dict.fromkeys((w.dimension, w.value) for w in result.warnings))[:limit]
    return [svg.control_chart(chart[(chart["dimension"] == dimension) & (chart["value"] == value)]
                              .sort_values("week_start"), f"control-chart-{n}",
                              t("chart.control", dimension=t.level(dimension), value=label(dimension, value)),
                              t("chart.control.legend"))
            for n, (dimension, value) in enumerate(cells)]


def causes_chart(result: AttributionResult, labels: list[str] | None = None) -> str:
    causes = result.root_causes[:10]
    if not causes:
        return ""
    return svg.bars(labels or [c.label for c in causes], [c.excess_complaints for c in causes], "chart-root-causes",
                    result.texts("chart.causes"))


def _charts(result: AttributionResult, key: str) -> list[str]:
    if key == "root_causes":
        return [c for c in [causes_chart(result)] if c]
    if key == "heat_agency_violation":
        return [c for c in [heatmaps(result)[0]] if c]
    if key == "heat_line_week":
        return [c for c in [heatmaps(result)[1]] if c]
    if key == "warnings":
        return control_charts(result)
    return []


def render_html(result: AttributionResult, tables: list[ReportTable]) -> str:
    t = result.texts
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    sections = [{"key": table.key, "title": table.title, "charts": _charts(result, table.key),
                 "table": table_html(table.frame, table.html_rows) if len(table.frame) else "",
                 "empty": table.empty if not len(table.frame) else "",
                 "more": t("report.more", shown=table.html_rows, total=len(table.frame))
                 if table.html_rows is not None and len(table.frame) > table.html_rows else ""}
                for table in tables]
    if result.backtest is not None:
        next(s for s in sections if s["key"] == "backtest")["empty"] = result.backtest.verdict(t)
    warnings = [t("warning.line", dimension=t.level(w.dimension), value=w.value, week=w.week_start,
                  rate=w.rate_per_1000, ucl=w.ucl_per_1000) for w in result.warnings]
    return environment.get_template("report.html.j2").render(
        lang=t.language, title=t("report.title"), sections=sections, separator=t("report.sep"),
        note=t("report.note", day_from=result.day_from, day_to=result.day_to, lookback=result.lookback_days,
               generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        synthetic=t("report.synthetic", n=f"{result.n_synthetic_calls:,}") if result.n_synthetic_calls else "",
        warnings_intro=t("report.warnings", n=len(warnings)), warnings=warnings,
        day_from=result.day_from, day_to=result.day_to)


def write_xlsx(tables: list[ReportTable], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    workbook = Workbook()
    workbook.remove(workbook.active)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F4F4F4")
    for table in tables:
        sheet = workbook.create_sheet(re.sub(r"[\\/*?:\[\]]", "_", table.sheet)[:31])
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True, size=13)
        if not len(table.frame):
            sheet.append([table.empty])
            continue
        sheet.append([str(c) for c in table.frame.columns])
        for cell in sheet[2]:
            cell.font, cell.fill = bold, fill
        for row in table.frame.itertuples(index=False):
            sheet.append([_excel_value(v) for v in row])
        for column_cells in sheet.iter_cols(min_row=2, max_row=min(sheet.max_row, 200)):
            width = max((len(str(c.value)) if c.value is not None else 0) for c in column_cells)
            sheet.column_dimensions[column_cells[0].column_letter].width = min(max(10, width * 1.6), 60)
        sheet.freeze_panes = "A3"
    workbook.save(path)


def _excel_value(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def render_report(result: AttributionResult, out_dir: Path | str) -> ReportPaths:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"attribution_{result.day_from:%Y%m%d}_{result.day_to:%Y%m%d}"
    tables = build_tables(result)
    paths = ReportPaths(html=out_dir / f"{stem}.html", xlsx=out_dir / f"{stem}.xlsx")
    paths.html.write_text(render_html(result, tables), encoding="utf-8")
    write_xlsx(tables, paths.xlsx)
    return paths
