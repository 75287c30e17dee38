"""The report's tables, built once from an AttributionResult and rendered both to HTML and to Excel.

Every heading, column and sentence comes from qc.attribution.texts in the result's language. A table with no rows
carries a one-line reason instead (`empty`), shown in place of a header-only table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from qc.attribution.attribution import AttributionResult
from qc.attribution.texts import Texts


@dataclass(frozen=True)
class ReportTable:
    key: str
    title: str        # section heading (HTML) and sheet title
    sheet: str        # Excel sheet name (≤31 characters)
    frame: pd.DataFrame
    html_rows: int | None = None  # the HTML shows the first N rows; Excel always has all
    empty: str = ""   # why there are no rows (shown instead of the table)


def _number(value: float, digits: int = 2):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(float(value), digits)


def _rr_cells(t: Texts, sufficient, rr, low, high, a, n1, c, n0) -> tuple:
    """(RR, CI low, CI high), or "数据不足（counts）" and blanks where a side has too few complaints."""
    if sufficient:
        return _number(rr), _number(low), _number(high)
    return t("insufficient.counts", a=int(a), n1=int(n1), c=int(c), n0=int(n0)), None, None


def _rates(t: Texts, frame: pd.DataFrame, label: str) -> pd.DataFrame:
    rr = [_rr_cells(t, r.sufficient, r.rr_vs_rest, r.rr_low, r.rr_high, r.complaints, r.calls, r.rest_complaints,
                    r.rest_calls) for r in frame.itertuples(index=False)]
    return pd.DataFrame({label: frame["value"], t("summary.calls"): frame["calls"],
                         t("summary.complaints"): frame["complaints"], t("col.rate"): frame["rate_per_1000"].round(2),
                         t("col.rr_rest"): [r[0] for r in rr], t("col.rr_low"): [r[1] for r in rr],
                         t("col.rr_high"): [r[2] for r in rr]})


def build_tables(result: AttributionResult) -> list[ReportTable]:
    t = result.texts
    tables: list[ReportTable] = []
    rate_overall = 1000 * result.n_attributed_in_period / max(result.n_calls, 1)
    metrics = [(t("summary.period"), t("summary.period_value", day_from=result.day_from, day_to=result.day_to)),
               (t("summary.calls"), f"{result.n_calls:,}"), (t("summary.complaints"), f"{result.n_complaints:,}"),
               (t("summary.linked"), f"{result.n_linked_complaints:,}"),
               (t("summary.attributed"), f"{result.n_attributed_in_period:,}"), (t("summary.rate"), f"{rate_overall:.2f}"),
               (t("summary.lookback"), str(result.lookback_days)), (t("summary.warnings"), str(len(result.warnings))),
               (t("summary.causes"), str(len(result.root_causes)))]
    if result.n_synthetic_calls:
        metrics.insert(2, (t("summary.synthetic"), f"{result.n_synthetic_calls:,}"))
    tables.append(ReportTable("summary", t("summary"), t("summary"),
                              pd.DataFrame(metrics, columns=[t("summary.metric"), t("summary.value")])))

    causes = pd.DataFrame([{t("col.rank"): c.rank, t("col.level"): c.level_label, t("col.cause"): c.label,
                            t("col.or"): round(c.odds_ratio, 2), t("col.ci"): f"{c.or_low:.2f}–{c.or_high:.2f}",
                            t("col.excess"): round(c.excess_complaints, 1), t("col.share"): f"{c.share:.1%}",
                            t("col.calls"): c.calls, t("col.complained"): c.complaints,
                            t("col.concentration"): c.concentration,
                            t("col.evidence"): t("report.sep").join(c.evidence_call_ids)}
                           for c in result.root_causes])
    tables.append(ReportTable("root_causes", t("causes"), t("causes.sheet"), causes,
                              empty=t("causes.empty", confidence=result.confidence, min=result.min_complaints)))

    v = result.violations
    rr = [_rr_cells(t, r.sufficient, r.rr, r.rr_low, r.rr_high, r.complaints_with, r.calls_with, r.complaints_without,
                    r.calls_without) for r in v.itertuples(index=False)]
    tables.append(ReportTable("violations", t("violations"), t("violations.sheet"),
                              pd.DataFrame({t("col.category"): v["label"], t("col.calls_with"): v["calls_with"],
                                            t("col.complaints_with"): v["complaints_with"].astype(int),
                                            t("col.rate_with"): v["rate_with"].round(2),
                                            t("col.rate_without"): v["rate_without"].round(2),
                                            t("col.rr"): [r[0] for r in rr], t("col.rr_low"): [r[1] for r in rr],
                                            t("col.rr_high"): [r[2] for r in rr]}) if len(v) else pd.DataFrame(),
                              empty=t("violations.empty")))

    model = result.model
    if model.method == "penalised-logit":
        sd = next(iter(model.pooled_sd.values()), None)
        method = t("method.penalised-logit", sd=f"{sd:.2f}") if sd is not None else t("method.penalised-logit-plain")
    else:
        method = t(f"method.{model.method}")
    terms = model.terms
    labels = dict(zip(result.violations["category"], result.violations["label"]))
    enough = terms["complaints"] >= result.min_complaints if len(terms) else pd.Series(dtype=bool)

    def reference(row) -> str:
        if row.kind == "violation":
            return t("ref.violation")
        return t("ref.agent", agency=row.reference) if row.kind == "pooled" else row.reference

    tables.append(ReportTable("model", t("model", n=model.n_calls, method=method), t("model.sheet"),
                              pd.DataFrame({t("col.factor"): terms["factor"].map(t.level),
                                            t("col.value"): [labels.get(level, level) if kind == "violation" else level
                                                             for kind, level in zip(terms["kind"], terms["level"])],
                                            t("col.reference"): [reference(r) for r in terms.itertuples(index=False)],
                                            "OR": terms["odds_ratio"].round(3).where(enough, None),
                                            t("col.rr_low"): terms["or_low"].round(3).where(enough, None),
                                            t("col.rr_high"): terms["or_high"].round(3).where(enough, None),
                                            t("col.p"): [f"{p:.2g}" if ok else t("insufficient")
                                                         for p, ok in zip(terms["p_value"], enough)],
                                            t("summary.calls"): terms["calls"],
                                            t("summary.complaints"): terms["complaints"],
                                            t("col.excess"): terms["excess"].round(1)}) if len(terms) else pd.DataFrame(),
                              html_rows=40, empty=t("model.empty", reason=method)))
    factors = model.factors[model.factors["excess"] > 0] if len(model.factors) else model.factors
    tables.append(ReportTable("factor_shares", t("factor_shares"), t("factor_shares.sheet"),
                              pd.DataFrame({t("col.factor"): factors["factor"].map(t.level),
                                            t("col.excess"): factors["excess"].round(1),
                                            t("col.share"): factors["share"].map(lambda s: f"{s:.1%}")})
                              if len(factors) else pd.DataFrame(), empty=t("factor_shares.empty")))
    for dimension in ("agency", "agent_id", "product", "delinquency_bucket"):
        by = t.level(dimension)
        frame = result.rates[dimension]
        tables.append(ReportTable(f"rates_{dimension}", t("rates", by=by), t("rates.sheet", by=by).replace("/", "·"),
                                  _rates(t, frame, by) if len(frame) else pd.DataFrame(),
                                  html_rows=20 if dimension == "agent_id" else None, empty=t("rates.empty")))

    heat = result.heatmap_agency_violation.round(2).reset_index().rename(columns={"agency": t.level("agency")})
    tables.append(ReportTable("heat_agency_violation", t("heat_agency_violation"), t("heat_agency_violation.sheet"),
                              heat if len(heat) else pd.DataFrame(), empty=t("heat.empty")))
    line_week = result.heatmap_line_week.round(2)
    line_week.columns = [f"{pd.Timestamp(c):%Y-%m-%d}" for c in line_week.columns]
    line_week = line_week.reset_index().rename(columns={"value": t.level("business_line")})
    tables.append(ReportTable("heat_line_week", t("heat_line_week"), t("heat_line_week.sheet"),
                              line_week if len(line_week) else pd.DataFrame(), empty=t("heat.empty")))

    warnings = pd.DataFrame([{t("col.dimension"): t.level(w.dimension), t("col.cell"): w.value,
                              t("col.week"): str(w.week_start), t("col.calls_n"): w.calls,
                              t("col.complaints_n"): w.complaints, t("col.per_1000"): round(w.rate_per_1000, 2),
                              t("col.centre"): round(w.centre_per_1000, 2), t("col.ucl"): round(w.ucl_per_1000, 2)}
                             for w in result.warnings])
    tables.append(ReportTable("warnings", t("warnings"), t("warnings.sheet"), warnings,
                              empty=t("warnings.empty", weeks=result.baseline_weeks)))

    hot, b = result.hotspots, result.backtest
    method = t(f"forecast.{b.chosen}") if b is not None else t("forecast.naive")
    tables.append(ReportTable("hotspots", t("hotspots", method=method), t("hotspots.sheet"),
                              pd.DataFrame({t("col.week"): hot["week_start"].map(lambda w: f"{pd.Timestamp(w):%Y-%m-%d}"),
                                            t("col.dimension"): hot["dimension"].map(t.level),
                                            t("col.cell"): hot["value"], t("col.forecast"): hot["forecast"].round(1),
                                            t("col.low"): hot["low"], t("col.high"): hot["high"],
                                            t("col.rate_forecast"): hot["rate_per_1000"].round(2)})
                              if len(hot) else pd.DataFrame(), empty=t("hotspots.empty", weeks=5)))
    if b is not None:
        scores = b.scores
        tables.append(ReportTable("backtest", t("backtest", weeks=b.weeks, cells=b.cells), t("backtest.sheet"),
                                  pd.DataFrame({t("col.method"): scores["method"].map(lambda m: t(f"forecast.{m}")),
                                                t("col.mae"): scores["mae"].round(2),
                                                t("col.wape"): scores["wape"].map(lambda w: f"{w:.1%}"),
                                                t("col.coverage"): scores["coverage"].map(lambda c: f"{c:.0%}"),
                                                t("col.chosen"): (scores["method"] == b.chosen).map(
                                                    {True: "✓", False: ""})})))
    cc = result.cross_check
    tables.append(ReportTable("cross_check", t("cross_check"), t("cross_check.sheet"),
                              pd.DataFrame({t("col.complaint_category"): cc["complaint_category"],
                                            t("summary.complaints"): cc["complaints"], t("col.linked"): cc["linked"],
                                            t("col.no_call"): cc["no_call_in_window"],
                                            t("col.confirmed"): cc["confirmed_by_finding"],
                                            t("col.confirmed_share"): cc["confirmed_share"]}) if len(cc) else pd.DataFrame(),
                              empty=t("cross_check.empty")))
    r = result.rectification
    rect = pd.DataFrame({t("col.id"): r["id"], t("col.source"): r["source"], t("col.agency"): r["agency"],
                         t("col.title"): r["title"], t("col.owner"): r["owner"], t("col.due"): r["due_date"].astype(str),
                         t("col.status"): r["status"], t("col.action"): r["accountability_action"].fillna(""),
                         t("col.before"): r["effect_rate_before"].round(2),
                         t("col.after"): r["effect_rate_after"].round(2)}) if len(r) else pd.DataFrame()
    tables.append(ReportTable("rectification", t("rectification"), t("rectification.sheet"), rect,
                              empty=t("rectification.empty")))
    return tables
