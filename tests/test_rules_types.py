"""Rule types not (fully) exercised by the shipped packs, on a small pack written here: phrase modes with
synonyms, proximity in characters and seconds, regex exclusions, not, unknown speakers; and the scorecard."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from qc.domain import Call, Segment, Transcript
from qc.rules.pack import load_pack
from qc.scoring import ScoringOptions, score_call

PACK = """
pack: types_test
language: zh
negation: {cues: [不会, 没有], after: [没关系, 不受影响], breakers: [但], window: 4}
synonyms: {单位: [公司]}
scorecard: {weights: {minor: 5, major: 25, critical: 40}, flag_threshold: 90}
rules:
  - {id: ALL, type: phrases, category: threat, severity: minor, source: t, mode: all, phrases: [[领导, 老板], 单位]}
  - {id: NOF, type: phrases, category: threat, severity: minor, source: t, mode: n_of, n: 2, within: call, phrases: [上门, 家人, 单位]}
  - {id: NONE, type: phrases, category: missing_self_identification, severity: minor, source: t, mode: none, phrases: [录音]}
  - {id: NEAR, type: proximity, category: threat, severity: major, source: t, a: [不还], b: [上门], within_chars: 6}
  - {id: SOON, type: proximity, category: threat, severity: minor, source: t, scope: any, a: [投诉], b: [上门], within_seconds: 5}
  - {id: RX, type: regex, category: pressure, severity: minor, source: t, patterns: ['必须[^|]{0,4}还清'], exclude_patterns: ['不是必须[^|]{0,4}还清']}
  - {id: JAIL, type: phrases, category: false_consequence, severity: major, source: t, phrases: [坐牢]}
  - {id: HAS-REC, type: phrases, category: info, severity: info, report: false, phrases: [录音]}
  - {id: NO-REC, type: not, category: missing_self_identification, severity: critical, source: t, rule: HAS-REC}
"""


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    path = tmp_path_factory.mktemp("pack") / "types_test.yaml"
    path.write_text(PACK, encoding="utf-8")
    return load_pack(path)


def _score(pack, *turns, options=None):
    segments, clock = [], 0.0
    for i, turn in enumerate(turns):
        speaker, text = turn.split(": ", 1)
        segments.append(Segment(i, clock, clock + 3.0, speaker, text))
        clock += 3.5
    call = Call(call_id="t", agency="a", agent_id="x", account_id="A",
                started_at=datetime(2026, 11, 3, 10, tzinfo=timezone(timedelta(hours=8))))
    return score_call(call, Transcript(tuple(segments), "zh", clock), pack, options=options)


def _fired(result):
    return {f.rule_id for f in result.findings}


@pytest.mark.parametrize("turns,expected", [
    (["agent: 找你老板去你单位，通话有录音"], True),          # synonym group 领导/老板 + 单位
    (["agent: 找你领导去你公司，通话有录音"], True),          # pack synonym 单位 → 公司
    (["agent: 找你领导，通话有录音", "agent: 去你单位"], False),  # all: within one segment by default
    (["customer: 找你领导去你单位，通话有录音"], False),        # wrong speaker
])
def test_all_mode_with_synonyms(pack, turns, expected):
    assert ("ALL" in _fired(_score(pack, *turns))) is expected


def test_n_of_within_call_and_none_mode(pack):
    assert "NOF" in _fired(_score(pack, "agent: 我们会上门", "agent: 也会找你家人，本通话有录音"))
    assert "NOF" not in _fired(_score(pack, "agent: 我们会上门，通话录音"))
    assert "NONE" in _fired(_score(pack, "agent: 你好"))
    assert "NONE" not in _fired(_score(pack, "agent: 本次通话有录音"))


def test_proximity_in_characters_and_negation(pack):
    assert "NEAR" in _fired(_score(pack, "agent: 你不还我们就上门，有录音"))
    assert "NEAR" not in _fired(_score(pack, "agent: 你不还的话我们这边可能会考虑安排上门，有录音"))  # 13 chars apart
    assert "NEAR" not in _fired(_score(pack, "agent: 你不还，我们也不会上门，有录音"))  # 上门 negated
    assert "NEAR" not in _fired(_score(pack, "agent: 你不还", "agent: 我们上门，有录音"))  # other segment


def test_a_negation_after_the_words_negates_them_in_the_same_clause(pack):
    assert "JAIL" in _fired(_score(pack, "agent: 你这是要坐牢的，录音"))
    assert "JAIL" not in _fired(_score(pack, "agent: 这跟坐牢没关系，录音"))          # cue right after the hit
    assert "JAIL" not in _fired(_score(pack, "agent: 坐牢这种事不受影响，录音"))       # 3 characters between
    assert "JAIL" in _fired(_score(pack, "agent: 你要坐牢，没关系吗，录音"))           # next clause: not negated
    assert "JAIL" in _fired(_score(pack, "agent: 你会坐牢但没关系，录音"))             # a breaker between
    assert "JAIL" in _fired(_score(pack, "agent: 坐牢这件事情我跟你说没关系，录音"))   # beyond the window


def test_proximity_in_seconds_across_speakers(pack):
    assert "SOON" in _fired(_score(pack, "customer: 我要投诉", "agent: 那我们就上门，有录音"))
    assert "SOON" not in _fired(_score(pack, "customer: 我要投诉", "agent: 好的，有录音", "agent: 嗯", "agent: 上门"))


def test_regex_exclusion_and_numbers(pack):
    assert "RX" in _fired(_score(pack, "agent: 一万二千元必须全部还清，录音"))
    assert "RX" not in _fired(_score(pack, "agent: 这个不是必须全部还清的，录音"))


def test_not_rule_and_unknown_speaker_counts_for_agent_scope(pack):
    assert "NO-REC" in _fired(_score(pack, "agent: 你好"))
    assert "NO-REC" not in _fired(_score(pack, "unknown: 本通话有录音"))
    assert "NEAR" in _fired(_score(pack, "unknown: 你不还我们就上门，录音"))  # mono recording: still found


def test_scorecard_deducts_each_rule_once_and_flags(pack):
    minor_twice = _score(pack, "agent: 一万二千元必须全部还清，录音", "agent: 必须马上还清")
    assert [f.rule_id for f in minor_twice.findings].count("RX") == 2
    assert minor_twice.score == 95 and not minor_twice.flagged  # one deduction per rule; pack threshold 90
    assert minor_twice.review_priority == 10  # but both findings raise the review priority
    assert _score(pack, "agent: 必须马上还清，录音", options=ScoringOptions(flag_threshold=96)).flagged
    major = _score(pack, "agent: 你不还我们就上门，录音")
    assert major.score == 75 and major.flagged and not major.fatal
    fatal = _score(pack, "agent: 你好")
    assert fatal.fatal and fatal.flagged and fatal.score == 0
    assert all(f.pack == "types_test" and f.pack_version == pack.version for f in fatal.findings)
    assert fatal.pack == "types_test" and fatal.pack_version == pack.version


def test_phrase_automaton_finds_every_occurrence_a_plain_search_finds():
    """The shared automaton (ahocorasick-rs) against str.find: every overlapping occurrence of every phrase in
    every line, nested phrases (起诉 / 起诉您) included, and ASCII phrases only as whole words."""
    import random

    from qc.rules.matching import PhraseIndex, _is_word_char, _line_starts

    phrases = ["起诉", "起诉您", "诉您", "您", "上门", "debt", "pay", "pay now", "12378"]
    index = PhraseIndex()
    for slot, phrase in enumerate(phrases):
        index.new_slot()
        index.add(phrase, slot)
    index.build()
    rng = random.Random(11)
    alphabet = ["起诉", "您", "上门", "诉", "debt", "indebted", "pay", " ", "now", "|", "1237", "8", "x"]
    for _ in range(300):
        lines = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(1, 4))]
        found = index.scan("\n".join(lines), _line_starts(lines))
        expected: dict[int, list] = {}
        for line_no, line in enumerate(lines):
            for slot, phrase in enumerate(phrases):
                position = line.find(phrase)
                while position >= 0:
                    end = position + len(phrase)
                    whole = not (_is_word_char(phrase[0]) and position > 0 and _is_word_char(line[position - 1])) and \
                        not (_is_word_char(phrase[-1]) and end < len(line) and _is_word_char(line[end]))
                    if whole:
                        expected.setdefault(slot, []).append((line_no, position, end))
                    position = line.find(phrase, position + 1)
        assert {slot: sorted(hits) for slot, hits in found.items()} == expected, lines


ORDERED_PACK = """
pack: ordered_test
language: en
rules:
  - {id: SAID, type: phrases, category: cease_ignored, severity: minor, report: false, scope: customer, phrases: [stop calling]}
  - {id: ASKED, type: phrases, category: cease_ignored, severity: minor, report: false, phrases: [make a payment]}
  - {id: AFTER, type: all, category: cease_ignored, severity: major, source: t, rules: [SAID, ASKED], ordered: true}
  - {id: ANYWHERE, type: all, category: cease_ignored, severity: major, source: t, rules: [SAID, ASKED]}
"""


@pytest.mark.parametrize("turns,after,anywhere", [
    (["customer: stop calling me", "agent: can you make a payment today"], True, True),
    (["agent: can you make a payment today", "customer: stop calling me", "agent: okay, we will stop"], False, True),
    (["agent: can you make a payment", "customer: stop calling", "agent: then make a payment by Friday"], True, True),
])
def test_an_ordered_all_rule_needs_its_rules_in_order(tmp_path, turns, after, anywhere):
    # "all" over the whole call would charge an agent who asked for a payment before the consumer said stop
    path = tmp_path / "ordered_test.yaml"
    path.write_text(ORDERED_PACK, encoding="utf-8")
    fired = _fired(_score(load_pack(path), *turns))
    assert ("AFTER" in fired) is after and ("ANYWHERE" in fired) is anywhere


UNLESS_PACK = """
pack: unless_test
language: zh
rules:
  - {id: INTRO, type: phrases, category: info, severity: info, report: false, phrases: [[委托来电, 工号]]}
  - {id: TOLD, type: phrases, category: third_party_disclosure, severity: major, source: t, phrases: [银行], unless_same_turn: [INTRO]}
"""


@pytest.mark.parametrize("turns,told_on", [
    (["agent: 我是工号1024，受星澜银行委托来电"], []),                    # the introduction names the bank: no finding
    (["agent: 受星澜银行委托来电", "agent: 他欠星澜银行两万"], [(1,)]),   # a later turn still counts
    (["agent: 他在星澜银行那边的事你转告一下"], [(0,)]),                  # no introduction on the turn
])
def test_unless_same_turn_cancels_a_finding_only_on_the_cancelling_rules_turn(tmp_path, turns, told_on):
    path = tmp_path / "unless_test.yaml"
    path.write_text(UNLESS_PACK, encoding="utf-8")
    result = _score(load_pack(path), *turns)
    assert [f.segment_ids for f in result.findings if f.rule_id == "TOLD"] == told_on


@pytest.mark.parametrize("unless,reason", [(["NOPE"], "unknown rule 'NOPE'"), (["TOLD"], "cannot refer to itself")])
def test_unless_same_turn_must_name_another_rule_of_the_pack(tmp_path, unless, reason):
    from qc.rules.pack import RulePackError

    path = tmp_path / "unless_bad.yaml"
    path.write_text(UNLESS_PACK.replace("unless_same_turn: [INTRO]", f"unless_same_turn: [{unless[0]}]"), encoding="utf-8")
    with pytest.raises(RulePackError) as error:
        load_pack(path)
    assert error.value.rule_id == "TOLD" and error.value.field == "unless_same_turn" and reason in error.value.reason
