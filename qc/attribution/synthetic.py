"""A synthetic collection-call population with planted complaint causes, for tests, demos and the benchmark.

What is planted (and nothing else drives complaints):
- threats (finding `threat`) multiply a call's complaint probability by `rr_threat` (3); one agency (the first)
  threatens on `threat_rate_hot_agency` of its calls, the others rarely — so that agency's complaints come from
  its threats;
- disclosing the debt to a third party (finding `third_party_disclosure`, only on third-party calls) multiplies
  it by `rr_third_party` (2);
- accounts of one business line (协商还款) complain `rise_factor` times as often in the last `rise_weeks` weeks;
- optionally one agent (the first of agency `hot_agent_agency`) multiplies his calls' risk by `rr_hot_agent`, and
  `agency_weights` makes one agency much busier than the others (volume alone is no cause).
Other findings (insult, calling hours, missing self-identification) occur but have no effect (relative risk 1),
so a method that ranks them is wrong. Each account's calls are at least 5 days apart and a complaint arrives
within 3.5 days of its call, so "the most recent call before the complaint" is the call that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

AGENCIES = ("恒信资产", "联众催收", "启明信息", "瑞达资产", "同诚信息")
AGENT_PREFIXES = ("HX", "LZ", "QM", "RD", "TC")
BUSINESS_LINES = {"信用卡": 0.47, "消费贷": 0.26, "经营贷": 0.08, "提前还款": 0.07, "协商还款": 0.05, "账户管控": 0.07}
BUCKETS = {"M1": 0.4, "M2": 0.25, "M3": 0.2, "M4+": 0.15}
CHANNELS = ("12378", "客服热线", "网点", "监管转办", "线上渠道")
NEUTRAL_FINDINGS = {"insult": 0.02, "calling_hours": 0.015, "missing_self_identification": 0.04}

COMPLAINT_TEXTS = {
    "threat": ["催收人员威胁说要上门找我，还说要让我好看", "对方电话里恐吓我，语气很凶", "催收员辱骂并威胁我的人身安全"],
    "third_party_disclosure": ["催收公司打电话给我父母说我欠钱不还", "他们联系我单位同事透露我的欠款", "给我通讯录里的朋友打电话催债"],
    "negotiation": ["申请协商还款分期一直没有答复", "停息挂账的方案被拒绝，要求减免违约金", "协商还款后仍然被催收"],
    "other": ["每天打好几次电话，太频繁了", "对还款金额有异议，要求核实", "客服态度差，问题没有解决", "深夜还在打电话催收"],
}


@dataclass(frozen=True)
class PopulationSpec:
    n_calls: int = 50_000
    n_agencies: int = 5
    n_agents: int = 200
    calls_per_account: int = 5
    weeks: int = 16
    start: date = date(2026, 6, 1)  # a Monday
    target_complaints: int = 2_000
    rr_threat: float = 3.0
    rr_third_party: float = 2.0
    threat_rate_hot_agency: float = 0.12
    threat_rate_other: float = 0.01
    third_party_call_rate: float = 0.12
    disclosure_rate_on_third_party: float = 0.45
    rising_line: str = "协商还款"
    rise_factor: float = 4.0
    rise_weeks: int = 3
    unlinked_complaint_share: float = 0.03  # complaints from accounts without calls in the window
    rr_hot_agent: float = 1.0
    hot_agent_agency: int = 1
    agency_weights: tuple[float, ...] | None = None  # share of accounts per agency (default: equal)
    agency_names: tuple[str, ...] | None = None      # default: the first n_agencies of AGENCIES
    seed: int = 7


@dataclass(frozen=True)
class Population:
    spec: PopulationSpec
    calls: pd.DataFrame
    findings: pd.DataFrame
    complaints: pd.DataFrame
    hot_agency: str
    hot_agent: str
    rise_week_starts: tuple[date, ...]
    end: date = field(default=date(2026, 1, 1))


def generate_population(spec: PopulationSpec = PopulationSpec()) -> Population:
    rng = np.random.default_rng(spec.seed)
    n = spec.n_calls
    total_days = spec.weeks * 7
    agencies = np.array((spec.agency_names or AGENCIES)[: spec.n_agencies], dtype=object)

    # Accounts: business line, bucket, agency.
    n_accounts = max(1, n // spec.calls_per_account)
    account_line = rng.choice(list(BUSINESS_LINES), size=n_accounts, p=_p(BUSINESS_LINES))
    account_bucket = rng.choice(list(BUCKETS), size=n_accounts, p=_p(BUCKETS))
    if spec.agency_weights is None:
        account_agency = rng.integers(0, spec.n_agencies, size=n_accounts)
    else:
        weights = np.asarray(spec.agency_weights, dtype=float)
        account_agency = rng.choice(spec.n_agencies, size=n_accounts, p=weights / weights.sum())

    # Calls: each account's calls 5-12 days apart, the sequence placed anywhere in the period (wrapping).
    account = np.repeat(np.arange(n_accounts), spec.calls_per_account)[:n]
    if len(account) < n:
        account = np.concatenate([account, rng.integers(0, n_accounts, n - len(account))])
    position = _position_within_group(account)
    gaps = rng.integers(5, 13, size=(n_accounts, spec.calls_per_account + 1)).cumsum(axis=1)
    first_day = rng.uniform(0, total_days, size=n_accounts)
    day = (first_day[account] + gaps[account, position] - gaps[account, 0]) % total_days
    day = np.floor(day) + rng.uniform(9 / 24, 20 / 24, size=n)  # 09:00-20:00 local time
    started_at = (pd.Timestamp(spec.start) + pd.to_timedelta(day, unit="D")).floor("s")

    agency_idx = account_agency[account]
    agents_per_agency = max(1, spec.n_agents // spec.n_agencies)
    agent_no = rng.integers(0, agents_per_agency, size=n)
    prefixes = np.array(AGENT_PREFIXES[: spec.n_agencies] if spec.n_agencies <= len(AGENT_PREFIXES)
                        else [f"A{i}" for i in range(spec.n_agencies)], dtype=object)
    recording_id = np.arange(1, n + 1, dtype=np.int64)
    calls = pd.DataFrame({
        "recording_id": recording_id,
        "call_id": _ids("C", recording_id, 7),
        "agency": agencies[agency_idx],
        "agent_id": pd.Series(prefixes[agency_idx]).str.cat(_ids("", agent_no, 3), sep="-").to_numpy(),
        "account_id": _ids("AC", account, 8),
        "product": account_line[account],
        "delinquency_bucket": account_bucket[account],
        "callee_relation": np.where(rng.random(n) < spec.third_party_call_rate, "third_party", "debtor"),
        "started_at": started_at,
    })

    # Findings.
    threat = rng.random(n) < np.where(agency_idx == 0, spec.threat_rate_hot_agency, spec.threat_rate_other)
    disclosure = (calls["callee_relation"].to_numpy() == "third_party") & (
        rng.random(n) < spec.disclosure_rate_on_third_party)
    finding_parts = [(threat, "threat", "critical"), (disclosure, "third_party_disclosure", "major")]
    for category, rate in NEUTRAL_FINDINGS.items():
        finding_parts.append((rng.random(n) < rate, category, "minor" if category != "insult" else "major"))
    findings = pd.concat([pd.DataFrame({"recording_id": recording_id[mask], "category": category,
                                        "severity": severity, "status": "open"})
                          for mask, category, severity in finding_parts], ignore_index=True)

    # Complaints: a Bernoulli draw per call with the planted multiplicative risks.
    week = (day // 7).astype(int)
    rising = (account_line[account] == spec.rising_line) & (week >= spec.weeks - spec.rise_weeks)
    hot_agent = f"{prefixes[spec.hot_agent_agency % spec.n_agencies]}-000"
    multiplier = (np.where(threat, spec.rr_threat, 1.0) * np.where(disclosure, spec.rr_third_party, 1.0)
                  * np.where(rising, spec.rise_factor, 1.0)
                  * np.where(calls["agent_id"].to_numpy() == hot_agent, spec.rr_hot_agent, 1.0))
    linked_target = spec.target_complaints * (1 - spec.unlinked_complaint_share)
    base = linked_target / multiplier.sum()
    complained = rng.random(n) < np.clip(base * multiplier, 0, 1)
    lag_days = rng.uniform(0.01, 3.5, size=n)
    received = (started_at + pd.to_timedelta(lag_days, unit="D")).floor("s")
    end = pd.Timestamp(spec.start) + pd.Timedelta(days=total_days)
    keep = complained & np.asarray(received < end)
    cause = np.where(threat, "threat", np.where(disclosure, "third_party_disclosure",
                                                np.where(account_line[account] == "协商还款", "negotiation", "other")))
    src = np.flatnonzero(keep)
    complaints = pd.DataFrame({
        "account_id": calls["account_id"].to_numpy()[src],
        "received_at": received[src],
        "business_type": account_line[account][src],
        "cause": cause[src],
        "source_recording_id": recording_id[src],
    })
    n_unlinked = int(round(len(complaints) * spec.unlinked_complaint_share / (1 - spec.unlinked_complaint_share)))
    unlinked = pd.DataFrame({
        "account_id": _ids("NC", np.arange(n_unlinked), 8),
        "received_at": (pd.Timestamp(spec.start) + pd.to_timedelta(rng.uniform(0, total_days, n_unlinked), unit="D")).floor("s"),
        "business_type": rng.choice(list(BUSINESS_LINES), size=n_unlinked, p=_p(BUSINESS_LINES)),
        "cause": "other", "source_recording_id": 0,
    })
    complaints = pd.concat([complaints, unlinked], ignore_index=True).sort_values("received_at", kind="stable")
    m = len(complaints)
    complaints.insert(0, "complaint_id", np.arange(1, m + 1, dtype=np.int64))
    complaints.insert(1, "complaint_no", _ids("TS", np.arange(1, m + 1), 8))
    complaints["channel"] = rng.choice(CHANNELS, size=m, p=[0.2, 0.45, 0.15, 0.1, 0.1])
    complaints["complaint_type"] = "催收投诉"
    complaints["content"] = [_text(rng, c) for c in complaints["cause"]]
    complaints["agency"] = None
    rise_starts = tuple(spec.start + timedelta(weeks=w) for w in range(spec.weeks - spec.rise_weeks, spec.weeks))
    return Population(spec=spec, calls=calls, findings=findings, complaints=complaints.reset_index(drop=True),
                      hot_agency=str(agencies[0]), hot_agent=hot_agent, rise_week_starts=rise_starts, end=end.date())


def _p(weights: dict[str, float]) -> np.ndarray:
    values = np.array(list(weights.values()), dtype=float)
    return values / values.sum()


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return (prefix + pd.Series(numbers).astype(str).str.zfill(width)).to_numpy(dtype=object)


def _position_within_group(groups: np.ndarray) -> np.ndarray:
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    position = np.empty_like(groups)
    position[order] = np.arange(len(groups)) - run_start
    return position


def _text(rng: np.random.Generator, cause: str) -> str:
    options = COMPLAINT_TEXTS[cause]
    return options[int(rng.integers(0, len(options)))]
