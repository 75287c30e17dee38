"""Render an AttributionResult to report.html (self-contained) and report.xlsx (openpyxl)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from html import escape
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from qc.attribution.attribution import DIMENSION_LABELS, AttributionResult
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


def _charts(result: AttributionResult, key: str) -> list[str]:
    if key == "root_causes" and result.root_causes:
        causes = result.root_causes[:10]
        return [svg.bars([c.label for c in causes], [c.excess_complaints for c in causes], "chart-root-causes",
                         "根因：超额投诉（件）")]
    if key == "heat_agency_violation":
        return [svg.heatmap(result.heatmap_agency_violation, "heatmap-agency-violation", "机构 × 违规类别 投诉热力图")]
    if key == "heat_line_week":
        matrix = result.heatmap_line_week
        labels = [f"{pd.Timestamp(c):%m-%d}" for c in matrix.columns]
        return [svg.heatmap(matrix, "heatmap-line-week", "业务线 × 周 投诉热力图", cell_w=52, col_labels=labels)]
    if key == "warnings":
        chart = result.control_chart
        cells = list(dict.fromkeys((w.dimension, w.value) for w in result.warnings))[:4]
        out = []
        for n, (dimension, value) in enumerate(cells):
            cell = chart[(chart["dimension"] == dimension) & (chart["value"] == value)].sort_values("week_start")
            out.append(svg.control_chart(cell, f"control-chart-{n}",
                                         f"p 控制图：{DIMENSION_LABELS.get(dimension, dimension)} {value}"))
        return out
    return []


def render_html(result: AttributionResult, tables: list[ReportTable]) -> str:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    sections = [{"key": t.key, "title": t.title, "charts": _charts(result, t.key),
                 "table": table_html(t.frame, t.html_rows), "more": t.html_rows is not None and len(t.frame) > t.html_rows,
                 "shown": t.html_rows, "total": len(t.frame)} for t in tables]
    warnings = [f"{DIMENSION_LABELS.get(w.dimension, w.dimension)} {w.value} {w.week_start} 当周 "
                f"{w.rate_per_1000:.2f}‰ > {w.ucl_per_1000:.2f}‰" for w in result.warnings]
    return environment.get_template("report.html.j2").render(
        day_from=result.day_from, day_to=result.day_to, lookback_days=result.lookback_days, sections=sections,
        warnings=warnings, generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def write_xlsx(tables: list[ReportTable], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    workbook = Workbook()
    workbook.remove(workbook.active)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F4F4F4")
    for table in tables:
        sheet = workbook.create_sheet(table.sheet[:31])
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True, size=13)
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


def write_report(session_factory, day_from: date, day_to: date, out_dir: Path | str,
                 tz: str = "Asia/Shanghai") -> ReportPaths:
    """The nightly flow's report stage: refresh the attribution (links, rectification items) and render it."""
    from qc.attribution.attribution import refresh_attribution

    return render_report(refresh_attribution(session_factory, day_from, day_to, tz=tz), out_dir)
