"""Attribution on the synthetic population with planted causes (no database: the pure DataFrame stage)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from qc.attribution import Frames, analyse, markdown_summary
from qc.attribution.config import WarningOptions, load_attribution_config
from qc.attribution.linking import classify_complaints, link_complaints
from qc.attribution.synthetic import NEUTRAL_FINDINGS, PopulationSpec, generate_population
from qc.attribution.warnings import p_chart

CONFIG = load_attribution_config()


@pytest.fixture(scope="module")
def population():
    return generate_population(PopulationSpec())  # 50k calls, 5 agencies, 200 agents, ~2k complaints


@pytest.fixture(scope="module")
def result(population):
    complaints = population.complaints.drop(columns=["cause"])  # the planted truth is not an input
    return analyse(Frames(population.calls, population.findings, complaints), population.spec.start,
                   population.end - timedelta(days=1), CONFIG)


def test_population_has_the_requested_shape(population):
    assert len(population.calls) == 50_000
    assert population.calls["agency"].nunique() == 5
    assert population.calls["agent_id"].nunique() == 200
    assert 1_700 <= len(population.complaints) <= 2_300


def test_planted_causes_rank_first(result, population):
    top = {(c.factor, c.level) for c in result.root_causes[:3]}
    assert top == {("violation", "threat"), ("violation", "third_party_disclosure"),
                   ("product", population.spec.rising_line)}
    ranked = {c.level for c in result.root_causes}
    assert not ranked & set(NEUTRAL_FINDINGS), "a finding with no planted effect was ranked as a cause"
    assert population.hot_agency not in ranked, "the hot agency's excess is its threats, not the agency itself"
    threat = next(c for c in result.root_causes if c.level == "threat")
    assert threat.concentration.startswith(population.hot_agency)
    evidence = population.calls.set_index("call_id").loc[list(threat.evidence_call_ids)]
    assert len(evidence) == CONFIG.model.evidence_calls_per_cause
    threat_calls = set(population.findings.loc[population.findings["category"] == "threat", "recording_id"])
    assert set(evidence["recording_id"]) <= threat_calls


def test_relative_risks_cover_the_planted_values(result, population):
    table = result.violations.set_index("category")
    for category, planted in (("threat", population.spec.rr_threat),
                              ("third_party_disclosure", population.spec.rr_third_party)):
        assert table.loc[category, "rr_low"] <= planted <= table.loc[category, "rr_high"], table.loc[category]
    for category in NEUTRAL_FINDINGS:
        assert table.loc[category, "rr_low"] <= 1.0 <= table.loc[category, "rr_high"], table.loc[category]


def test_warning_fires_for_the_planted_rise_and_nowhere_else(result, population):
    planted = {("business_line", population.spec.rising_line, week) for week in population.rise_week_starts}
    fired = {(w.dimension, w.value, w.week_start) for w in result.warnings}
    assert fired <= planted, f"false alarms: {fired - planted}"
    assert len(fired & planted) >= 2, f"the planted rise fired in only {len(fired & planted)} of 3 weeks"


def test_rates_count_each_complaint_once(result):
    for dimension, table in result.rates.items():
        assert table["complaints"].sum() == result.n_attributed_in_period, dimension
        assert table["calls"].sum() == result.n_calls
    assert result.n_attributed_in_period <= result.n_linked_complaints <= result.n_complaints


def test_model_shares_and_heatmaps(result, population):
    shares = result.model.factors.set_index("factor")["share"]
    assert shares["violation"] == shares.max()
    heat = result.heatmap_agency_violation
    assert set(heat.index) == set(population.calls["agency"])
    assert heat.loc[population.hot_agency, "威胁恐吓"] > heat.loc[population.hot_agency, "无违规"]
    line_week = result.heatmap_line_week
    assert {"提前还款", "协商还款", "账户管控"} <= set(line_week.index)
    last = line_week.loc[population.spec.rising_line].iloc[-3:].mean()
    before = line_week.loc[population.spec.rising_line].iloc[:-3].mean()
    assert last > 2 * before


def test_forecast_backtest_is_reported(result):
    backtest = result.backtest
    assert backtest is not None and backtest.weeks == CONFIG.forecast.backtest_weeks
    assert 0 < backtest.wape < 1 and 0 < backtest.naive_wape < 1
    assert 0 <= backtest.interval_coverage <= 1
    assert len(result.hotspots) == CONFIG.forecast.top_hotspots
    assert result.hotspots["forecast"].is_monotonic_decreasing


def test_markdown_summary_names_causes_and_warnings(result):
    text = markdown_summary(result)
    assert "威胁恐吓" in text and "向第三人披露" in text and "协商还款" in text and "WAPE" in text


@pytest.mark.parametrize("text, category", [
    ("催收员冒充法院的人说要给我发传票", "冒充公检法"),
    ("他们打电话给我父母和单位同事说我欠钱", "骚扰第三人"),
    ("对方电话里辱骂我还威胁要上门", "催收方式不当"),
    ("一天打十几次电话，半夜也打", "频繁催收"),
    ("泄露了我的身份证号", "信息泄露"),
    ("申请协商分期被拒绝", "还款协商争议"),
    ("账单金额有疑问", "其他"),
    ("", "其他"),
])
def test_complaint_classifier(text, category):
    assert classify_complaints(pd.Series([text]), CONFIG).iloc[0] == category


def test_linking_window_and_most_recent_call():
    t0 = datetime(2026, 3, 31, 12)
    calls = pd.DataFrame({"recording_id": [1, 2, 3, 4], "account_id": ["A", "A", "A", "B"],
                          "started_at": [t0 - timedelta(days=31), t0 - timedelta(days=29), t0 - timedelta(days=2),
                                         t0 - timedelta(days=1)]})
    findings = pd.DataFrame({"recording_id": [3, 3], "category": ["threat", "insult"], "severity": "major",
                             "status": "open"})
    complaints = pd.DataFrame({"complaint_id": [10], "account_id": ["A"], "received_at": [t0]})
    links = link_complaints(calls, findings, complaints, lookback_days=30)
    assert sorted(links.links["recording_id"]) == [2, 3]  # day 31 outside the window, account B not linked
    assert links.attributed["recording_id"].tolist() == [3]
    assert links.finding_categories.set_index("recording_id").loc[3, "categories"] == ("insult", "threat")
    assert sorted(link_complaints(calls, findings, complaints, lookback_days=40).links["recording_id"]) == [1, 2, 3]


def _weekly(counts: list[int], calls: int = 1000) -> pd.DataFrame:
    weeks = pd.date_range("2026-01-05", periods=len(counts), freq="W-MON")
    return pd.DataFrame({"dimension": "agency", "value": "X", "week_start": weeks, "calls": calls,
                         "complaints": counts})


def test_p_chart_fires_on_a_step_and_keeps_firing():
    chart = p_chart(_weekly([20, 22, 18, 21, 19, 20, 45, 47]), WarningOptions())
    assert chart["fired"].tolist() == [False] * 6 + [True, True]
    assert chart.loc[7, "centre"] == pytest.approx(120 / 6000)  # fired weeks stay out of the baseline


def test_p_chart_stays_quiet_on_noise_and_small_counts():
    rng = np.random.default_rng(3)
    assert not p_chart(_weekly(list(rng.poisson(20, 30))), WarningOptions())["fired"].any()
    assert not p_chart(_weekly([0, 1, 0, 1, 0, 4]), WarningOptions())["fired"].any()  # below min_complaints
