"""The `semantic` rule type: a behaviour described by example sentences, extended without training.

    - id: CN-S01
      type: semantic
      category: threat
      source: "..."
      exemplars: [我们知道你孩子在哪个学校上学, 你家住哪栋楼我们都清楚]
      near_misses: [我们不会去您孩子的学校, 请问孩子上学方便接电话吗]
      threshold: 0.8

A turn in scope matches when its sentence embedding (qc.models.embedding: multilingual USE, the same vectors the
violation model's semantic head uses) has cosine similarity ≥ `threshold` with an exemplar AND is closer to the
exemplars than to every near miss. With `per_sentence: true` each sentence of a longer turn is judged too, and
the turn matches when it or one of its sentences does («Your lawyer doesn't have to know. Can you do a
hundred?»). The evidence names the nearest exemplar and the similarity (and the sentence, when it was one). A QC manager
adds an exemplar and the rule matches more, with no retraining. Each turn is embedded once, shared by all
semantic rules of the pack and the model's semantic head. `separability_problems` lists near misses the rule
would match were they not listed (run by `callqc rules validate`). Thresholds are calibrated by
`callqc rules calibrate` (qc.rules.calibration); the pack drops a semantic finding on a turn where a phrase rule
of the same category fired (qc.rules.pack.drop_semantic_repeats).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from qc.domain import Finding
from qc.pii import mask_pii
from qc.rules.matching import CallContext, PackCompiler
from qc.rules.registry import Rule, RuleConfig, rule_type


def _embed(texts: list[str]) -> np.ndarray:
    from qc.models.embedding import embed

    return embed(texts)


class SemanticConfig(RuleConfig):
    type: Literal["semantic"]
    exemplars: list[str] = Field(min_length=1)
    near_misses: list[str] = []
    threshold: float = Field(0.8, gt=0, le=1)  # cosine similarity to the nearest exemplar
    # also judge each sentence of a longer turn on its own (qc.textnorm.split_sentences): the turn matches when it
    # or one of its sentences does. For behaviour said in one sentence of several («Your lawyer doesn't have to
    # know. Can you do a hundred?»), where the whole turn's vector sits between exemplars and near misses.
    per_sentence: bool = False


@rule_type
class SemanticRule(Rule):
    """Turns close in meaning to the exemplars (and closer to them than to the near misses)."""

    type_name = "semantic"
    config_model = SemanticConfig
    config: SemanticConfig

    def __init__(self, config: SemanticConfig, compiler: PackCompiler):
        super().__init__(config, compiler)
        self.exemplars = _embed(config.exemplars)
        self.near_misses = _embed(config.near_misses) if config.near_misses else None
        self.threshold = config.threshold  # `callqc rules calibrate` tries others on this instance

    def similarities(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per vector: best similarity to an exemplar, which exemplar, best similarity to a near miss."""
        to_exemplars = vectors @ self.exemplars.T
        nearest = to_exemplars.argmax(axis=1)
        best = to_exemplars.max(axis=1)
        to_misses = (vectors @ self.near_misses.T).max(axis=1) if self.near_misses is not None \
            else np.full(len(vectors), -1.0)
        return best, nearest, to_misses

    def evaluate(self, context: CallContext) -> list[Finding]:
        indices = [i for i in context.segments_in(self.config.scope) if context.segments[i].text.strip()]
        if not indices:
            return []
        # candidates: every turn whole, and with per_sentence each sentence of a longer turn
        owners, texts = list(indices), [context.segments[i].text for i in indices]
        vectors = context.embeddings(indices, _embed)
        if self.config.per_sentence:
            sentence_owners, sentence_texts, sentence_vectors = context.sentence_embeddings(indices, _embed)
            if sentence_owners:
                owners, texts = owners + sentence_owners, texts + sentence_texts
                vectors = np.vstack([vectors, sentence_vectors])
        best, nearest, to_misses = self.similarities(vectors)
        strongest: dict[int, int] = {}  # turn -> its best matching candidate
        for row, index in enumerate(owners):
            if best[row] < self.threshold or to_misses[row] >= best[row]:
                continue
            if index not in strongest or best[row] > best[strongest[index]]:
                strongest[index] = row
        findings = []
        for index in sorted(strongest):
            row = strongest[index]
            exemplar = self.config.exemplars[int(nearest[row])]
            said = "" if texts[row] == context.segments[index].text else f"«{mask_pii(texts[row])}» is "
            findings.append(self.finding(
                context, [index], mask_pii(context.segments[index].text), score=round(float(best[row]), 4),
                description=f"{said}close to the exemplar «{exemplar}» (similarity {best[row]:.2f})",
            ))
        return findings

    def separability_problems(self) -> list[str]:
        """Near misses this rule would match if they were not listed themselves: closer to an exemplar than the
        threshold and than every other near miss. Then the exemplars and near misses are not separable."""
        if self.near_misses is None:
            return []
        best, nearest, _ = self.similarities(self.near_misses)
        among_misses = self.near_misses @ self.near_misses.T
        np.fill_diagonal(among_misses, -1.0)
        to_others = among_misses.max(axis=1)
        return [f"near miss «{miss}» is {similarity:.2f} similar to the exemplar «{self.config.exemplars[int(i)]}» "
                f"(threshold {self.threshold:g}), more than to any other near miss"
                for miss, similarity, i, other in zip(self.config.near_misses, best, nearest, to_others)
                if similarity >= self.threshold and similarity > other]
