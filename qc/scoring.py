"""Score one call against a rule pack: findings → deductions → score, fatal, flagged.

Scorecard (per pack, overridable with ScoringOptions): each rule that fires deducts its weight once (its own
`weight`, else the scorecard's weight for its severity); score = 100 − deductions, floored at 0. Any critical
finding makes the call fatal: its score becomes the scorecard's `fatal_score` (0 by default) and it is flagged.
A call is also flagged when its score is below the flag threshold (settings qc.flag_threshold, default 80).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

from qc.domain import AcousticFeatures, Call, CallAttempt, CallScore, Finding, Transcript
from qc.models.context import infer_callee_relation
from qc.rules.pack import RulePack

DEFAULT_FLAG_THRESHOLD = 80.0


@dataclass(frozen=True)
class ScoringOptions:
    """Overrides of the pack's scorecard. None keeps the pack's value."""

    flag_threshold: float | None = None  # else the pack's, else DEFAULT_FLAG_THRESHOLD
    weights: Mapping[str, float] = field(default_factory=dict)  # severity → deduction
    fatal_severity: str = "critical"

    @classmethod
    def from_settings(cls, settings) -> "ScoringOptions":  # callqc.settings.Settings
        return cls(flag_threshold=settings.qc.flag_threshold)


def score_call(
    call: Call,
    transcript: Transcript,
    pack: RulePack,
    features: AcousticFeatures | None = None,
    history: Sequence[CallAttempt] = (),
    model_scores: Mapping[int, Mapping[str, float]] | None = None,
    options: ScoringOptions | None = None,
) -> CallScore:
    """Evaluate every rule of the pack on the call and score it. A call whose callee relation is unknown is
    judged with the relation the call itself shows (「我是他同事」: third party; qc.models.context), so the
    third-party rules apply to it."""
    findings = pack.evaluate(judged_call(call, transcript), transcript, features=features, history=history,
                             model_scores=model_scores)
    return score_findings(findings, pack, options)


def judged_call(call: Call, transcript: Transcript) -> Call:
    """The call as the rules judge it: an unknown callee relation replaced by the one the call itself shows."""
    if call.callee_relation != "unknown":
        return call
    return replace(call, callee_relation=infer_callee_relation(transcript, call.callee_relation))


def score_findings(findings: Sequence[Finding], pack: RulePack, options: ScoringOptions | None = None) -> CallScore:
    """The scorecard arithmetic alone (also used after reviewers reject findings)."""
    options = options or ScoringOptions()
    rules = pack.rules_by_id

    def weight(finding: Finding) -> float:
        rule = rules.get(finding.rule_id)
        if rule is not None and rule.config.weight is not None:
            return rule.config.weight
        return options.weights.get(finding.severity, pack.scorecard.weight(finding.severity))

    per_rule: dict[str, float] = {}
    for finding in findings:
        per_rule.setdefault(finding.rule_id, weight(finding))
    score = max(0.0, 100.0 - sum(per_rule.values()))
    fatal = any(f.severity == options.fatal_severity for f in findings)
    if fatal and pack.scorecard.fatal_score is not None:
        score = min(score, pack.scorecard.fatal_score)
    threshold = options.flag_threshold
    if threshold is None:
        threshold = pack.scorecard.flag_threshold if pack.scorecard.flag_threshold is not None else DEFAULT_FLAG_THRESHOLD
    flagged = fatal or score < threshold
    # review order: fatal calls first, then by how much was deducted over all findings (repeats count here)
    priority = (100.0 if fatal else 0.0) + sum(weight(f) for f in findings)
    return CallScore(
        score=round(score, 2), flagged=flagged, fatal=fatal, findings=tuple(findings),
        pack=pack.name, pack_version=pack.version, review_priority=round(priority, 2),
    )
