"""Complaint attribution end to end on DataFrames: link, classify, rate, model, rank causes, warn, forecast.

`analyse(frames, day_from, day_to, config)` is pure (no database) and is what the benchmark times.
`refresh_attribution(session_factory, day_from, day_to)` loads the frames from the database in bulk, stores
the complaint ↔ call links and complaint categories, runs `analyse`, and syncs the rectification items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd

from qc.attribution.config import AttributionConfig, load_attribution_config
from qc.attribution.forecast import Backtest, backtest, forecast_next_week
from qc.attribution.linking import Links, classify_complaints, cross_check, link_complaints
from qc.attribution.stats import (VIOLATION_PREFIX, ModelFit, fit_complaint_model, rate_table,
                                  violation_table)
from qc.attribution.warnings import EarlyWarning, early_warnings, p_chart

RATE_DIMENSIONS = ("agency", "agent_id", "product", "delinquency_bucket")
DIMENSION_LABELS = {"agency": "催收机构", "agent_id": "坐席", "product": "业务线/产品", "delinquency_bucket": "逾期阶段",
                    "violation": "违规类别", "business_line": "业务线"}
NO_VIOLATION = "无违规"


@dataclass(frozen=True)
class Frames:
    calls: pd.DataFrame
    findings: pd.DataFrame
    complaints: pd.DataFrame


@dataclass(frozen=True)
class RootCause:
    rank: int
    factor: str          # violation | agency | product | delinquency_bucket
    level: str           # the category id or the factor's value
    label: str           # what a manager reads
    odds_ratio: float
    or_low: float
    or_high: float
    excess_complaints: float
    share: float         # of all complaints on the analysed calls
    calls: int
    complaints: int
    evidence_call_ids: tuple[str, ...]
    concentration: str   # e.g. "恒信资产 81%" — where the complained calls of this cause sit


@dataclass(frozen=True)
class AttributionResult:
    day_from: date
    day_to: date
    lookback_days: int
    n_calls: int
    n_complaints: int
    n_linked_complaints: int
    n_attributed_in_period: int
    rates: dict[str, pd.DataFrame]
    violations: pd.DataFrame
    model: ModelFit
    root_causes: tuple[RootCause, ...]
    heatmap_agency_violation: pd.DataFrame   # rows agency, columns category label; complaints per 1,000 calls
    heatmap_agency_violation_calls: pd.DataFrame
    heatmap_line_week: pd.DataFrame          # rows business line, columns week start; complaints per 1,000 calls
    control_chart: pd.DataFrame
    warnings: tuple[EarlyWarning, ...]
    hotspots: pd.DataFrame
    backtest: Backtest | None
    cross_check: pd.DataFrame
    links: Links = field(repr=False)
    complaints: pd.DataFrame = field(repr=False)
    rectification: pd.DataFrame = field(default_factory=pd.DataFrame)


def week_start(times: pd.Series) -> pd.Series:
    days = times.dt.normalize()
    return days - pd.to_timedelta(days.dt.weekday, unit="D")


def _call_level(calls: pd.DataFrame, findings: pd.DataFrame, attributed: pd.DataFrame,
                categories: list[str]) -> pd.DataFrame:
    """One row per call: factors, a boolean column per violation category, complaints attributed to it."""
    frame = calls[["recording_id", "call_id", *RATE_DIMENSIONS, "started_at"]].copy()
    index = pd.Index(frame["recording_id"])
    for category in categories:
        rows = index.get_indexer(findings.loc[findings["category"] == category, "recording_id"].unique())
        column = np.zeros(len(frame), dtype=bool)
        column[rows[rows >= 0]] = True
        frame[VIOLATION_PREFIX + category] = column
    counts = np.zeros(len(frame), dtype=np.int64)
    rows = index.get_indexer(attributed["recording_id"])
    np.add.at(counts, rows[rows >= 0], 1)
    frame["complaints"] = counts
    frame["complained"] = counts > 0
    return frame


def _weekly_cells(calls: pd.DataFrame, complaints: pd.DataFrame, weeks: pd.DatetimeIndex,
                  dimensions: tuple[str, ...], business_lines: list[str]) -> pd.DataFrame:
    """(dimension, value, week_start, calls, complaints) for every cell and week, zeros included."""
    call_week = week_start(calls["started_at"])
    complaint_week = week_start(complaints["received_at"])
    parts = []
    if "business_line" in dimensions:
        lines = list(dict.fromkeys(business_lines + sorted(complaints["business_line"].dropna().unique())))
        calls_per_week = call_week.value_counts().reindex(weeks, fill_value=0)
        counts = complaints.groupby([complaints["business_line"], complaint_week]).size()
        grid = pd.MultiIndex.from_product([lines, weeks], names=["value", "week_start"])
        counts = counts.reindex(grid, fill_value=0)
        parts.append(pd.DataFrame({"dimension": "business_line", "value": grid.get_level_values(0),
                                   "week_start": grid.get_level_values(1),
                                   "calls": calls_per_week.reindex(grid.get_level_values(1)).to_numpy(),
                                   "complaints": counts.to_numpy()}))
    if "agency" in dimensions:
        agencies = sorted(calls["agency"].dropna().unique())
        grid = pd.MultiIndex.from_product([agencies, weeks], names=["value", "week_start"])
        n = calls.groupby([calls["agency"], call_week]).size().reindex(grid, fill_value=0)
        x = complaints.groupby([complaints["attributed_agency"], complaint_week]).size().reindex(grid, fill_value=0)
        parts.append(pd.DataFrame({"dimension": "agency", "value": grid.get_level_values(0),
                                   "week_start": grid.get_level_values(1), "calls": n.to_numpy(),
                                   "complaints": x.to_numpy()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["dimension", "value", "week_start", "calls", "complaints"])


def _root_causes(fit: ModelFit, call_level: pd.DataFrame, config: AttributionConfig) -> tuple[RootCause, ...]:
    significant = fit.terms[(fit.terms["or_low"] > 1) & (fit.terms["excess"] > 0)]
    significant = significant.sort_values("excess", ascending=False, kind="stable")
    complained = call_level[call_level["complained"]].sort_values("started_at", ascending=False)
    causes = []
    for rank, term in enumerate(significant.itertuples(index=False), start=1):
        if term.factor == "violation":
            mask = complained[VIOLATION_PREFIX + term.level]
            label = f"违规: {config.finding_label(term.level)}"
        else:
            mask = complained[term.factor].fillna("(未知)").astype(str) == term.level
            label = f"{DIMENSION_LABELS.get(term.factor, term.factor)}: {term.level}"
        evidence = complained.loc[mask, "call_id"].head(config.model.evidence_calls_per_cause)
        where = complained.loc[mask, "agency"].value_counts(normalize=True)
        concentration = f"{where.index[0]} {where.iloc[0]:.0%}" if len(where) and term.factor != "agency" else ""
        causes.append(RootCause(rank=rank, factor=term.factor, level=term.level, label=label,
                                odds_ratio=term.odds_ratio, or_low=term.or_low, or_high=term.or_high,
                                excess_complaints=term.excess, share=term.share, calls=term.calls,
                                complaints=term.complaints, evidence_call_ids=tuple(evidence),
                                concentration=concentration))
    return tuple(causes)


def _heatmap_agency_violation(call_level: pd.DataFrame, categories: list[str],
                              config: AttributionConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    rates, counts = {}, {}
    violation_columns = [VIOLATION_PREFIX + c for c in categories]
    clean = ~call_level[violation_columns].any(axis=1) if violation_columns else pd.Series(True, call_level.index)
    for label, mask in [(NO_VIOLATION, clean)] + [(config.finding_label(c), call_level[VIOLATION_PREFIX + c])
                                                  for c in categories]:
        grouped = call_level.loc[mask].groupby("agency")["complaints"].agg(["size", "sum"])
        rates[label] = 1000 * grouped["sum"] / grouped["size"]
        counts[label] = grouped["size"]
    agencies = sorted(call_level["agency"].dropna().unique())
    return (pd.DataFrame(rates).reindex(agencies), pd.DataFrame(counts).reindex(agencies).fillna(0).astype(int))


def analyse(frames: Frames, day_from: date, day_to: date, config: AttributionConfig | None = None) -> AttributionResult:
    """All statistics for complaints received and calls made in [day_from, day_to] (inclusive, local dates)."""
    config = config or load_attribution_config()
    start = pd.Timestamp(day_from)
    end = pd.Timestamp(day_to) + pd.Timedelta(days=1)
    calls, findings = frames.calls, frames.findings
    complaints = frames.complaints[(frames.complaints["received_at"] >= start)
                                   & (frames.complaints["received_at"] < end)].copy()
    if "category" not in complaints or complaints["category"].isna().any():
        text = complaints["complaint_type"].fillna("") + " " + complaints["content"].fillna("")
        complaints["category"] = classify_complaints(text, config)
    complaints["business_line"] = complaints["business_type"].fillna("").map(
        lambda v: config.canonical_business_line(v) or (v if v else "其他"))

    links = link_complaints(calls, findings, complaints, config.lookback_days)
    attributed_agency = links.attributed.merge(calls[["recording_id", "agency"]], on="recording_id", how="left")
    agency_of = dict(zip(attributed_agency["complaint_id"], attributed_agency["agency"]))
    complaints["attributed_agency"] = complaints["complaint_id"].map(agency_of)
    if "agency" in complaints:
        complaints["attributed_agency"] = complaints["attributed_agency"].fillna(complaints["agency"])

    cohort = calls[(calls["started_at"] >= start) & (calls["started_at"] < end)]
    categories = sorted(findings.loc[findings["recording_id"].isin(cohort["recording_id"]), "category"].unique())
    call_level = _call_level(cohort, findings, links.attributed, categories)
    confidence = config.model.confidence

    rates = {d: rate_table(call_level, d, confidence) for d in RATE_DIMENSIONS}
    violations = violation_table(call_level, confidence)
    violations.insert(1, "label", violations["category"].map(config.finding_label))
    fit = fit_complaint_model(call_level, config.model.model_factors, config.model.min_calls_per_level, confidence)
    causes = _root_causes(fit, call_level, config)
    heat_rates, heat_counts = _heatmap_agency_violation(call_level, categories, config)

    weeks = pd.date_range(week_start(pd.Series([start])).iloc[0], end - pd.Timedelta(days=1), freq="W-MON")
    weekly = _weekly_cells(cohort, complaints, weeks, config.warnings.dimensions, list(config.business_lines))
    chart = p_chart(weekly, config.warnings)
    line_cells = weekly[weekly["dimension"] == "business_line"]
    heat_line_week = (line_cells.assign(rate=1000 * line_cells["complaints"] / line_cells["calls"].clip(lower=1))
                      .pivot(index="value", columns="week_start", values="rate"))
    heat_line_week = heat_line_week.reindex([v for v in dict.fromkeys(line_cells["value"])])
    forecast_cells = weekly[weekly["week_start"] < weeks.max()] if _partial_last_week(weeks, end) else weekly
    return AttributionResult(
        day_from=day_from, day_to=day_to, lookback_days=config.lookback_days,
        n_calls=len(cohort), n_complaints=len(complaints),
        n_linked_complaints=int(links.attributed["complaint_id"].nunique()),
        n_attributed_in_period=int(call_level["complaints"].sum()),
        rates=rates, violations=violations, model=fit, root_causes=causes,
        heatmap_agency_violation=heat_rates, heatmap_agency_violation_calls=heat_counts,
        heatmap_line_week=heat_line_week, control_chart=chart, warnings=early_warnings(chart),
        hotspots=forecast_next_week(forecast_cells, config.forecast).head(config.forecast.top_hotspots),
        backtest=backtest(forecast_cells, config.forecast),
        cross_check=cross_check(complaints, links, config), links=links, complaints=complaints)


def _partial_last_week(weeks: pd.DatetimeIndex, end: pd.Timestamp) -> bool:
    return len(weeks) > 1 and weeks.max() + pd.Timedelta(days=7) > end


# ---- database ---------------------------------------------------------------------------------------------

def _local_naive(values: pd.Series, tz: str) -> pd.Series:
    return pd.to_datetime(values, utc=True).dt.tz_convert(tz).dt.tz_localize(None)


def _utc_bound(day: date, tz: str) -> datetime:
    return pd.Timestamp(datetime.combine(day, time())).tz_localize(tz).tz_convert("UTC").to_pydatetime()


def load_frames(session, day_from: date, day_to: date, lookback_days: int, tz: str = "Asia/Shanghai") -> Frames:
    """Calls in [day_from − lookback, day_to], their findings (rejected ones left out), complaints in range."""
    from sqlalchemy import select

    from callqc.db.models import ComplaintRow, FindingRow, Recording

    lo = _utc_bound(day_from - timedelta(days=lookback_days), tz)
    hi = _utc_bound(day_to + timedelta(days=1), tz)
    connection = session.connection()
    call_query = (select(Recording.id.label("recording_id"), Recording.call_id, Recording.agency, Recording.agent_id,
                         Recording.account_id, Recording.product, Recording.delinquency_bucket,
                         Recording.callee_relation, Recording.started_at)
                  .where(Recording.started_at >= lo, Recording.started_at < hi, Recording.status != "rejected",
                         Recording.account_id.is_not(None)))
    calls = pd.read_sql(call_query, connection)
    calls["call_id"] = calls["call_id"].fillna(calls["recording_id"].astype(str))
    calls["started_at"] = _local_naive(calls["started_at"], tz)
    finding_query = (select(FindingRow.recording_id, FindingRow.category, FindingRow.severity, FindingRow.status)
                     .join(Recording, Recording.id == FindingRow.recording_id)
                     .where(Recording.started_at >= lo, Recording.started_at < hi, FindingRow.status != "rejected"))
    findings = pd.read_sql(finding_query, connection)
    complaint_query = (select(ComplaintRow.id.label("complaint_id"), ComplaintRow.complaint_no, ComplaintRow.account_id,
                              ComplaintRow.received_at, ComplaintRow.channel, ComplaintRow.complaint_type,
                              ComplaintRow.business_type, ComplaintRow.content, ComplaintRow.category,
                              ComplaintRow.agency)
                       .where(ComplaintRow.received_at >= _utc_bound(day_from, tz), ComplaintRow.received_at < hi))
    complaints = pd.read_sql(complaint_query, connection)
    complaints["received_at"] = _local_naive(complaints["received_at"], tz)
    return Frames(calls=calls, findings=findings, complaints=complaints)


def store_links(session, result: AttributionResult) -> int:
    """Replace the stored links of the analysed complaints; write back categories and attributed agencies."""
    from sqlalchemy import delete, insert, update

    from callqc.db.models import ComplaintCallLink, ComplaintRow

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
                        tz: str = "Asia/Shanghai", sync_rectification: bool = True) -> AttributionResult:
    """The nightly stage: load, analyse, store links, open rectification items for new warnings and confirmed
    fatal findings, measure their effect. Returns the result with the rectification table filled in."""
    from callqc.db import session_scope
    from qc.attribution import closed_loop

    config = config or load_attribution_config()
    with session_scope(session_factory) as session:
        frames = load_frames(session, day_from, day_to, config.lookback_days, tz)
        complaints = frames.complaints.copy()
        complaints["category"] = None  # always reclassify: the keyword lists may have changed
        result = analyse(Frames(frames.calls, frames.findings, complaints), day_from, day_to, config)
        store_links(session, result)
        if sync_rectification:
            closed_loop.open_items_for_warnings(session, result.warnings, result, config)
            closed_loop.open_items_for_fatal_findings(session, day_from, day_to, config, tz)
            closed_loop.measure_effects(session, config, tz, today=day_to)
        table = closed_loop.items_table(session)
    return _with_rectification(result, table)


def _with_rectification(result: AttributionResult, table: pd.DataFrame) -> AttributionResult:
    from dataclasses import replace

    return replace(result, rectification=table)


def markdown_summary(result: AttributionResult) -> str:
    """A short Markdown summary for the nightly flow's Prefect artifact."""
    lines = [f"# 投诉归因 {result.day_from} – {result.day_to}", "",
             f"- 通话 {result.n_calls:,} 通；投诉 {result.n_complaints:,} 件，其中 {result.n_linked_complaints:,} 件"
             f"关联到 {result.lookback_days} 天内的催收通话",
             f"- 每千通投诉率 {1000 * result.n_attributed_in_period / max(result.n_calls, 1):.2f}", ""]
    lines += ["## 根因排序", "", "| # | 根因 | OR (95% CI) | 超额投诉 | 占比 | 集中于 |", "|---|---|---|---|---|---|"]
    for cause in result.root_causes[:10]:
        lines.append(f"| {cause.rank} | {cause.label} | {cause.odds_ratio:.2f} ({cause.or_low:.2f}–{cause.or_high:.2f})"
                     f" | {cause.excess_complaints:.0f} | {cause.share:.1%} | {cause.concentration} |")
    if not result.root_causes:
        lines.append("| – | 无显著根因 | | | | |")
    lines += ["", "## 预警 (p-chart 3σ)", ""]
    if result.warnings:
        lines += [f"- {DIMENSION_LABELS.get(w.dimension, w.dimension)} **{w.value}** {w.week_start} 当周: "
                  f"{w.rate_per_1000:.2f}‰ > 控制上限 {w.ucl_per_1000:.2f}‰ (中心线 {w.centre_per_1000:.2f}‰)"
                  for w in result.warnings]
    else:
        lines.append("- 无")
    if result.backtest is not None:
        b = result.backtest
        lines += ["", f"热点预测回测 ({b.weeks} 周): WAPE {b.wape:.1%}（朴素预测 {b.naive_wape:.1%}），"
                      f"90% 区间覆盖率 {b.interval_coverage:.0%}"]
    if len(result.rectification):
        open_items = result.rectification[result.rectification["status"].isin(["open", "in_progress"])]
        lines += ["", f"整改事项: 共 {len(result.rectification)} 项，未完成 {len(open_items)} 项"]
    return "\n".join(lines) + "\n"
