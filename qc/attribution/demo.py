"""What README command 1 adds for the manager's view: a clearly labelled synthetic history and the sample
complaint export, both dated to the demo day.

The 12 sample calls alone cannot show attribution: a complaint rate needs hundreds of calls, a p-chart weeks of
baseline. So the demo writes a **synthetic** 12-week history for the demo agencies (the project's generator,
qc.attribution.synthetic) with planted causes — threats ×3, third-party disclosure ×2, one agent (LZ-000 of
lianzhong) ×3, and 协商还款 complaining 5× as often in the last three weeks — into the database, labelled
everywhere as synthetic: bucket `synthetic`, call ids `SYN-C…`, complaint numbers `SYN-TS…`, and a note on
the dashboard and in the report with their count. The sample export (samples/complaints, GBK, title and 合计
rows as a bank sends it) complains about five of the sample calls; the demo moves each complaint to the demo
day, keeping its time of day, as `callqc samples upload --date` does for the calls, and imports the copy.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from qc.attribution.config import AttributionConfig, load_attribution_config
from qc.attribution.importer import Sheet, find_header, parse_time, skip_reason
from qc.attribution.synthetic import Population, PopulationSpec

SAMPLE_EXPORT = Path(__file__).resolve().parents[2] / "samples" / "complaints" / "complaints_2026-11_bank_export.csv"
SYNTHETIC_PREFIX = "SYN-"
HISTORY_WEEKS = 12


def history_spec(last_day: date, agencies: tuple[str, ...], seed: int = 2026) -> PopulationSpec:
    """12 weeks of calls ending on `last_day` for the given agency codes, with the planted causes above."""
    return PopulationSpec(n_calls=8_000, n_agencies=len(agencies), n_agents=12 * len(agencies),
                          weeks=HISTORY_WEEKS, start=last_day - timedelta(days=7 * HISTORY_WEEKS - 1),
                          target_complaints=520, rise_factor=5.0, rr_hot_agent=3.0, hot_agent_agency=1,
                          agency_names=agencies, seed=seed)


def labelled(population: Population) -> Population:
    """The population with every call id and complaint number marked synthetic."""
    calls = population.calls.assign(call_id=SYNTHETIC_PREFIX + population.calls["call_id"])
    complaints = population.complaints.assign(complaint_no=SYNTHETIC_PREFIX + population.complaints["complaint_no"])
    return replace(population, calls=calls, complaints=complaints)


def redate_export(source: Path, target: Path, day: date, tz: str, config: AttributionConfig | None = None) -> int:
    """Copy a complaint export with every complaint moved to `day` (same local time of day, written as
    YYYY-MM-DD HH:MM:SS); title, total and note rows are kept as they are. Returns the complaints moved."""
    config = config or load_attribution_config()
    raw = source.read_bytes()
    text = raw.decode("gb18030")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    table = find_header(Sheet(None, list(enumerate(rows, start=1))), config)
    if table is None or "received_at" not in table.mapping:
        raise ValueError(f"{source}: no header with a complaint time column")
    column = table.mapping["received_at"]
    moved = 0
    for number, values in table.rows:
        if skip_reason(values, table.header, config) or column >= len(values) or not values[column].strip():
            continue
        local = pd.Timestamp(parse_time(values[column], tz)).tz_convert(tz)
        values[column] = f"{day.isoformat()} {local:%H:%M:%S}"
        rows[number - 1] = values
        moved += 1
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(out.getvalue().encode("gbk"))
    return moved
