"""QC models: corpus, deterministic training, holdout quality, acoustic scores, and the synthetic calls.

Thresholds are the measured holdout figures (seed 0) rounded down by a small margin; see the area's report.
"""

from __future__ import annotations

import csv
import json
from functools import lru_cache

import numpy as np
import pytest

from qc.domain import AcousticFeatures, ChannelFeatures, Segment, Span, Transcript
from qc.models.acoustic import agent_agitation, segment_agitation
from qc.models.scorer import ModelScorer
from qc.models.text import VIOLATION_LABELS, normalise_text
from qc.models.training import (
    EMOTION_HOLDOUT_FILE,
    EMOTION_TRAIN_FILE,
    VIOLATION_HOLDOUT_FILE,
    VIOLATION_TRAIN_FILE,
    CorpusError,
    TrainingOptions,
    load_violation_corpus,
    train_emotion,
    train_violation,
)
from tests.conftest import SHARED_DIR

CALLS_DIR = SHARED_DIR / "data" / "calls"

# Measured with seed 0 (holdout F1; the holdout holds the paraphrase families and ASR-noised copies of
# scripts/make_seed_corpus.py, and a quarter of the independently written utterances, twelve authors since
# 2026-12-01; model = character TF-IDF + sentence-embedding head): threat 0.835, insult 0.891, impersonation 0.938,
# false_consequence 0.896, third_party_disclosure 0.934, pressure 0.910; macro 0.901 (zh 0.917, en 0.872); lowest
# precision 0.851 (insult, at the model's own decision point; the packs' calibrated thresholds are what the
# nightly uses). Eleven authors: macro 0.899; ten: 0.892; eight: 0.886; four: 0.883. Templates only: macro 0.896
# on an easier holdout.
# TF-IDF alone: macro 0.83.
# Emotion: macro 0.856 (angry 0.818, distressed 0.759, calm 0.848), complaint intent F1 1.0.
MIN_VIOLATION_F1 = {"threat": 0.80, "insult": 0.85, "impersonation": 0.89, "false_consequence": 0.84,
                    "third_party_disclosure": 0.89, "pressure": 0.85}
MIN_VIOLATION_MACRO_F1 = 0.86
MIN_VIOLATION_PRECISION = 0.81
MIN_EMOTION_MACRO_F1 = 0.81
MIN_COMPLAINT_F1 = 0.95


@lru_cache(maxsize=None)
def _trained(kind: str, seed: int = 0):
    return (train_violation if kind == "violation" else train_emotion)(TrainingOptions(seed=seed))


def _rows(path):
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


# ---- corpus -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("train_file, holdout_file", [(VIOLATION_TRAIN_FILE, VIOLATION_HOLDOUT_FILE),
                                                      (EMOTION_TRAIN_FILE, EMOTION_HOLDOUT_FILE)])
def test_holdout_shares_no_template_and_no_text_with_training(train_file, holdout_file):
    train, holdout = _rows(train_file), _rows(holdout_file)
    assert {normalise_text(r["text"]) for r in train}.isdisjoint({normalise_text(r["text"]) for r in holdout})
    assert {r["template"] for r in train}.isdisjoint({r["template"] for r in holdout})
    assert {r["lang"] for r in holdout} == {"zh", "en"}


def test_every_violation_label_has_training_and_holdout_examples_in_both_languages():
    for path in (VIOLATION_TRAIN_FILE, VIOLATION_HOLDOUT_FILE):
        rows = _rows(path)
        for label in VIOLATION_LABELS + ("none",):
            langs = {r["lang"] for r in rows if label in r["labels"].split(",")}
            assert langs == {"zh", "en"}, (path.name, label, langs)


def test_bad_corpus_row_names_file_row_and_field(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("text\tlabels\n你就是个老赖\tinsult\n你好\tthreats\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"bad\.tsv: row 3: field 'labels' has invalid value 'threats'"):
        load_violation_corpus(path)


def test_normalise_reads_spoken_digit_strings_as_whisper_writes_them():
    assert normalise_text("我马上打一二三七八！") == normalise_text("我马上打12378!")
    assert normalise_text("等一下") == "等一下"  # words with 一 are left alone


# ---- training ----------------------------------------------------------------------------------------
def test_training_is_deterministic_with_a_seed():
    first = train_violation(TrainingOptions(seed=7))
    second = train_violation(TrainingOptions(seed=7))
    texts = [r["text"] for r in _rows(VIOLATION_HOLDOUT_FILE)]
    assert first.data_hash == second.data_hash
    assert np.array_equal(first.model.predict_proba(texts), second.model.predict_proba(texts))
    assert first.model.thresholds == second.model.thresholds
    strip = lambda m: {k: v for k, v in m.items() if k != "training_seconds"}  # noqa: E731
    assert strip(first.metrics) == strip(second.metrics)
    emotion_a, emotion_b = train_emotion(TrainingOptions(seed=7)), train_emotion(TrainingOptions(seed=7))
    assert emotion_a.metrics["labels"] == emotion_b.metrics["labels"]


def test_violation_holdout_metrics_meet_measured_thresholds():
    result = _trained("violation")
    labels = result.metrics["labels"]
    for label, minimum in MIN_VIOLATION_F1.items():
        assert labels[label]["f1"] >= minimum, (label, labels[label])
        assert labels[label]["precision"] >= MIN_VIOLATION_PRECISION, (label, labels[label])
    assert result.macro_f1 >= MIN_VIOLATION_MACRO_F1
    assert set(result.metrics["macro_f1_by_language"]) == {"zh", "en"}


def test_emotion_holdout_metrics_meet_measured_thresholds():
    result = _trained("emotion")
    assert result.macro_f1 >= MIN_EMOTION_MACRO_F1
    assert result.metrics["labels"]["complaint_intent"]["f1"] >= MIN_COMPLAINT_F1
    assert result.metrics["labels"]["complaint_intent"]["precision"] == 1.0


# ---- the synthetic calls in shared/ (never used for training) -----------------------------------------
def _call(call_id: str) -> tuple[Transcript, dict, dict]:
    rows = _rows(CALLS_DIR / f"{call_id}.segments.tsv")
    transcript = Transcript(tuple(Segment(i, float(r["start_s"]), float(r["end_s"]), r["role"], r["text"])
                                  for i, r in enumerate(rows)), "zh", float(rows[-1]["end_s"]))
    labels = json.loads((CALLS_DIR / f"{call_id}.labels.json").read_text(encoding="utf-8"))
    sidecar = json.loads((CALLS_DIR / f"{call_id}.json").read_text(encoding="utf-8"))
    return transcript, labels, sidecar


CALL_IDS = [f"callA_0{i}" for i in range(1, 9)]


def test_synthetic_calls_every_labelled_violation_turn_is_scored_above_its_decision_point():
    scorer = ModelScorer(_trained("violation").model, _trained("emotion").model)
    missed, false_alarms, agent_turns = [], [], 0
    for call_id in CALL_IDS:
        transcript, labels, sidecar = _call(call_id)
        scores = scorer.segment_scores(transcript, callee_relation=sidecar["callee_relation"])
        truth: dict[int, set[str]] = {}
        for violation in labels["violations"]:
            if violation["turn"] is not None and violation["category"] in VIOLATION_LABELS:
                truth.setdefault(violation["turn"], set()).add(violation["category"])
        for segment in transcript.segments:
            if segment.speaker != "agent":
                continue
            agent_turns += 1
            flagged = {label for label in VIOLATION_LABELS if scores[segment.id][label] >= 0.5}
            missed += [(call_id, segment.id, c) for c in truth.get(segment.id, set()) - flagged]
            false_alarms += [(call_id, segment.id, c) for c in flagged - truth.get(segment.id, set())]
    assert missed == []
    # measured: 3 false alarms in 47 agent turns at the decision point 0.5 (a callback promise and «你跟她关系怎么样»
    # read as threats, the latter also as disclosure); the packs' calibrated thresholds leave the two threats
    assert len(false_alarms) <= 3, false_alarms


def test_synthetic_calls_customer_emotion_and_complaint_intent():
    scorer = ModelScorer(_trained("violation").model, _trained("emotion").model)
    emotion_right, intent_right = 0, 0
    for call_id in CALL_IDS:
        transcript, labels, _ = _call(call_id)
        state = scorer.customer_state(transcript)
        emotion_right += state.emotion == labels["customer_emotion"]
        intent_right += state.complaint_intent == labels["complaint_intent"]
        if labels["complaint_intent"]:
            assert state.priority_boost > 0 and state.evidence
    assert intent_right == len(CALL_IDS)
    assert emotion_right >= 7  # measured 7 of 8 (callA_07's early-morning distress reads as calm)


# ---- acoustics ---------------------------------------------------------------------------------------
def _channel(speaker, loud_spans=(), loudness=-26.0, pitch_std=20.0, rate=4.0, speech=40.0, raised=()):
    """A channel with per-second speech levels wandering ±2 dB around `loudness`, `raised` = [(start, end, dB)]."""
    wander = (0.0, 1.5, -1.0, 2.0, -2.0, 0.5, -0.5, 1.0)
    levels = tuple((float(t), t + 0.9, loudness + wander[t % 8] + sum(db for a, b, db in raised if a <= t < b), 180.0)
                   for t in range(int(speech)))
    return ChannelFeatures(speaker=speaker, speech_spans=(Span(0.0, speech),), speech_seconds=speech,
                           longest_silence_s=1.0, loudness_dbfs_mean=loudness, loudness_dbfs_peak=loudness + 8,
                           loud_spans=tuple(loud_spans), pitch_mean_hz=180.0, pitch_std_hz=pitch_std,
                           speech_rate_sps=rate, speech_levels=levels)


def _features(agent, customer):
    return AcousticFeatures(duration=60.0, channels=(agent, customer))


def test_agent_agitation_orders_shouting_above_calm_speech():
    calm = agent_agitation(_features(_channel("agent"), _channel("customer")))
    shouting = agent_agitation(_features(_channel("agent", raised=[(10, 16, 10.0)]), _channel("customer")))
    brief_peak = agent_agitation(_features(_channel("agent", raised=[(10, 11, 8.0)]), _channel("customer")))
    loud_microphone = agent_agitation(_features(_channel("agent", loudness=-12.0), _channel("customer")))
    assert calm.score < 0.5 and not calm.stretches
    assert loud_microphone.score == calm.score  # a loud level throughout is the agent's own baseline
    assert shouting.score > 0.8 and shouting.stretches[0].start == pytest.approx(10.0)
    assert calm.score < brief_peak.score < 0.5 < shouting.score
    assert agent_agitation(AcousticFeatures(duration=1.0, channels=(_channel("customer"),))) is None
    loud_segment, quiet_segment = Segment(1, 10.0, 16.0, "agent", "x"), Segment(2, 30.0, 36.0, "agent", "x")
    assert segment_agitation(loud_segment, shouting) > segment_agitation(quiet_segment, shouting)


def test_segment_scores_carry_agitation_and_customer_labels():
    scorer = ModelScorer(_trained("violation").model, _trained("emotion").model)
    transcript = Transcript((Segment(0, 10.0, 16.0, "agent", "你今天必须还清，否则后果自负！"),
                             Segment(1, 17.0, 20.0, "customer", "我要投诉你们，打12378！"),
                             Segment(2, 21.0, 23.0, "agent", "")), "zh", 23.0)
    features = _features(_channel("agent", raised=[(10, 16, 10.0)]), _channel("customer"))
    scores = scorer.segment_scores(transcript, features)
    assert set(scores) == {0, 1}  # empty segments are not scored
    assert scores[0]["pressure"] >= 0.5 and scores[0]["agitation"] > 0.5
    assert scores[1]["complaint_intent"] >= 0.5 and set(scores[1]) >= {"angry", "distressed", "calm"}


def test_customer_acoustic_cues_raise_anger():
    scorer = ModelScorer(_trained("violation").model, _trained("emotion").model)
    transcript = Transcript((Segment(0, 1.0, 4.0, "customer", "你说什么？"),
                             Segment(1, 5.0, 9.0, "customer", "我不知道。")), "zh", 9.0)
    quiet = scorer.customer_state(transcript, _features(_channel("agent"), _channel("customer", loudness=-30.0)))
    loud = scorer.customer_state(transcript, _features(
        _channel("agent"), _channel("customer", loud_spans=[Span(1.0, 4.0), Span(5.0, 9.0)], loudness=-18.0,
                                    pitch_std=80.0, rate=6.5)))
    assert loud.emotion_scores["angry"] > quiet.emotion_scores["angry"]
