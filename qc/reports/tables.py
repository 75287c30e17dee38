"""The report's tables, built once from an AttributionResult and rendered both to HTML and to Excel."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from qc.attribution.attribution import DIMENSION_LABELS, AttributionResult


@dataclass(frozen=True)
class ReportTable:
    key: str
    title: str        # section heading (HTML) and sheet title
    sheet: str        # Excel sheet name (≤31 characters)
    frame: pd.DataFrame
    html_rows: int | None = None  # the HTML shows the first N rows; Excel always has all


def _rates(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    return pd.DataFrame({label: frame["value"], "通话数": frame["calls"], "投诉数": frame["complaints"],
                         "每千通投诉": frame["rate_per_1000"].round(2), "相对风险(对其余)": frame["rr_vs_rest"].round(2),
                         "95%CI下限": frame["rr_low"].round(2), "95%CI上限": frame["rr_high"].round(2)})


def build_tables(result: AttributionResult) -> list[ReportTable]:
    tables: list[ReportTable] = []
    rate_overall = 1000 * result.n_attributed_in_period / max(result.n_calls, 1)
    summary = pd.DataFrame({"指标": ["统计期间", "通话数", "投诉数", "关联到通话的投诉", "期内通话的归因投诉", "每千通投诉率",
                                     "回溯窗口(天)", "预警数", "显著根因数"],
                            "数值": [f"{result.day_from} 至 {result.day_to}", f"{result.n_calls:,}",
                                   f"{result.n_complaints:,}", f"{result.n_linked_complaints:,}",
                                   f"{result.n_attributed_in_period:,}", f"{rate_overall:.2f}",
                                   str(result.lookback_days), str(len(result.warnings)),
                                   str(len(result.root_causes))]})
    tables.append(ReportTable("summary", "概要", "概要", summary))
    causes = pd.DataFrame([{"排名": c.rank, "根因": c.label, "调整后OR": round(c.odds_ratio, 2),
                            "95%CI": f"{c.or_low:.2f}–{c.or_high:.2f}", "超额投诉(件)": round(c.excess_complaints, 1),
                            "占全部投诉": f"{c.share:.1%}", "涉及通话": c.calls, "其中投诉": c.complaints,
                            "集中于": c.concentration, "证据通话": "、".join(c.evidence_call_ids)}
                           for c in result.root_causes],
                          columns=["排名", "根因", "调整后OR", "95%CI", "超额投诉(件)", "占全部投诉", "涉及通话", "其中投诉",
                                   "集中于", "证据通话"])
    tables.append(ReportTable("root_causes", "根因排序（多因素逻辑回归，按超额投诉排序）", "根因排序", causes))
    v = result.violations
    tables.append(ReportTable("violations", "违规类别：有/无该违规的投诉率与相对风险 (log-RR Wald 95% CI)", "违规相对风险",
                              pd.DataFrame({"违规类别": v["label"], "有该违规通话": v["calls_with"],
                                            "其中投诉": v["complaints_with"].astype(int),
                                            "每千通(有)": v["rate_with"].round(2), "每千通(无)": v["rate_without"].round(2),
                                            "相对风险RR": v["rr"].round(2), "95%CI下限": v["rr_low"].round(2),
                                            "95%CI上限": v["rr_high"].round(2)})))
    terms = result.model.terms
    tables.append(ReportTable("model", f"多因素逻辑回归（{result.model.n_calls:,} 通，方法 {result.model.method}）", "回归模型",
                              pd.DataFrame({"因素": terms["factor"].map(lambda f: DIMENSION_LABELS.get(f, f)),
                                            "水平": terms["level"], "参照": terms["reference"],
                                            "OR": terms["odds_ratio"].round(3), "95%CI下限": terms["or_low"].round(3),
                                            "95%CI上限": terms["or_high"].round(3), "p值": terms["p_value"].map(
                                                lambda p: f"{p:.2g}"), "通话数": terms["calls"],
                                            "超额投诉": terms["excess"].round(1),
                                            "占比": terms["share"].map(lambda s: f"{s:.1%}")})))
    factors = result.model.factors
    tables.append(ReportTable("factor_shares", "各因素对超额投诉的贡献", "因素贡献",
                              pd.DataFrame({"因素": factors["factor"].map(lambda f: DIMENSION_LABELS.get(f, f)),
                                            "超额投诉(件)": factors["excess"].round(1),
                                            "占全部投诉": factors["share"].map(lambda s: f"{s:.1%}")})))
    for dimension, sheet in (("agency", "按机构"), ("agent_id", "按坐席"), ("product", "按业务线"),
                             ("delinquency_bucket", "按逾期阶段")):
        tables.append(ReportTable(f"rates_{dimension}", f"每千通投诉率：{sheet[1:]}", sheet,
                                  _rates(result.rates[dimension], DIMENSION_LABELS[dimension]),
                                  html_rows=20 if dimension == "agent_id" else None))
    heat = result.heatmap_agency_violation.round(2).reset_index().rename(columns={"agency": "催收机构"})
    tables.append(ReportTable("heat_agency_violation", "热力图数据：机构 × 违规类别（每千通投诉）", "热力图_机构x违规", heat))
    line_week = result.heatmap_line_week.round(2)
    line_week.columns = [f"{pd.Timestamp(c):%Y-%m-%d}" for c in line_week.columns]
    tables.append(ReportTable("heat_line_week", "热力图数据：业务线 × 周（每千通投诉）", "热力图_业务线x周",
                              line_week.reset_index().rename(columns={"value": "业务线"})))
    warnings = pd.DataFrame([{"维度": DIMENSION_LABELS.get(w.dimension, w.dimension), "对象": w.value,
                              "周": str(w.week_start), "通话": w.calls, "投诉": w.complaints,
                              "每千通": round(w.rate_per_1000, 2), "中心线": round(w.centre_per_1000, 2),
                              "控制上限": round(w.ucl_per_1000, 2)} for w in result.warnings],
                            columns=["维度", "对象", "周", "通话", "投诉", "每千通", "中心线", "控制上限"])
    tables.append(ReportTable("warnings", "预警（p-chart 3σ）", "预警", warnings))
    hot = result.hotspots
    tables.append(ReportTable("hotspots", "下周投诉热点预测（EWMA × 预计通话量，90% 泊松区间）", "热点预测",
                              pd.DataFrame({"周": hot["week_start"].map(lambda w: f"{pd.Timestamp(w):%Y-%m-%d}")
                                            if len(hot) else [],
                                            "维度": hot["dimension"].map(lambda d: DIMENSION_LABELS.get(d, d)),
                                            "对象": hot["value"], "预计投诉": hot["forecast"].round(1),
                                            "区间下限": hot["low"], "区间上限": hot["high"],
                                            "预计每千通": hot["rate_per_1000"].round(2)})))
    if result.backtest is not None:
        b = result.backtest
        tables.append(ReportTable("backtest", f"预测回测（最近 {b.weeks} 周，{b.cells} 个单元）", "预测回测",
                                  pd.DataFrame({"方法": ["EWMA", "朴素(上周值)"], "MAE(件/单元周)": [round(b.mae, 2),
                                                round(b.naive_mae, 2)], "WAPE": [f"{b.wape:.1%}", f"{b.naive_wape:.1%}"],
                                                "90%区间覆盖率": [f"{b.interval_coverage:.0%}", ""]})))
    cc = result.cross_check
    tables.append(ReportTable("cross_check", "投诉分类与质检发现交叉核对", "投诉分类核对",
                              pd.DataFrame({"投诉类别": cc["complaint_category"], "投诉数": cc["complaints"],
                                            "关联到通话": cc["linked"], "窗口内无通话": cc["no_call_in_window"],
                                            "被质检发现印证": cc["confirmed_by_finding"],
                                            "印证比例": cc["confirmed_share"]})))
    r = result.rectification
    if len(r):
        rect = pd.DataFrame({"编号": r["id"], "来源": r["source"], "责任机构": r["agency"], "问题": r["title"],
                             "负责人": r["owner"], "整改期限": r["due_date"].astype(str), "状态": r["status"],
                             "问责措施": r["accountability_action"].fillna(""),
                             "整改前每千通": r["effect_rate_before"].round(2),
                             "整改后每千通": r["effect_rate_after"].round(2)})
    else:
        rect = pd.DataFrame(columns=["编号", "来源", "责任机构", "问题", "负责人", "整改期限", "状态", "问责措施",
                                     "整改前每千通", "整改后每千通"])
    tables.append(ReportTable("rectification", "整改闭环（问题-督导-整改-问责-效果）", "整改闭环", rect))
    return tables
