"""Model scores for one call, in the shape the rule engine consumes.

    scorer, warning = callqc.model_registry.load_promoted_scorer(settings, session_factory, store)
    model_scores = scorer.segment_scores(transcript, features) if scorer else None   # rules-only when None
    state = scorer.customer_state(transcript, features)

`segment_scores` maps segment id → label → score. Agent segments carry the violation labels (each label's
decision point is 0.5) plus `none`, and `agitation` when acoustic features are given; customer segments carry
`angry`, `distressed`, `calm` and `complaint_intent` when an emotion model is loaded. Rules of type
model_score reference one of these labels and a threshold.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from qc.domain import AcousticFeatures, Segment, Transcript
from qc.models.acoustic import agent_agitation, customer_cues, segment_agitation, segment_loudness_share
from qc.models.context import turn_contexts
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
        """Scores per segment. Only agent segments carry violation labels, each judged in its context
        (qc.models.context): the callee relation — the declared one, else inferred from the call — zeroes
        third_party_disclosure for a debtor or guarantor (the text alone cannot tell "you owe" said to the debtor
        from the same words said to a relative); and a short affirmation of the customer's question is read with
        the question («你们是法院的？»«对»)."""
        agent = [s for s in transcript.segments if s.speaker == "agent" and s.text.strip()]
        contexts = turn_contexts(transcript, callee_relation)
        texts = [contexts[s.id].texts(s.text) for s in agent]
        flat = self.violation_scores([text for group in texts for text in group])
        scores: dict[int, dict[str, float]] = {}
        position = 0
        for segment, group in zip(agent, texts):
            rows = flat[position:position + len(group)]
            position += len(group)
            row = {label: max(r[label] for r in rows) for label in rows[0] if label != "none"}
            if contexts[segment.id].relation in ("debtor", "guarantor"):
                row["third_party_disclosure"] = 0.0
            row["none"] = round(1.0 - max(row.values()), 4)
            scores[segment.id] = row
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
