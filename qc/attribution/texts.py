"""Every sentence the attribution report and the manager's dashboard show, in each supported language.

One language per setting (configs/attribution.yaml `language`: zh-CN, the default, or en); nothing mixes them.
`texts(language)` returns a Texts whose `t(key, **values)` formats one entry; a missing key fails loudly in tests
(test_report checks that both languages have the same keys).
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("zh-CN", "en")

ZH = {
    # levels a cause belongs to
    "level.agency": "机构", "level.agent_id": "坐席", "level.violation": "行为", "level.product": "产品/业务线",
    "level.delinquency_bucket": "逾期阶段", "level.business_line": "业务线",
    "cause.label": "{level}: {value}", "cause.agent": "{agent}（{agency}）",
    "unknown": "(未知)", "no_violation": "无违规", "rare_levels": "其他(小样本)",
    "insufficient": "数据不足", "insufficient.counts": "数据不足（投诉 {a}/{n1} 通 vs {c}/{n0} 通）",
    "insufficient.legend": "— 数据不足（通话少于 {n} 通）",
    # report
    "report.title": "催收投诉归因报告",
    "report.note": "统计期间 {day_from} 至 {day_to}（按被叫方当地日期计算通话所属日期）；投诉关联其账户在投诉前 "
                   "{lookback} 天内的催收通话；生成于 {generated}。",
    "report.synthetic": "注意：本期数据含 {n} 通演示用合成通话（非真实数据）。",
    "report.warnings": "本期预警 {n} 项：", "report.more": "（仅显示前 {shown} 行，共 {total} 行，完整数据见 Excel）",
    "report.sep": "；",
    "summary": "概要", "summary.metric": "指标", "summary.value": "数值", "summary.period": "统计期间",
    "summary.period_value": "{day_from} 至 {day_to}", "summary.calls": "通话数", "summary.complaints": "投诉数",
    "summary.linked": "关联到通话的投诉", "summary.attributed": "期内通话的归因投诉", "summary.rate": "每千通投诉率",
    "summary.lookback": "回溯窗口(天)", "summary.warnings": "预警数", "summary.causes": "显著根因数",
    "summary.synthetic": "其中演示用合成通话",
    "causes": "根因排序（带坐席部分汇聚的多因素逻辑回归，按超额投诉排序）", "causes.sheet": "根因排序",
    "causes.empty": "无显著根因：没有哪个因素在 {confidence:.0%} 置信水平上提高投诉几率（且投诉不少于 {min} 件）。",
    "col.rank": "排名", "col.level": "层级", "col.cause": "根因", "col.or": "调整后OR", "col.ci": "95%CI",
    "col.excess": "超额投诉(件)", "col.share": "占全部投诉", "col.calls": "涉及通话", "col.complained": "其中投诉",
    "col.concentration": "集中于", "col.evidence": "证据通话",
    "chart.causes": "根因：超额投诉（件）",
    "violations": "违规类别：有/无该违规的投诉率与相对风险 (log-RR Wald 95% CI)", "violations.sheet": "违规相对风险",
    "violations.empty": "本期通话没有质检发现，无法比较有/无违规的投诉率。",
    "col.category": "违规类别", "col.calls_with": "有该违规通话", "col.complaints_with": "其中投诉",
    "col.rate_with": "每千通(有)", "col.rate_without": "每千通(无)", "col.rr": "相对风险RR",
    "col.rr_low": "95%CI下限", "col.rr_high": "95%CI上限",
    "model": "多因素逻辑回归（{n:,} 通；{method}）", "model.sheet": "回归模型",
    "method.penalised-logit": "坐席在所属机构内部分汇聚（随机效应，标准差 {sd}），其余因素为固定效应",
    "method.penalised-logit-plain": "各因素为固定效应",
    "method.no-calls": "未拟合：本期没有通话",
    "method.no-complaints": "未拟合：本期通话没有归因到任何投诉",
    "model.empty": "模型未拟合：{reason}。",
    "col.factor": "因素", "col.value": "水平", "col.reference": "参照", "col.p": "p值",
    "ref.violation": "无该违规", "ref.agent": "{agency} 坐席平均",
    "factor_shares": "各因素对超额投诉的贡献", "factor_shares.sheet": "因素贡献",
    "factor_shares.empty": "没有因素显著提高投诉几率，超额投诉为 0。",
    "rates": "每千通投诉率：{by}", "rates.sheet": "按{by}", "rates.empty": "本期没有通话。",
    "col.rate": "每千通投诉", "col.rr_rest": "相对风险(对其余)",
    "heat_agency_violation": "机构 × 违规类别 投诉热力图（每千通投诉）", "heat_agency_violation.sheet": "热力图_机构x违规",
    "heat_line_week": "业务线 × 周 投诉热力图（每千通投诉）", "heat_line_week.sheet": "热力图_业务线x周",
    "heat.empty": "本期没有可画的单元。", "heat.unit": "单位: 每千通投诉数 (‰)，颜色 {low:.1f} → {high:.1f}",
    "heat.tooltip": "{row} × {col}: {value}",
    "warnings": "预警（p-chart 3σ）", "warnings.sheet": "预警",
    "warnings.empty": "本期没有单元超过控制上限（需要至少 {weeks} 周基线）。",
    "warning.line": "{dimension} {value} {week} 当周 {rate:.2f}‰ > {ucl:.2f}‰",
    "col.dimension": "维度", "col.cell": "对象", "col.week": "周", "col.calls_n": "通话", "col.complaints_n": "投诉",
    "col.per_1000": "每千通", "col.centre": "中心线", "col.ucl": "控制上限",
    "chart.control": "p 控制图：{dimension} {value}",
    "chart.control.legend": "蓝: 周投诉率  灰: 中心线  红虚线: 控制上限 (3σ)  红点: 预警  缺口: 当周无通话",
    "chart.trend": "投诉趋势：全部业务线 每千通投诉率（按周）",
    "hotspots": "下周投诉热点预测（{method}，90% 预测区间）", "hotspots.sheet": "热点预测",
    "hotspots.empty": "历史不足 {weeks} 周，无法预测下周热点。",
    "col.forecast": "预计投诉", "col.low": "区间下限", "col.high": "区间上限", "col.rate_forecast": "预计每千通",
    "backtest": "预测回测（最近 {weeks} 周，{cells} 个单元，滚动起点）", "backtest.sheet": "预测回测",
    "backtest.verdict.model": "采用 {method}：WAPE 比朴素预测低 {gain:.0%}，90% 区间覆盖率 {coverage:.0%}。",
    "backtest.verdict.naive": "没有候选方法比朴素预测（上周值）好 10% 以上且区间覆盖率在 85–95% 之间，"
                              "因此热点预测采用朴素预测，区间取回测误差的经验分位数。",
    "col.method": "方法", "col.mae": "MAE(件/单元周)", "col.wape": "WAPE", "col.coverage": "90%区间覆盖率",
    "col.chosen": "采用",
    "forecast.naive": "朴素(上周值)", "forecast.mean4": "近4周均值", "forecast.ewma": "EWMA",
    "forecast.poisson": "泊松回归(近8周+质检发现率)",
    "cross_check": "投诉分类与质检发现交叉核对", "cross_check.sheet": "投诉分类核对",
    "cross_check.empty": "本期没有投诉。",
    "col.complaint_category": "投诉类别", "col.linked": "关联到通话", "col.no_call": "窗口内无通话",
    "col.confirmed": "被质检发现印证", "col.confirmed_share": "印证比例",
    "rectification": "整改闭环（问题-督导-整改-问责-效果）", "rectification.sheet": "整改闭环",
    "rectification.empty": "没有整改事项。",
    "col.id": "编号", "col.source": "来源", "col.agency": "责任机构", "col.title": "问题", "col.owner": "负责人",
    "col.due": "整改期限", "col.status": "状态", "col.action": "问责措施", "col.before": "整改前每千通",
    "col.after": "整改后每千通",
    # dashboard
    "dash.title": "管理看板", "dash.from": "起", "dash.to": "止", "dash.apply": "应用", "dash.default": "最近 12 周数据",
    "dash.no_data": "数据库中还没有通话或投诉。通话评分、投诉导入（callqc complaints import FILE）后，这里显示投诉归因。",
    "dash.no_calls": "{day_from} 至 {day_to} 没有带账户的通话：暂无可归因的通话。",
    "dash.failed": "本期归因计算失败：{error}",
    "dash.summary": "{day_from} – {day_to}：通话 {calls} 通，投诉 {complaints} 件（其中 {linked} 件关联到投诉前 "
                    "{lookback} 天内的催收通话），每千通投诉 {rate}，预警 {warnings} 项。",
    "dash.synthetic": "其中 {n} 通为演示用合成历史数据（非真实通话）。",
    "dash.heat_agency": "每千通投诉：机构 × 违规类别", "dash.heat_line": "每千通投诉：业务线 × 周",
    "dash.no_weeks": "没有按周的数据。",
    "dash.warnings": "预警（p-chart，3σ）", "dash.no_warnings": "本期没有单元超过控制上限。",
    "dash.causes": "根因（带坐席部分汇聚的多因素逻辑回归，按超额投诉排序）",
    "dash.no_causes": "本期没有因素显著提高投诉几率。",
    "dash.col.or": "调整后OR (95% CI)", "dash.col.calls": "通话 / 投诉",
    "dash.findings": "各机构各类别的质检发现（待处理或已确认）", "dash.flagged": "被标记通话", "dash.total": "合计",
    "dash.rectification": "未完成的整改事项", "dash.none_open": "无。", "dash.due": "期限",
    "dash.appeals": "待处理申诉：{n}", "dash.pipeline": "流水线警告", "dash.none": "无。",
}

EN = {
    "level.agency": "Agency", "level.agent_id": "Agent", "level.violation": "Behaviour", "level.product": "Product",
    "level.delinquency_bucket": "Delinquency bucket", "level.business_line": "Business line",
    "cause.label": "{level}: {value}", "cause.agent": "{agent} ({agency})",
    "unknown": "(unknown)", "no_violation": "No violation", "rare_levels": "Other (small)",
    "insufficient": "insufficient data",
    "insufficient.counts": "insufficient data ({a} complaints / {n1} calls vs {c} / {n0})",
    "insufficient.legend": "— insufficient data (fewer than {n} calls)",
    "report.title": "Complaint attribution report",
    "report.note": "Period {day_from} to {day_to} (a call belongs to the callee's local date); a complaint is linked "
                   "to its account's collection calls in the {lookback} days before it; generated {generated}.",
    "report.synthetic": "Note: this period includes {n} synthetic demo calls (not real data).",
    "report.warnings": "{n} early warning(s) this period: ", "report.more": "(first {shown} of {total} rows; the "
                                                                          "Excel file has them all)",
    "report.sep": "; ",
    "summary": "Summary", "summary.metric": "Measure", "summary.value": "Value", "summary.period": "Period",
    "summary.period_value": "{day_from} to {day_to}", "summary.calls": "Calls", "summary.complaints": "Complaints",
    "summary.linked": "Complaints linked to a call", "summary.attributed": "Complaints attributed to the period's calls",
    "summary.rate": "Complaints per 1,000 calls", "summary.lookback": "Look-back window (days)",
    "summary.warnings": "Early warnings", "summary.causes": "Significant root causes",
    "summary.synthetic": "Of which synthetic demo calls",
    "causes": "Root causes (multivariable logistic regression, agents partially pooled; by excess complaints)",
    "causes.sheet": "Root causes",
    "causes.empty": "No significant root cause: no factor raises the complaint odds at {confidence:.0%} confidence "
                    "(with at least {min} complaints).",
    "col.rank": "#", "col.level": "Level", "col.cause": "Cause", "col.or": "Adjusted OR", "col.ci": "95% CI",
    "col.excess": "Excess complaints", "col.share": "Share of complaints", "col.calls": "Calls",
    "col.complained": "Complained", "col.concentration": "Concentrated in", "col.evidence": "Evidence calls",
    "chart.causes": "Root causes: excess complaints",
    "violations": "Violation categories: complaint rate with / without, relative risk (log-RR Wald 95% CI)",
    "violations.sheet": "Violation RR",
    "violations.empty": "The period's calls have no QC findings: nothing to compare.",
    "col.category": "Violation", "col.calls_with": "Calls with it", "col.complaints_with": "Complained",
    "col.rate_with": "Per 1,000 (with)", "col.rate_without": "Per 1,000 (without)", "col.rr": "Relative risk",
    "col.rr_low": "95% CI low", "col.rr_high": "95% CI high",
    "model": "Multivariable logistic regression ({n:,} calls; {method})", "model.sheet": "Model",
    "method.penalised-logit": "agents partially pooled within their agency (random effect, SD {sd}), other factors "
                              "fixed",
    "method.penalised-logit-plain": "all factors fixed",
    "method.no-calls": "not fitted: the period has no calls",
    "method.no-complaints": "not fitted: no complaint is attributed to the period's calls",
    "model.empty": "Model not fitted: {reason}.",
    "col.factor": "Factor", "col.value": "Level", "col.reference": "Reference", "col.p": "p",
    "ref.violation": "without it", "ref.agent": "average agent of {agency}",
    "factor_shares": "Excess complaints by factor", "factor_shares.sheet": "Factor shares",
    "factor_shares.empty": "No factor raises the complaint odds significantly: no excess complaints.",
    "rates": "Complaints per 1,000 calls by {by}", "rates.sheet": "By {by}", "rates.empty": "The period has no calls.",
    "col.rate": "Per 1,000 calls", "col.rr_rest": "RR vs the rest",
    "heat_agency_violation": "Complaints per 1,000 calls: agency × violation category",
    "heat_agency_violation.sheet": "Heat agency x violation",
    "heat_line_week": "Complaints per 1,000 calls: business line × week", "heat_line_week.sheet": "Heat line x week",
    "heat.empty": "Nothing to draw for this period.", "heat.unit": "Complaints per 1,000 calls (‰), colour "
                                                                 "{low:.1f} → {high:.1f}",
    "heat.tooltip": "{row} × {col}: {value}",
    "warnings": "Early warnings (p-chart, 3σ)", "warnings.sheet": "Warnings",
    "warnings.empty": "No cell exceeded its control limit this period (a cell needs {weeks} weeks of baseline).",
    "warning.line": "{dimension} {value}, week of {week}: {rate:.2f}‰ > {ucl:.2f}‰",
    "col.dimension": "Dimension", "col.cell": "Cell", "col.week": "Week of", "col.calls_n": "Calls",
    "col.complaints_n": "Complaints", "col.per_1000": "Per 1,000", "col.centre": "Centre line",
    "col.ucl": "Control limit",
    "chart.control": "p-chart: {dimension} {value}",
    "chart.control.legend": "blue: weekly rate  grey: centre line  red dashes: control limit (3σ)  red dots: "
                            "warnings  gaps: no calls that week",
    "chart.trend": "Complaint trend: all business lines, per 1,000 calls by week",
    "hotspots": "Next week's complaint hotspots ({method}, 90% prediction interval)", "hotspots.sheet": "Hotspots",
    "hotspots.empty": "Fewer than {weeks} weeks of history: no hotspot forecast.",
    "col.forecast": "Expected complaints", "col.low": "Interval low", "col.high": "Interval high",
    "col.rate_forecast": "Expected per 1,000",
    "backtest": "Forecast backtest (last {weeks} weeks, {cells} cells, rolling origin)", "backtest.sheet": "Backtest",
    "backtest.verdict.model": "Using {method}: WAPE {gain:.0%} below the naive forecast, 90% interval coverage "
                              "{coverage:.0%}.",
    "backtest.verdict.naive": "No candidate beat the naive forecast (last week's count) by 10% or more with 90% "
                              "intervals covering 85–95%, so the hotspots use the naive forecast with intervals "
                              "from the backtest errors' empirical quantiles.",
    "col.method": "Method", "col.mae": "MAE (per cell-week)", "col.wape": "WAPE", "col.coverage": "90% coverage",
    "col.chosen": "Used",
    "forecast.naive": "naive (last week)", "forecast.mean4": "mean of last 4 weeks", "forecast.ewma": "EWMA",
    "forecast.poisson": "Poisson regression (last 8 weeks + findings rate)",
    "cross_check": "Complaint categories cross-checked with QC findings", "cross_check.sheet": "Cross-check",
    "cross_check.empty": "The period has no complaints.",
    "col.complaint_category": "Complaint category", "col.linked": "Linked to a call",
    "col.no_call": "No call in window", "col.confirmed": "Confirmed by a finding", "col.confirmed_share": "Confirmed share",
    "rectification": "Closed loop (issue – supervision – rectification – accountability – effect)",
    "rectification.sheet": "Rectification", "rectification.empty": "No rectification items.",
    "col.id": "No.", "col.source": "Source", "col.agency": "Agency", "col.title": "Issue", "col.owner": "Owner",
    "col.due": "Due", "col.status": "Status", "col.action": "Accountability", "col.before": "Per 1,000 before",
    "col.after": "Per 1,000 after",
    "dash.title": "Dashboard", "dash.from": "From", "dash.to": "To", "dash.apply": "Apply",
    "dash.default": "Last 12 weeks of data",
    "dash.no_data": "No calls or complaints in the database yet. The complaint attribution appears here once calls "
                    "are scored and complaints imported (callqc complaints import FILE).",
    "dash.no_calls": "No calls with an account between {day_from} and {day_to}: nothing to attribute complaints to yet.",
    "dash.failed": "The attribution could not be computed for this period: {error}",
    "dash.summary": "{day_from} – {day_to}: {calls} calls, {complaints} complaints ({linked} linked to a collection "
                    "call in the {lookback} days before), {rate} complaints per 1,000 calls, {warnings} early warnings.",
    "dash.synthetic": "{n} of the calls are synthetic demo history (not real calls).",
    "dash.heat_agency": "Complaints per 1,000 calls: agency × violation category",
    "dash.heat_line": "Complaints per 1,000 calls: business line × week", "dash.no_weeks": "No weekly data.",
    "dash.warnings": "Early warnings (p-chart, 3σ)", "dash.no_warnings": "No cell exceeded its control limit in this period.",
    "dash.causes": "Root causes (multivariable logistic regression, agents partially pooled; by excess complaints)",
    "dash.no_causes": "No factor raises the complaint odds significantly in this period.",
    "dash.col.or": "Adjusted OR (95% CI)", "dash.col.calls": "Calls / complained",
    "dash.findings": "Findings standing (open or confirmed) per agency and category", "dash.flagged": "Flagged calls",
    "dash.total": "Total", "dash.rectification": "Open rectification items", "dash.none_open": "None open.",
    "dash.due": "due", "dash.appeals": "Open appeals: {n}", "dash.pipeline": "Pipeline warnings", "dash.none": "None.",
}

CATALOGUE = {"zh-CN": ZH, "en": EN}


@dataclass(frozen=True)
class Texts:
    language: str

    def t(self, key: str, **values) -> str:
        text = CATALOGUE[self.language][key]
        return text.format(**values) if values else text

    __call__ = t

    def level(self, factor: str) -> str:
        return self.t(f"level.{factor}") if f"level.{factor}" in CATALOGUE[self.language] else factor


def texts(language: str = "zh-CN") -> Texts:
    if language not in CATALOGUE:
        raise ValueError(f"unknown report language '{language}' (known: {', '.join(LANGUAGES)})")
    return Texts(language)
