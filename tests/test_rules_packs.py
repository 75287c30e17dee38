"""Table-driven tests of the shipped packs (presidio style): every reported rule has ≥3 positive and ≥3
negative cases in tests/rules_cases/<pack>.yaml, in the pack's language (negations, numbers written both ways,
the wrong speaker saying it), and each case fires exactly the rule it is about, or not."""

from __future__ import annotations

import pytest

from qc.rules import load_pack
from qc.scoring import score_call
from rules_fixtures import build_scenario, load_cases

PACKS = ("cn_collection", "us_fdcpa")


def _table(pack_name: str) -> list[tuple[str, str, bool, object]]:
    rows = []
    for rule_id, cases in load_cases(pack_name).items():
        for expected, key in ((True, "positive"), (False, "negative")):
            for case in cases.get(key, []):
                rows.append((pack_name, rule_id, expected, case))
    return rows


TABLE = [row for name in PACKS for row in _table(name)]


@pytest.mark.parametrize("pack_name", PACKS)
def test_every_reported_rule_has_three_positive_and_three_negative_cases(pack_name):
    pack = load_pack(pack_name)
    cases = load_cases(pack_name)
    reported = [rule.id for rule in pack.rules if rule.config.report]
    assert set(cases) <= set(pack.rules_by_id), f"cases for unknown rules: {set(cases) - set(pack.rules_by_id)}"
    for rule_id in reported:
        assert len(cases.get(rule_id, {}).get("positive", [])) >= 3, rule_id
        assert len(cases.get(rule_id, {}).get("negative", [])) >= 3, rule_id


@pytest.mark.parametrize(
    "pack_name,rule_id,expected,case", TABLE,
    ids=[f"{r[1]}-{'pos' if r[2] else 'neg'}{i}" for i, r in enumerate(TABLE)],
)
def test_rule_case(pack_name, rule_id, expected, case):
    pack = load_pack(pack_name)
    scenario = build_scenario(case, pack.language)
    result = score_call(scenario.call, scenario.transcript, pack, features=scenario.features,
                        history=scenario.history, model_scores=scenario.model_scores)
    rule = pack.rules_by_id[rule_id]
    fired = [f for f in result.findings if f.rule_id == rule_id or (  # a model finding merged into a semantic one
        rule.type_name == "model_score" and f.source == "both" and f.category == rule.config.category
        and pack.rules_by_id[f.rule_id].type_name == "semantic")]
    assert bool(fired) == expected, (case, [(f.rule_id, f.text) for f in result.findings])
    for finding in fired:
        assert finding.pack == pack.name and finding.pack_version == pack.version
        assert finding.category == rule.config.category
