"""Inline SVG charts (no JavaScript, no external files): heat maps, horizontal bars, a control chart.

Text uses the system's CJK fonts by name; Debian's fonts-noto-cjk provides Noto Sans CJK SC.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd

FONT = "'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',sans-serif"


def _colour(value: float, low: float, high: float) -> str:
    """White → amber → red; NaN is light grey."""
    if value is None or not math.isfinite(value):
        return "#eeeeee"
    t = 0.0 if high <= low else min(max((value - low) / (high - low), 0.0), 1.0)
    stops = [(255, 255, 255), (253, 174, 97), (215, 48, 39)]
    segment = min(int(t * 2), 1)
    local = t * 2 - segment
    a, b = stops[segment], stops[segment + 1]
    r, g, bl = (round(a[i] + (b[i] - a[i]) * local) for i in range(3))
    return f"#{r:02x}{g:02x}{bl:02x}"


def heatmap(matrix: pd.DataFrame, element_id: str, title: str, legend: str, missing: str, missing_legend: str = "",
            unit: str = "‰", cell_w: int = 78, cell_h: int = 30, col_labels: list[str] | None = None,
            digits: int = 1) -> str:
    """A grid of rates; a NaN cell (too few calls, no calls) is grey and reads `missing` (e.g. 数据不足).

    `legend` is formatted with low and high (the colour scale), `missing_legend` explains the grey cells."""
    rows = [str(r) for r in matrix.index]
    cols = col_labels or [str(c) for c in matrix.columns]
    values = matrix.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    left = 12 + 14 * max((len(r) for r in rows), default=4)
    top = 44 + (60 if any(len(c) > 6 for c in cols) else 24)
    width = left + cell_w * len(cols) + 20
    height = top + cell_h * len(rows) + (48 if missing_legend else 30)
    rotate = any(len(c) > 6 for c in cols)
    out = [f'<svg id="{element_id}" class="heatmap" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
           f'font-family="{FONT}" font-size="13">',
           f'<text x="{left}" y="20" font-size="15" font-weight="bold">{escape(title)}</text>']
    for j, col in enumerate(cols):
        x = left + cell_w * j + cell_w / 2
        if rotate:
            out.append(f'<text x="{x:.0f}" y="{top - 8}" transform="rotate(-35 {x:.0f} {top - 8})" '
                       f'text-anchor="start" class="col-label">{escape(col)}</text>')
        else:
            out.append(f'<text x="{x:.0f}" y="{top - 8}" text-anchor="middle" class="col-label">{escape(col)}</text>')
    for i, row in enumerate(rows):
        y = top + cell_h * i
        out.append(f'<text x="{left - 8}" y="{y + cell_h / 2 + 5:.0f}" text-anchor="end" class="row-label">'
                   f'{escape(row)}</text>')
        for j in range(len(cols)):
            value = values[i, j]
            known = math.isfinite(value)
            shown = f"{value:.{digits}f}" if known else missing
            fill = _colour(value, low, high)
            dark = known and high > low and (value - low) / (high - low) > 0.6
            out.append(f'<rect x="{left + cell_w * j}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                       f'fill="{fill}"><title>{escape(row)} × {escape(cols[j])}: {escape(shown)}'
                       f'{unit if known else ""}</title></rect>')
            size = "" if known else f' font-size="{10 if cell_w < 70 else 11}" class="insufficient"'
            out.append(f'<text x="{left + cell_w * j + cell_w / 2 - 1:.0f}" y="{y + cell_h / 2 + 4:.0f}" '
                       f'text-anchor="middle" fill="{"#ffffff" if dark else ("#222222" if known else "#777777")}"'
                       f'{size}>{escape(shown)}</text>')
    bottom = height - (26 if missing_legend else 8)
    out.append(f'<text x="{left}" y="{bottom}" font-size="11" fill="#555">{escape(legend.format(low=low, high=high))}'
               f'</text>')
    if missing_legend:
        out.append(f'<text x="{left}" y="{height - 8}" font-size="11" fill="#555">{escape(missing_legend)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def bars(labels: list[str], values: list[float], element_id: str, title: str, value_format: str = "{:.0f}") -> str:
    width, bar_h = 760, 24
    left = 12 + 14 * max((len(label) for label in labels), default=4)
    top = 36
    height = top + bar_h * len(labels) + 16
    peak = max([v for v in values if v > 0], default=1.0)
    out = [f'<svg id="{element_id}" class="bars" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="13">',
           f'<text x="{left}" y="20" font-size="15" font-weight="bold">{escape(title)}</text>']
    for i, (label, value) in enumerate(zip(labels, values)):
        y = top + bar_h * i
        length = max(0.0, value) / peak * (width - left - 80)
        out.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{bar_h - 6}" fill="#d7301f"/>')
        out.append(f'<text x="{left + length + 6:.1f}" y="{y + 16}">{escape(value_format.format(value))}</text>')
    out.append("</svg>")
    return "\n".join(out)


def control_chart(cell: pd.DataFrame, element_id: str, title: str, legend: str) -> str:
    """Weekly rate, centre line and upper control limit of one cell (per 1,000 calls); fired weeks in red.

    A week without calls has no rate: the lines break there and no dot is drawn (a gap, never a NaN coordinate).
    """
    width, height, left, top, bottom = 760, 240, 56, 34, 40
    rate = 1000 * cell["rate"].to_numpy(dtype=float)
    centre = 1000 * cell["centre"].to_numpy(dtype=float)
    ucl = 1000 * cell["ucl"].to_numpy(dtype=float)
    finite = np.concatenate([rate, ucl])
    finite = finite[np.isfinite(finite)]
    peak = float(finite.max()) if finite.size else 1.0
    peak = peak if peak > 0 else 1.0
    n = max(len(rate) - 1, 1)

    def x_of(i: int) -> float:
        return left + (width - left - 16) * i / n

    def y_of(v: float) -> float:
        return top + (height - top - bottom) * (1 - v / peak)

    def polylines(series: np.ndarray, colour: str, dash: str = "") -> str:
        runs, current = [], []
        for i, v in enumerate(series):
            if np.isfinite(v):
                current.append(f"{x_of(i):.1f},{y_of(v):.1f}")
            elif current:
                runs.append(current)
                current = []
        if current:
            runs.append(current)
        return "".join(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2" {dash}/>'
                       for run in runs)

    out = [f'<svg id="{element_id}" class="control-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="12">',
           f'<text x="{left}" y="20" font-size="15" font-weight="bold">{escape(title)}</text>',
           polylines(ucl, "#d7301f", 'stroke-dasharray="6 4"'), polylines(centre, "#888888", 'stroke-dasharray="2 3"'),
           polylines(rate, "#2c7bb6")]
    for i, (value, fired) in enumerate(zip(rate, cell["fired"].to_numpy(dtype=bool))):
        if np.isfinite(value):
            out.append(f'<circle cx="{x_of(i):.1f}" cy="{y_of(value):.1f}" r="{5 if fired else 3}" '
                       f'fill="{"#d7301f" if fired else "#2c7bb6"}"/>')
    for i, week in enumerate(cell["week_start"]):
        if i % 2 == 0 or len(rate) <= 8:
            out.append(f'<text x="{x_of(i):.1f}" y="{height - 20}" text-anchor="middle">{pd.Timestamp(week):%m-%d}</text>')
    out.append(f'<text x="8" y="{top + 8}">{peak:.1f}‰</text><text x="8" y="{height - bottom}">0</text>')
    out.append(f'<text x="{left}" y="{height - 4}" fill="#555">{escape(legend)}</text>')
    out.append("</svg>")
    return "\n".join(out)
