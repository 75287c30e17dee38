"""Model scores for one call, in the shape the rule engine consumes.

    scorer, warning = load_promoted_scorer(settings, session_factory, store)
    model_scores = scorer.segment_scores(transcript, features) if scorer else None   # rules-only when None
    state = scorer.customer_state(transcript, features)

`segment_scores` maps segment id → label → score. Agent segments carry the violation labels (each label's
decision point is 0.5) plus `none`, and `agitation` when acoustic features are given; customer segments carry
`angry`, `distressed`, `calm` and `complaint_intent` when an emotion model is loaded. Rules of type
model_score reference one of these labels and a threshold.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from qc.domain import AcousticFeatures, Segment, Transcript
from qc.models.acoustic import agent_agitation, customer_cues, segment_agitation, segment_loudness_share
from qc.models.text import COMPLAINT_LABEL, EMOTIONS, EmotionClassifier, ViolationClassifier

log = logging.getLogger(__name__)

EMOTION_THRESHOLD = 0.5  # a call is angry/distressed when its score for that emotion reaches this
COMPLAINT_THRESHOLD = 0.5
ACOUSTIC_WEIGHT = 0.2  # how far acoustic cues can move a segment's emotion probability
# Points added to a call's review priority (the same 0..100 scale as the call score).
PRIORITY_POINTS = {"complaint_intent": 30.0, "angry": 20.0, "distressed": 15.0}


@dataclass(frozen=True)
class CustomerState:
    """The customer's state over a call: emotion (angry | distressed | calm), complaint intent, and the
    review-priority boost they earn. `evidence` lists the customer segment ids behind the decision."""

    emotion: str
    complaint_intent: bool
    priority_boost: float
    emotion_scores: dict[str, float] = field(default_factory=dict)
    complaint_score: float = 0.0
    evidence: tuple[int, ...] = ()


CALM = CustomerState("calm", False, 0.0)


class ModelScorer:
    def __init__(self, violation: ViolationClassifier, emotion: EmotionClassifier | None = None,
                 versions: dict[str, str] | None = None):
        self.violation = violation
        self.emotion = emotion
        self.versions = dict(versions or {})

    @property
    def version(self) -> str:
        """The model versions in use, e.g. `violation-0003+emotion-0002` (stored with each call score)."""
        return "+".join(self.versions[kind] for kind in sorted(self.versions)) or "unregistered"

    def violation_scores(self, texts: list[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        probs = self.violation.predict_proba(texts)
        labels = self.violation.output_labels
        return [{label: round(float(value), 4) for label, value in zip(labels, row)} for row in probs]

    def segment_scores(self, transcript: Transcript, features: AcousticFeatures | None = None,
                       callee_relation: str | None = None) -> dict[int, dict[str, float]]:
        """Scores per segment. With `callee_relation` debtor/guarantor, third_party_disclosure is 0: the text
        alone cannot tell "you owe" said to the debtor from the same words said to a relative."""
        agent = [s for s in transcript.segments if s.speaker == "agent" and s.text.strip()]
        scores = {s.id: row for s, row in zip(agent, self.violation_scores([s.text for s in agent]))}
        if callee_relation in ("debtor", "guarantor"):
            for row in scores.values():
                row["third_party_disclosure"] = 0.0
                row["none"] = round(1.0 - max(v for k, v in row.items() if k != "none"), 4)
        agitation = agent_agitation(features) if features is not None else None
        if agitation is not None:
            for segment in agent:
                scores[segment.id]["agitation"] = segment_agitation(segment, agitation)
        if self.emotion is not None:
            for segment_id, row in self._customer_segment_scores(transcript, features).items():
                scores[segment_id] = row
        return scores

    def _customer_segment_scores(self, transcript: Transcript,
                                 features: AcousticFeatures | None) -> dict[int, dict[str, float]]:
        customer: list[Segment] = [s for s in transcript.segments if s.speaker == "customer" and s.text.strip()]
        if not customer or self.emotion is None:
            return {}
        emotions, complaint = self.emotion.predict([s.text for s in customer])
        cues = customer_cues(features)
        result = {}
        for segment, probs, complaint_probability in zip(customer, emotions, complaint):
            adjusted = dict(probs)
            # Acoustic cues nudge the text's probabilities, then renormalise: loud/fast speech → anger,
            # quiet/slow speech → distress.
            adjusted["angry"] += ACOUSTIC_WEIGHT * (0.5 * cues.arousal + 0.5 * segment_loudness_share(segment, cues))
            adjusted["distressed"] += ACOUSTIC_WEIGHT * cues.low_energy
            total = sum(adjusted.values())
            row = {name: round(adjusted[name] / total, 4) for name in EMOTIONS}
            row[COMPLAINT_LABEL] = round(float(complaint_probability), 4)
            result[segment.id] = row
        return result

    def customer_state(self, transcript: Transcript, features: AcousticFeatures | None = None) -> CustomerState:
        """Per call: each emotion scores the mean of its two strongest customer segments (one stray segment
        does not make a call angry); complaint intent needs one segment that says it."""
        rows = self._customer_segment_scores(transcript, features)
        if not rows:
            return CALM
        call_scores: dict[str, float] = {}
        for name in ("angry", "distressed"):
            top = sorted((row[name] for row in rows.values()), reverse=True)[:2]
            call_scores[name] = round(sum(top) / len(top), 4)
        strongest = max(call_scores, key=call_scores.get)
        emotion = strongest if call_scores[strongest] >= EMOTION_THRESHOLD else "calm"
        complaint_score = max(row[COMPLAINT_LABEL] for row in rows.values())
        complaint_intent = complaint_score >= COMPLAINT_THRESHOLD
        evidence = [segment_id for segment_id, row in rows.items()
                    if (complaint_intent and row[COMPLAINT_LABEL] >= COMPLAINT_THRESHOLD)
                    or (emotion != "calm" and row[emotion] >= EMOTION_THRESHOLD)]
        boost = (PRIORITY_POINTS["complaint_intent"] if complaint_intent else 0.0) + \
            (PRIORITY_POINTS[emotion] if emotion != "calm" else 0.0)
        return CustomerState(emotion, complaint_intent, boost, call_scores, round(complaint_score, 4), tuple(evidence))


# ---- the promoted models, loaded once per process -----------------------------------------------------
_loaded: dict[tuple[Any, ...], ModelScorer] = {}
_unusable: dict[tuple[Any, ...], str] = {}  # corrupt artefacts: not fetched again until another is promoted
_lock = threading.Lock()


def load_promoted_scorer(settings, session_factory=None, store=None) -> tuple[ModelScorer | None, str | None]:
    """The promoted models as a ModelScorer, loaded once per process (reloaded only when a different version
    is promoted). Returns (scorer, None), or (None, warning) when there is no usable violation model, so the
    caller scores with rules only and records the warning on its run; an unusable emotion model gives
    (scorer without emotion, warning)."""
    from callqc import db
    from callqc.storage import RecordingStore
    from qc.models.registry import ModelArtifactUnreachable, ModelRegistryError, load_artifact, promoted_model

    if session_factory is None:
        session_factory = db.session_factory(db.make_engine(settings.database_url))
    store = store or RecordingStore(settings)
    try:
        violation_record = promoted_model(session_factory, "violation")
        emotion_record = promoted_model(session_factory, "emotion")
    except Exception as exc:  # noqa: BLE001 — e.g. database not migrated: scoring must still go on
        return None, f"model registry unavailable, scoring with rules only: {type(exc).__name__}: {exc}"
    if violation_record is None:
        return None, "no promoted violation model (`callqc models promote VERSION`): scoring with rules only"
    cache_key = (store.endpoint, store.bucket,
                 *((r.version, r.metrics.get("artifact_sha256")) for r in (violation_record, emotion_record) if r))
    with _lock:
        if cache_key in _loaded:
            return _loaded[cache_key], None
        if cache_key in _unusable:
            return None, _unusable[cache_key]
        try:
            violation = load_artifact(violation_record, store).model
        except ModelRegistryError as exc:
            warning = f"{exc}; scoring with rules only"
            log.warning(warning)
            if not isinstance(exc, ModelArtifactUnreachable):
                _unusable[cache_key] = warning
            return None, warning
        emotion, warning = None, None
        if emotion_record is not None:
            try:
                emotion = load_artifact(emotion_record, store).model
            except ModelRegistryError as exc:
                warning = f"{exc}; customer emotion from models disabled"
                log.warning(warning)
        versions = {"violation": violation_record.version}
        if emotion is not None:
            versions["emotion"] = emotion_record.version
        scorer = ModelScorer(violation, emotion, versions)
        if warning is None:
            _loaded[cache_key] = scorer
        return scorer, warning


def clear_loaded_scorers() -> None:
    """Forget the process's loaded models (tests; a long-lived server after an out-of-band change)."""
    with _lock:
        _loaded.clear()
        _unusable.clear()
