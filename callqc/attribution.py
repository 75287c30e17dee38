"""The database side of the complaint attribution: load the frames in bulk, store links and categories, keep the
rectification items in step, write the report; and, for tests and the demo, store a synthetic population.

The statistics are qc.attribution's (`analyse`, pure); this module reads and writes rows and calls it with plain
data frames. Days follow qc.attribution.days: a call belongs to the callee's local date, as the run files it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, func, insert, select, update

from callqc import rectification
from callqc.db import session_scope
from callqc.db.models import ComplaintCallLink, ComplaintRow, FindingRow, Recording
from qc.attribution import demo
from qc.attribution.attribution import AttributionResult, Frames, analyse
from qc.attribution.config import AttributionConfig, load_attribution_config
from qc.attribution.days import QUERY_MARGIN, call_days, day_start_utc
from qc.attribution.synthetic import Population, generate_population
from qc.attribution.texts import texts
from qc.reports import ReportPaths, render_report


def _local_naive(values: pd.Series, tz: str) -> pd.Series:
    return pd.to_datetime(values, utc=True).dt.tz_convert(tz).dt.tz_localize(None)


def load_frames(session, day_from: date, day_to: date, lookback_days: int, tz: str) -> Frames:
    """Calls of the local days [day_from − lookback, day_to], their findings (rejected ones left out), complaints
    received in range. A call's `day` is the callee's local date (qc.attribution.days, the run's rule); its
    `started_at` is the instant in `tz`, the clock complaints are dated in, so linking compares like with like."""
    first_day = day_from - timedelta(days=lookback_days)
    lo = day_start_utc(first_day, tz) - QUERY_MARGIN
    hi = day_start_utc(day_to + timedelta(days=1), tz) + QUERY_MARGIN
    connection = session.connection()
    call_query = (select(Recording.id.label("recording_id"), Recording.call_id, Recording.agency, Recording.agent_id,
                         Recording.account_id, Recording.product, Recording.delinquency_bucket,
                         Recording.callee_relation, Recording.started_at, Recording.started_at_offset_min,
                         (Recording.bucket == "synthetic").label("synthetic"))
                  .where(Recording.started_at >= lo, Recording.started_at < hi, Recording.status != "rejected",
                         Recording.account_id.is_not(None)))
    calls = pd.read_sql(call_query, connection)
    calls["call_id"] = calls["call_id"].fillna(calls["recording_id"].astype(str))
    calls["day"] = call_days(calls["started_at"], calls.pop("started_at_offset_min"), tz)
    calls["started_at"] = _local_naive(calls["started_at"], tz)
    calls["synthetic"] = calls["synthetic"].fillna(False).astype(bool)
    in_range = (calls["day"] >= pd.Timestamp(first_day)) & (calls["day"] <= pd.Timestamp(day_to))
    calls = calls[in_range].reset_index(drop=True)
    hi = day_start_utc(day_to + timedelta(days=1), tz)
    finding_query = (select(FindingRow.recording_id, FindingRow.category, FindingRow.severity, FindingRow.status)
                     .join(Recording, Recording.id == FindingRow.recording_id)
                     .where(Recording.started_at >= lo, Recording.started_at < hi, FindingRow.status != "rejected"))
    findings = pd.read_sql(finding_query, connection)
    complaint_query = (select(ComplaintRow.id.label("complaint_id"), ComplaintRow.complaint_no, ComplaintRow.account_id,
                              ComplaintRow.received_at, ComplaintRow.channel, ComplaintRow.complaint_type,
                              ComplaintRow.business_type, ComplaintRow.content, ComplaintRow.category,
                              ComplaintRow.agency)
                       .where(ComplaintRow.received_at >= day_start_utc(day_from, tz), ComplaintRow.received_at < hi))
    complaints = pd.read_sql(complaint_query, connection)
    complaints["received_at"] = _local_naive(complaints["received_at"], tz)
    return Frames(calls=calls, findings=findings, complaints=complaints)


def store_links(session, result: AttributionResult) -> int:
    """Replace the stored links of the analysed complaints; write back categories and attributed agencies."""
    complaint_ids = [int(i) for i in result.complaints["complaint_id"]]
    for chunk in range(0, len(complaint_ids), 5000):
        session.execute(delete(ComplaintCallLink).where(
            ComplaintCallLink.complaint_id.in_(complaint_ids[chunk:chunk + 5000])))
    categories = dict(zip(result.links.finding_categories["recording_id"], result.links.finding_categories["categories"]))
    rows = [{"complaint_id": int(link.complaint_id), "recording_id": int(link.recording_id),
             "days_before": round(float(link.days_before), 3), "finding_categories": list(categories.get(link.recording_id, ()))}
            for link in result.links.links.itertuples(index=False)]
    if rows:
        session.execute(insert(ComplaintCallLink), rows)
    updates = [{"id": int(c.complaint_id), "category": c.category,
                "agency": None if pd.isna(c.attributed_agency) else c.attributed_agency}
               for c in result.complaints.itertuples(index=False)]
    if updates:
        session.execute(update(ComplaintRow), updates)
    return len(rows)


def refresh_attribution(session_factory, day_from: date, day_to: date, config: AttributionConfig | None = None,
                        *, tz: str, sync_rectification: bool = True) -> AttributionResult:
    """The nightly stage: load, analyse, store links, open rectification items for new warnings and confirmed
    fatal findings, measure their effect. Returns the result with the rectification table filled in."""
    config = config or load_attribution_config()
    with session_scope(session_factory) as session:
        frames = load_frames(session, day_from, day_to, config.lookback_days, tz)
        complaints = frames.complaints.copy()
        complaints["category"] = None  # always reclassify: the keyword lists may have changed
        result = analyse(Frames(frames.calls, frames.findings, complaints), day_from, day_to, config)
        store_links(session, result)
        if sync_rectification:
            rectification.open_items_for_warnings(session, result.warnings, result, config)
            rectification.open_items_for_fatal_findings(session, day_from, day_to, config, tz)
            rectification.measure_effects(session, config, tz, today=day_to)
        table = rectification.items_table(session)
    return _with_rectification(result, table)


def _with_rectification(result: AttributionResult, table: pd.DataFrame) -> AttributionResult:
    return replace(result, rectification=table)


def write_report(session_factory, day_from: date, day_to: date, out_dir: Path | str,
                 *, tz: str, language: str | None = None) -> ReportPaths:
    """The nightly flow's report stage: refresh the attribution (links, rectification items) and render it, in
    configs/attribution.yaml's language unless `language` (zh-CN or en) is given."""
    config = load_attribution_config()
    if language:
        texts(language)  # fails with the known languages
        config = replace(config, language=language)
    return render_report(refresh_attribution(session_factory, day_from, day_to, config, tz=tz), out_dir)


# ---- synthetic populations (tests, the demo) --------------------------------------------------------------

def write_population(session_factory, population: Population, timezone: str) -> dict[str, int]:
    """Store the population in the database (recordings, findings, complaints) with bulk inserts.

    Local times are stored as UTC, as the ingest stage does. Returns recording_id (population) -> DB id counts.
    """
    calls = population.calls
    started = calls["started_at"].dt.tz_localize(timezone).dt.tz_convert("UTC")
    offset = int(started.iloc[0].tz_convert(timezone).utcoffset().total_seconds() // 60) if len(calls) else 0
    recordings = [
        {"bucket": "synthetic", "key": f"{row.agency}/{row.started_at:%Y-%m-%d}/{row.call_id}.flac",
         "etag": "synthetic", "call_id": row.call_id, "agency": row.agency, "agent_id": row.agent_id,
         "account_id": row.account_id, "product": row.product, "delinquency_bucket": row.delinquency_bucket,
         "callee_relation": row.callee_relation, "started_at": ts.to_pydatetime(), "started_at_offset_min": offset,
         "status": "scored", "channel_map": {}, "raw_metadata": {}}
        for row, ts in zip(calls.itertuples(index=False), started)]
    with session_scope(session_factory) as session:
        if recordings:
            session.execute(insert(Recording), recordings)
        ids = dict(session.execute(select(Recording.call_id, Recording.id).where(Recording.bucket == "synthetic")).all())
        db_id = calls["call_id"].map(ids)
        by_population_id = dict(zip(calls["recording_id"], db_id))
        finding_rows = [{"recording_id": int(by_population_id[f.recording_id]), "rule_id": f"SYN-{f.category}",
                         "category": f.category, "severity": f.severity, "status": f.status, "segment_ids": [],
                         "pack": "synthetic", "pack_version": "1"}
                        for f in population.findings.itertuples(index=False)]
        if finding_rows:
            session.execute(insert(FindingRow), finding_rows)
        received = population.complaints["received_at"].dt.tz_localize(timezone).dt.tz_convert("UTC")
        complaint_rows = [{"complaint_no": c.complaint_no, "account_id": c.account_id,
                           "received_at": ts.to_pydatetime(), "channel": c.channel,
                           "complaint_type": c.complaint_type, "business_type": c.business_type,
                           "content": c.content, "source_file": "synthetic"}
                          for c, ts in zip(population.complaints.itertuples(index=False), received)]
        if complaint_rows:
            session.execute(insert(ComplaintRow), complaint_rows)
    return {"recordings": len(recordings), "findings": len(finding_rows), "complaints": len(complaint_rows)}


def demo_history_calls(session_factory) -> int:
    """How many synthetic calls the database already holds (the history is written once)."""
    with session_scope(session_factory) as session:
        return session.execute(select(func.count(Recording.id)).where(Recording.bucket == "synthetic")).scalar_one()


def write_demo_history(session_factory, last_day: date, agencies: tuple[str, ...], tz: str) -> dict[str, int]:
    population = demo.labelled(generate_population(demo.history_spec(last_day, agencies)))
    return write_population(session_factory, population, timezone=tz)
