"""The shared synthetic calls scored as transcripts: every labelled violation is found on its turn
(`turn` = 0-based data-row index of segments.tsv; checked below against the agent role), and compliant calls
get no major or critical finding."""

from __future__ import annotations

import pytest

from qc.rules import load_pack
from qc.scoring import score_call
from rules_fixtures import build_scenario, load_shared_call, shared_call_ids

CALL_IDS = shared_call_ids()


def test_the_shared_calls_are_there():
    assert len(CALL_IDS) == 8


@pytest.mark.parametrize("call_id", CALL_IDS)
def test_labelled_violations_found_on_their_turn(call_id):
    call, transcript, labels = load_shared_call(call_id)
    result = score_call(call, transcript, load_pack("cn_collection"))
    for violation in labels["violations"]:
        found = [f for f in result.findings if f.category == violation["category"]]
        assert found, f"{call_id}: {violation} not found; findings: {[(f.rule_id, f.text) for f in result.findings]}"
        if violation["turn"] is not None:
            turn = transcript.segments[violation["turn"]]
            assert turn.speaker == "agent"  # the label's turn index counts all data rows and lands on the agent
            assert any(turn.id in f.segment_ids for f in found), (violation, [(f.rule_id, f.segment_ids) for f in found])
    if labels["compliant"]:
        serious = [f for f in result.findings if f.severity in ("major", "critical")]
        assert not serious, [(f.rule_id, f.text) for f in serious]
        assert not result.flagged
    else:
        assert result.flagged


def test_spans_are_reported_in_the_original_text():
    call, transcript, _ = load_shared_call("callA_06")
    result = score_call(call, transcript, load_pack("cn_collection"))
    pressure = next(f for f in result.findings if f.category == "pressure")
    assert "十二点之前" in pressure.text and "一万五千三百元" in pressure.text  # not 12点 / 15300
    assert all(piece in transcript.segments[6].text for piece in pressure.text.split(" … "))


def test_id_numbers_in_evidence_are_masked():
    pack = load_pack("cn_collection")
    for said, shown in (("您的身份证号是110101199003071234对吧", "身份证号是**************1234"),
                        ("卡号是六二二二零二零二零零一一二二三三", "卡号是************二二三三")):
        scenario = build_scenario(said, "zh")
        finding = next(f for f in score_call(scenario.call, scenario.transcript, pack).findings if f.rule_id == "CN-10")
        assert finding.text == shown
