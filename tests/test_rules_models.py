"""Every text category decided by rules ∪ model (issue 13 item 1): one model_score rule per model label in both
packs, thresholds calibrated on held-out data, findings that say rule / model / both with their evidence, the
model judging agent turns in context (callee relation declared or inferred, the customer's question)."""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path

import pytest

from qc.domain import Segment, Transcript
from qc.models.context import infer_callee_relation, turn_contexts
from qc.models.scorer import ModelScorer
from qc.models.text import VIOLATION_LABELS
from qc.models.training import (
    MODEL_F1_NEIGHBOURS,
    VIOLATION_HOLDOUT_FILE,
    VIOLATION_TRAIN_FILE,
    TrainingOptions,
    calibrate_thresholds,
    data_hash,
    fold_examples,
    load_reference_calls,
    load_violation_corpus,
    model_calibration_set,
    out_of_author_scores,
    read_out_of_author_scores,
    train_violation,
)
from qc.rules import load_pack
from qc.rules.calibration import OUT_OF_AUTHOR_FILE, calibration_files, read_calibration_calls, utterances_by_author
from qc.scoring import score_call
from rules_fixtures import build_scenario, load_shared_call, shared_call_ids

SAMPLE_CALLS = Path(__file__).resolve().parent.parent / "samples" / "calls"
PACKS = ("cn_collection", "us_fdcpa")


@lru_cache(maxsize=1)
def _model():
    return train_violation(TrainingOptions(seed=0)).model


def _model_rules(pack):
    return {rule.config.label: rule for rule in pack.rules if rule.type_name == "model_score"}


@pytest.mark.parametrize("pack_name", PACKS)
def test_every_model_label_has_a_model_rule_beside_its_phrase_rules(pack_name):
    pack = load_pack(pack_name)
    model_rules = _model_rules(pack)
    assert set(VIOLATION_LABELS) <= set(model_rules)
    for label, rule in model_rules.items():
        assert rule.config.category == label and rule.config.scope == "agent" and rule.config.report
        phrase_rules = [r for r in pack.rules if r.config.category == label and r.type_name != "model_score"]
        assert phrase_rules, f"{pack_name}: category {label} has a model rule but no phrase rule"


@pytest.mark.parametrize("pack_name", PACKS)
def test_thresholds_are_the_out_of_author_calibration(pack_name):
    """The pack's thresholds are what `callqc models calibrate` computes: on the stored out-of-author scores (each
    independently written file scored by the seed model refit without it) plus the labelled calls' agent turns
    scored by the seed model. No scored text was in the training of the model that scored it."""
    pack = load_pack(pack_name)
    rows = read_out_of_author_scores(OUT_OF_AUTHOR_FILE)
    calls = load_reference_calls(SAMPLE_CALLS) + read_calibration_calls()
    calibrated = calibrate_thresholds(*model_calibration_set(_model(), rows, calls, pack.language), _model().labels,
                                      neighbours=MODEL_F1_NEIGHBOURS)
    for label, rule in _model_rules(pack).items():
        if label in calibrated:
            assert rule.config.threshold == pytest.approx(calibrated[label]["threshold"]), label


def test_smoothed_calibration_prefers_a_plateau_to_a_lone_peak():
    """Ten positives, ten negatives; F1 by threshold is 0.67 (0.50), 0.95 (0.55), 0.89 (0.60-0.70), 0.33 (0.75,
    0.80). Point by point 0.55 wins; averaged with one neighbour each side (MODEL_F1_NEIGHBOURS) 0.60 wins, the
    edge of the plateau next to the peak, and the reported metrics are 0.60's own."""
    import numpy as np

    grid = (0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80)
    positives = [0.52, 0.57] + [0.72] * 6 + [0.90] * 2
    negatives = [0.51] * 10
    truth = np.array([True] * len(positives) + [False] * len(negatives))[:, None]
    scores = np.array(positives + negatives)[:, None]
    plain = calibrate_thresholds(scores, truth, ["x"], min_precision=0.5, grid=grid)["x"]
    smooth = calibrate_thresholds(scores, truth, ["x"], min_precision=0.5, grid=grid, neighbours=1)["x"]
    assert plain["threshold"] == 0.55 and plain["recall"] == pytest.approx(0.9)
    assert smooth["threshold"] == 0.60 and smooth["recall"] == pytest.approx(0.8) and smooth["precision"] == 1.0


def test_the_stored_out_of_author_scores_are_todays():
    """Every stored row was scored by a model whose training data is today's corpus without its author (same
    data hash), every agent line of every calibration file is there, and one author's fold refit here gives the
    stored scores (to 0.02: sentence vectors of new text are computed on this CPU)."""
    rows = read_out_of_author_scores(OUT_OF_AUTHOR_FILE)
    corpus = load_violation_corpus(VIOLATION_TRAIN_FILE)
    assert not {e.text for e in corpus} & {e.text for e in load_violation_corpus(VIOLATION_HOLDOUT_FILE)}
    authors = utterances_by_author(calibration_files())
    assert {row.author for row in rows} == set(authors)
    for author in authors:
        fold = fold_examples(corpus, author)
        assert len(fold) < len(corpus), author  # the author's rows were in the corpus and are left out
        assert {row.fold_data for row in rows if row.author == author} == {data_hash(fold)[:16]}, \
            f"{author}: stored scores are stale (run: callqc models calibrate)"
    expected = {(a, c.call_id) for a, calls in authors.items() for c in calls
                if any(s.speaker == "agent" for s in c.transcript.segments)}
    assert {(row.author, row.call_id) for row in rows} == expected
    smallest = min(authors, key=lambda a: len(authors[a]))
    refit = out_of_author_scores({smallest: authors[smallest]})
    stored = {row.call_id: row.scores for row in rows if row.author == smallest}
    assert len(refit) == len(stored)
    for row in refit:
        for label, value in row.scores.items():
            assert value == pytest.approx(stored[row.call_id][label], abs=0.02), (row.call_id, label)


def _scored(call_id):
    call, transcript, labels = load_shared_call(call_id)
    scores = ModelScorer(_model()).segment_scores(transcript, callee_relation=call.callee_relation)
    return score_call(call, transcript, load_pack("cn_collection"), model_scores=scores), transcript, labels


@pytest.mark.parametrize("call_id", shared_call_ids())
def test_rules_and_model_on_the_labelled_calls(call_id):
    result, transcript, labels = _scored(call_id)
    for violation in labels["violations"]:
        found = [f for f in result.findings if f.category == violation["category"]
                 and (violation["turn"] is None or violation["turn"] in f.segment_ids)]
        assert found, (violation, [(f.rule_id, f.segment_ids) for f in result.findings])
    if labels["compliant"]:
        assert result.findings == () and not result.flagged
    for finding in result.findings:
        assert finding.source in ("rule", "model", "both")
        if finding.source == "both":  # the phrase rule's exact words, the model's score
            assert finding.score is not None and finding.score >= 0.5 and finding.text
            assert not finding.rule_id.startswith("CN-M")
        if finding.source == "model":
            segment = next(s for s in transcript.segments if s.id == finding.segment_ids[0])
            assert (finding.start, finding.end) == (segment.start, segment.end) and finding.text == segment.text


def test_labelled_violations_found_by_rule_and_model_together():
    result, _, _ = _scored("callA_02")
    by_turn = {(f.category, f.segment_ids): f for f in result.findings}
    assert by_turn[("insult", (6,))].source == "both" and by_turn[("threat", (8,))].source == "both"
    assert len([f for f in result.findings if f.segment_ids == (6,)]) == 1  # one finding, not two


def test_model_and_semantic_rule_find_what_no_phrase_names():
    """No phrase names 「所有的银行卡…都会被冻结」; the semantic rule (close to an exemplar) and the model do, and
    the two make one finding (source "both"), not two."""
    pack = load_pack("cn_collection")
    scenario = build_scenario("你要是还不上，明天你名下所有的银行卡、微信、支付宝都会被冻结", "zh")
    rules_only = score_call(scenario.call, scenario.transcript, pack)
    found = [f for f in rules_only.findings if f.category == "false_consequence"]
    assert [f.rule_id for f in found] == ["CN-S04-false-consequence"] and "银行卡" in found[0].description
    scores = ModelScorer(_model()).segment_scores(scenario.transcript, callee_relation="debtor")
    with_model = score_call(scenario.call, scenario.transcript, pack, model_scores=scores)
    found = [f for f in with_model.findings if f.category == "false_consequence"]
    assert [f.source for f in found] == ["both"] and with_model.flagged


def test_callee_relation_is_inferred_when_the_sidecar_does_not_say_it():
    call, transcript, _ = load_shared_call("callA_04")
    unknown = dataclasses.replace(call, callee_relation="unknown")
    assert infer_callee_relation(transcript, "unknown") == "third_party"
    assert infer_callee_relation(load_shared_call("callA_01")[1], None) == "debtor"
    result = score_call(unknown, transcript, load_pack("cn_collection"))
    assert any(f.rule_id == "CN-04" and 4 in f.segment_ids for f in result.findings)  # disclosure to a colleague
    scores = ModelScorer(_model()).segment_scores(transcript, callee_relation="unknown")
    assert scores[4]["third_party_disclosure"] >= 0.5
    debtor_scores = ModelScorer(_model()).segment_scores(transcript, callee_relation="debtor")
    assert debtor_scores[4]["third_party_disclosure"] == 0.0  # "you owe" to the debtor is no disclosure


@pytest.mark.parametrize("turns,expected", [
    (["agent: 请问是王先生吗", "customer: 我是他爱人，他不在", "agent: 好的"], "third_party"),
    (["agent: 您是他爱人吧？", "customer: 对，怎么了"], "third_party"),
    (["agent: 您是他爱人吧？", "customer: 不是，我就是王磊本人"], "debtor"),
    (["agent: 请问是王先生吗", "customer: 嗯，是我"], "debtor"),
    (["agent: Is this Sarah Jones?", "customer: No, I'm her roommate."], "third_party"),
    (["agent: Is this Sarah Jones?", "customer: Speaking."], "debtor"),
    (["agent: Is this Tom Reyes?", "customer: I'm his business partner."], "third_party"),
    (["agent: Is this Tom Reyes?", "customer: This is his grandpa, he lives with me."], "third_party"),
    (["agent: 请问是李强吗", "customer: 我是他奶奶，他上班去了"], "third_party"),
    (["agent: Is this Tom Reyes?", "customer: I'm his... no, this is Tom."], "unknown"),
    (["agent: 喂", "customer: 喂"], "unknown"),
])
def test_relation_inference_table(turns, expected):
    segments = tuple(Segment(i, i * 3.0, i * 3.0 + 2, t.split(": ")[0], t.split(": ", 1)[1]) for i, t in enumerate(turns))
    assert infer_callee_relation(Transcript(segments, "zh", 10.0), "unknown") == expected


def test_a_short_yes_is_read_with_the_customers_question():
    segments = (Segment(0, 0, 2, "customer", "你们是法院的吗？"), Segment(1, 2, 3, "agent", "对。"),
                Segment(2, 4, 6, "customer", "我明天还可以吗"), Segment(3, 6, 7, "agent", "对。"))
    transcript = Transcript(segments, "zh", 7.0)
    contexts = turn_contexts(transcript, "debtor")
    assert contexts[1].texts("对。") == ["对。", "你们是法院的吗？ 对。"]
    scores = ModelScorer(_model()).segment_scores(transcript, callee_relation="debtor")
    assert scores[1]["impersonation"] > scores[3]["impersonation"]
    assert scores[1]["impersonation"] >= load_pack("cn_collection").rules_by_id["CN-M03-model-impersonation"].config.threshold
