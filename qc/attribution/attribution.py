"""Complaint attribution end to end on DataFrames: link, classify, rate, model, rank causes, warn, forecast.

`analyse(frames, day_from, day_to, config)` is pure (no database) and is what the benchmark times. The database
side — loading the frames in bulk, storing the complaint ↔ call links, the rectification items — is
callqc.attribution (`refresh_attribution`), which calls `analyse` with plain frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from qc.attribution.config import AttributionConfig, load_attribution_config
from qc.attribution.forecast import Backtest, backtest, forecast_next_week
from qc.attribution.linking import Links, classify_complaints, cross_check, link_complaints
from qc.attribution.stats import (VIOLATION_PREFIX, ModelFit, fit_complaint_model, rate_table,
                                  violation_table)
from qc.attribution.texts import Texts, texts
from qc.attribution.warnings import EarlyWarning, early_warnings, p_chart

RATE_DIMENSIONS = ("agency", "agent_id", "product", "delinquency_bucket")


@dataclass(frozen=True)
class Frames:
    calls: pd.DataFrame
    findings: pd.DataFrame
    complaints: pd.DataFrame


@dataclass(frozen=True)
class RootCause:
    rank: int
    factor: str          # the level a cause belongs to: violation (behaviour) | agency | agent_id | product | ...
    level: str           # the category id or the factor's value (an agent's id)
    label: str           # what a manager reads, in the report's language
    level_label: str     # the factor as a manager reads it: 行为 / 坐席 / 机构 … (Behaviour / Agent / Agency …)
    odds_ratio: float
    or_low: float
    or_high: float
    excess_complaints: float
    share: float         # of all complaints on the analysed calls
    calls: int
    complaints: int
    evidence_call_ids: tuple[str, ...]
    concentration: str   # e.g. "恒信资产 81%" — where the complained calls of this cause sit
    parent: str = ""     # an agent's agency


@dataclass(frozen=True)
class AttributionResult:
    day_from: date
    day_to: date
    lookback_days: int
    n_calls: int
    n_complaints: int
    n_linked_complaints: int
    n_attributed_in_period: int
    language: str
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
    n_synthetic_calls: int = 0   # demo history in the period (recordings in the "synthetic" bucket)
    min_calls_per_cell: int = 30
    confidence: float = 0.95
    min_complaints: int = 5
    baseline_weeks: int = 4

    @property
    def texts(self) -> Texts:
        return texts(self.language)


def week_start(times: pd.Series) -> pd.Series:
    days = times.dt.normalize()
    return days - pd.to_timedelta(days.dt.weekday, unit="D")


def _call_level(calls: pd.DataFrame, findings: pd.DataFrame, attributed: pd.DataFrame,
                categories: list[str]) -> pd.DataFrame:
    """One row per call: factors, a boolean column per violation category, complaints attributed to it."""
    frame = calls[["recording_id", "call_id", *RATE_DIMENSIONS, "started_at", "day"]].copy()
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
    """(dimension, value, week_start, calls, complaints, flagged) for every cell and week, zeros included.

    `calls` is the call-level frame; `flagged` counts calls with a QC finding (a forecast covariate). A
    business-line cell's calls are all the week's calls (complaints carry the line, calls may not).
    """
    call_week = week_start(calls["day"])
    complaint_week = week_start(complaints["received_at"])
    violation_columns = [c for c in calls.columns if c.startswith(VIOLATION_PREFIX)]
    flagged = calls[violation_columns].any(axis=1) if violation_columns else pd.Series(False, index=calls.index)
    parts = []
    if "business_line" in dimensions:
        lines = list(dict.fromkeys(business_lines + sorted(complaints["business_line"].dropna().unique())))
        calls_per_week = call_week.value_counts().reindex(weeks, fill_value=0)
        flagged_per_week = flagged.groupby(call_week).sum().reindex(weeks, fill_value=0)
        counts = complaints.groupby([complaints["business_line"], complaint_week]).size()
        grid = pd.MultiIndex.from_product([lines, weeks], names=["value", "week_start"])
        counts = counts.reindex(grid, fill_value=0)
        parts.append(pd.DataFrame({"dimension": "business_line", "value": grid.get_level_values(0),
                                   "week_start": grid.get_level_values(1),
                                   "calls": calls_per_week.reindex(grid.get_level_values(1)).to_numpy(),
                                   "complaints": counts.to_numpy(),
                                   "flagged": flagged_per_week.reindex(grid.get_level_values(1)).to_numpy()}))
    if "agency" in dimensions:
        agencies = sorted(calls["agency"].dropna().unique())
        grid = pd.MultiIndex.from_product([agencies, weeks], names=["value", "week_start"])
        n = calls.groupby([calls["agency"], call_week]).size().reindex(grid, fill_value=0)
        f = flagged.groupby([calls["agency"], call_week]).sum().reindex(grid, fill_value=0)
        x = complaints.groupby([complaints["attributed_agency"], complaint_week]).size().reindex(grid, fill_value=0)
        parts.append(pd.DataFrame({"dimension": "agency", "value": grid.get_level_values(0),
                                   "week_start": grid.get_level_values(1), "calls": n.to_numpy(),
                                   "complaints": x.to_numpy(), "flagged": f.to_numpy()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["dimension", "value", "week_start", "calls", "complaints", "flagged"])


def _root_causes(fit: ModelFit, call_level: pd.DataFrame, config: AttributionConfig) -> tuple[RootCause, ...]:
    """Model terms whose interval lies above 1, with an odds ratio of at least min_odds_ratio and enough
    complaints, by excess complaints."""
    t = texts(config.language)
    significant = fit.terms[(fit.terms["or_low"] > 1) & (fit.terms["excess"] > 0)
                            & (fit.terms["odds_ratio"] >= config.model.min_odds_ratio)
                            & (fit.terms["complaints"] >= config.model.min_complaints)]
    significant = significant.sort_values("excess", ascending=False, kind="stable")
    complained = call_level[call_level["complained"]].sort_values("started_at", ascending=False)
    causes = []
    for rank, term in enumerate(significant.itertuples(index=False), start=1):
        parent = ""
        if term.factor == "violation":
            mask = complained[VIOLATION_PREFIX + term.level]
            value = finding_label(config, term.level)
        elif term.kind == "pooled":
            parent = term.reference
            mask = ((complained[term.factor].fillna("(未知)").astype(str) == term.level)
                    & (complained[config.model.nested_in].fillna("(未知)").astype(str) == parent))
            value = t("cause.agent", agent=term.level, agency=parent)
        else:
            mask = complained[term.factor].fillna("(未知)").astype(str) == term.level
            value = term.level
        evidence = complained.loc[mask, "call_id"].head(config.model.evidence_calls_per_cause)
        where = complained.loc[mask, "agency"].value_counts(normalize=True)
        concentration = (f"{where.index[0]} {where.iloc[0]:.0%}"
                         if len(where) and term.factor not in ("agency", "agent_id") else "")
        causes.append(RootCause(rank=rank, factor=term.factor, level=term.level,
                                label=t("cause.label", level=t.level(term.factor), value=value),
                                level_label=t.level(term.factor),
                                odds_ratio=term.odds_ratio, or_low=term.or_low, or_high=term.or_high,
                                excess_complaints=term.excess, share=term.share, calls=term.calls,
                                complaints=term.complaints, evidence_call_ids=tuple(evidence),
                                concentration=concentration, parent=parent))
    return tuple(causes)


def finding_label(config: AttributionConfig, category: str) -> str:
    """A finding category as the report's reader reads it (the configured labels are Chinese)."""
    if config.language == "zh-CN":
        return config.finding_label(category)
    return category.replace("_", " ")


def _heatmap_agency_violation(call_level: pd.DataFrame, categories: list[str],
                              config: AttributionConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Complaints per 1,000 calls per agency and violation category (NaN where a cell has too few calls)."""
    rates, counts = {}, {}
    violation_columns = [VIOLATION_PREFIX + c for c in categories]
    clean = ~call_level[violation_columns].any(axis=1) if violation_columns else pd.Series(True, call_level.index)
    t = texts(config.language)
    for label, mask in [(t("no_violation"), clean)] + [(finding_label(config, c), call_level[VIOLATION_PREFIX + c])
                                                       for c in categories]:
        grouped = call_level.loc[mask].groupby("agency")["complaints"].agg(["size", "sum"])
        rates[label] = (1000 * grouped["sum"] / grouped["size"]).where(grouped["size"] >= config.model.min_calls_per_cell)
        counts[label] = grouped["size"]
    agencies = sorted(call_level["agency"].dropna().unique())
    return (pd.DataFrame(rates).reindex(agencies), pd.DataFrame(counts).reindex(agencies).fillna(0).astype(int))


def analyse(frames: Frames, day_from: date, day_to: date, config: AttributionConfig | None = None) -> AttributionResult:
    """All statistics for complaints received and calls made in [day_from, day_to] (inclusive, local dates)."""
    config = config or load_attribution_config()
    start = pd.Timestamp(day_from)
    end = pd.Timestamp(day_to) + pd.Timedelta(days=1)
    calls, findings = frames.calls, frames.findings
    if "day" not in calls:  # frames built without the database (synthetic, benchmark): times are callee-local
        calls = calls.assign(day=calls["started_at"].dt.normalize())
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

    cohort = calls[(calls["day"] >= start) & (calls["day"] < end)]
    categories = sorted(findings.loc[findings["recording_id"].isin(cohort["recording_id"]), "category"].unique())
    call_level = _call_level(cohort, findings, links.attributed, categories)
    confidence = config.model.confidence

    options = config.model
    rates = {d: rate_table(call_level, d, confidence, options.min_complaints) for d in RATE_DIMENSIONS}
    violations = violation_table(call_level, confidence, options.min_complaints)
    violations.insert(1, "label", violations["category"].map(lambda c: finding_label(config, c)))
    fit = fit_complaint_model(call_level, options.model_factors, options.min_calls_per_level, confidence,
                              pooled=options.pooled_factors, nested_in=options.nested_in)
    causes = _root_causes(fit, call_level, config)
    heat_rates, heat_counts = _heatmap_agency_violation(call_level, categories, config)

    weeks = pd.date_range(week_start(pd.Series([start])).iloc[0], end - pd.Timedelta(days=1), freq="W-MON")
    weekly = _weekly_cells(call_level, complaints, weeks, config.warnings.dimensions, list(config.business_lines))
    chart = p_chart(weekly, config.warnings)
    line_cells = weekly[weekly["dimension"] == "business_line"]
    # a week with too few calls (none at all, or a thin first/last week) is "insufficient data", not a rate
    thin = line_cells["calls"] < config.model.min_calls_per_cell
    heat_line_week = (line_cells.assign(rate=(1000 * line_cells["complaints"] / line_cells["calls"].clip(lower=1))
                                        .where(~thin))
                      .pivot(index="value", columns="week_start", values="rate"))
    heat_line_week = heat_line_week.reindex([v for v in dict.fromkeys(line_cells["value"])])
    forecast_cells = weekly[weekly["week_start"] < weeks.max()] if _partial_last_week(weeks, end) else weekly
    tested = backtest(forecast_cells, config.forecast)
    return AttributionResult(
        day_from=day_from, day_to=day_to, lookback_days=config.lookback_days,
        n_calls=len(cohort), n_complaints=len(complaints),
        n_linked_complaints=int(links.attributed["complaint_id"].nunique()),
        n_attributed_in_period=int(call_level["complaints"].sum()), language=config.language,
        n_synthetic_calls=int(cohort["synthetic"].sum()) if "synthetic" in cohort else 0,
        min_calls_per_cell=options.min_calls_per_cell, confidence=confidence, min_complaints=options.min_complaints,
        baseline_weeks=config.warnings.min_baseline_weeks,
        rates=rates, violations=violations, model=fit, root_causes=causes,
        heatmap_agency_violation=heat_rates, heatmap_agency_violation_calls=heat_counts,
        heatmap_line_week=heat_line_week, control_chart=chart, warnings=early_warnings(chart),
        hotspots=forecast_next_week(forecast_cells, config.forecast, tested).head(config.forecast.top_hotspots),
        backtest=tested,
        cross_check=cross_check(complaints, links, config), links=links, complaints=complaints)


def _partial_last_week(weeks: pd.DatetimeIndex, end: pd.Timestamp) -> bool:
    return len(weeks) > 1 and weeks.max() + pd.Timedelta(days=7) > end


def markdown_summary(result: AttributionResult) -> str:
    """A short Markdown summary for the nightly flow's Prefect artifact, in the report's language."""
    t = result.texts
    rate = 1000 * result.n_attributed_in_period / max(result.n_calls, 1)
    lines = [f"# {t('report.title')} {result.day_from} – {result.day_to}", "",
             f"- {t('summary.calls')}: {result.n_calls:,}; {t('summary.complaints')}: {result.n_complaints:,}; "
             f"{t('summary.linked')}: {result.n_linked_complaints:,}",
             f"- {t('summary.rate')}: {rate:.2f}", ""]
    lines += [f"## {t('causes.sheet')}", "",
              f"| # | {t('col.level')} | {t('col.cause')} | OR (95% CI) | {t('col.excess')} | {t('col.share')} | "
              f"{t('col.concentration')} |", "|---|---|---|---|---|---|---|"]
    for cause in result.root_causes[:10]:
        lines.append(f"| {cause.rank} | {cause.level_label} | {cause.label} | {cause.odds_ratio:.2f} "
                     f"({cause.or_low:.2f}–{cause.or_high:.2f}) | {cause.excess_complaints:.0f} | {cause.share:.1%} "
                     f"| {cause.concentration} |")
    if not result.root_causes:
        lines += ["", t("causes.empty", confidence=result.confidence, min=result.min_complaints)]
    lines += ["", f"## {t('warnings')}", ""]
    if result.warnings:
        lines += ["- " + t("warning.line", dimension=t.level(w.dimension), value=w.value, week=w.week_start,
                           rate=w.rate_per_1000, ucl=w.ucl_per_1000) for w in result.warnings]
    else:
        lines.append(t("warnings.empty", weeks=result.baseline_weeks))
    if result.backtest is not None:
        b = result.backtest
        lines += ["", f"{t('backtest', weeks=b.weeks, cells=b.cells)}: "
                      + t("report.sep").join(f"{t('forecast.' + s.method)} WAPE {s.wape:.1%} / {s.coverage:.0%}"
                                             for s in b.scores.itertuples(index=False)), "", b.verdict(t)]
    return "\n".join(lines) + "\n"
