"""The hook for the trained models: an agent segment whose model score for a label reaches a threshold.

Model scores come from qc.models.scorer (each agent turn judged with its context: the callee relation and the
customer's turn before it). A model finding's evidence is the whole segment (span and text, PII masked). When a
phrase rule of the same category fired on the same segment, the pack merges the two into one finding with
source "both" (qc.rules.pack), keeping the rule's exact evidence and the model's score.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from qc.domain import Finding
from qc.pii import mask_pii
from qc.rules.matching import CallContext
from qc.rules.registry import Rule, RuleConfig, rule_type


class ModelScoreConfig(RuleConfig):
    type: Literal["model_score"]
    label: str = Field(min_length=1)
    threshold: float = Field(gt=0, le=1)


@rule_type
class ModelScoreRule(Rule):
    """Fires per segment in scope whose `model_scores[segment.id][label]` ≥ threshold; silent without scores."""

    type_name = "model_score"
    config_model = ModelScoreConfig
    config: ModelScoreConfig

    def evaluate(self, context: CallContext) -> list[Finding]:
        scores = context.model_scores
        if not scores:
            return []
        findings = []
        for index, segment in enumerate(context.segments):
            probability = scores.get(segment.id, {}).get(self.config.label)
            if probability is None or probability < self.config.threshold or not context.in_scope(index, self.config.scope):
                continue
            findings.append(self.finding(
                context, [index], mask_pii(segment.text), score=float(probability), source="model",
                description=self.config.description or f"model: {self.config.label} p={probability:.2f}",
            ))
        return findings
