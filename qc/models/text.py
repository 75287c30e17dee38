"""Text classifiers: character n-gram TF-IDF + logistic regression, for Mandarin and English alike; the
violation classifier adds a semantic head (logistic regression on multilingual sentence embeddings,
qc.models.embedding) and averages the two.

Character n-grams need no word segmentation (Mandarin has no spaces) and survive ASR slips of one character,
but do not generalise to unseen phrasing; sentence embeddings do («我们知道你孩子在哪上学» is near «去你孩子学校»).
Measured on the held-out templates (seed 0): TF-IDF alone macro-F1 0.833, embeddings alone 0.877, the average
of both 0.892 (English 0.76 → 0.87), so the average is kept. Each text is embedded once for all six labels.
Both classifiers are plain picklable objects (the encoder itself is not pickled): registry.py stores them.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from qc.models.embedding import embed

VIOLATION_LABELS: tuple[str, ...] = (
    "threat", "insult", "impersonation", "false_consequence", "third_party_disclosure", "pressure",
)
NONE_LABEL = "none"
ALL_VIOLATION_LABELS: tuple[str, ...] = VIOLATION_LABELS + (NONE_LABEL,)
EMOTIONS: tuple[str, ...] = ("angry", "distressed", "calm")
COMPLAINT_LABEL = "complaint_intent"

_CHINESE_DIGITS = {c: str(i) for i, c in enumerate("零一二三四五六七八九")} | {"〇": "0"}
_DIGIT_RUN = re.compile(f"[{''.join(_CHINESE_DIGITS)}]{{3,}}")
_PUNCTUATION = re.compile(r"[^\w!?！？$]+")


def normalise_text(text: str) -> str:
    """Fold width and case, read digit-by-digit numbers (一二三七八) as Arabic digits like Whisper writes them,
    and turn punctuation into single spaces (ASR output may have none)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _DIGIT_RUN.sub(lambda m: "".join(_CHINESE_DIGITS[c] for c in m.group()), text)
    text = text.replace("！", "!").replace("？", "?")
    return _PUNCTUATION.sub(" ", text).strip()


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1,
                           preprocessor=normalise_text, dtype=np.float32)


@dataclass(frozen=True)
class TextModelOptions:
    """Hyper-parameters of the text classifiers, chosen by grouped cross-validation on the training split
    (character 1–3-grams and C=4 beat 1–2, 1–4, 2–4-grams, word-boundary n-grams and C=20)."""

    regularisation_c: float = 4.0  # inverse L2 strength of the logistic regressions
    seed: int = 0
    threshold_folds: int = 5  # grouped CV folds for tuning each label's decision threshold; 0 = keep 0.5
    semantic_head: bool = True  # also a logistic regression on sentence embeddings, averaged with the n-grams


def rescale_to_threshold(probability: np.ndarray, threshold: float) -> np.ndarray:
    """Monotone piecewise-linear map sending `threshold` to 0.5, so every label's decision point is 0.5."""
    low = 0.5 * probability / threshold
    high = 0.5 + 0.5 * (probability - threshold) / (1.0 - threshold)
    return np.where(probability < threshold, low, high)


def _best_f1_threshold(truth: np.ndarray, scores: np.ndarray) -> float:
    best, best_f1 = 0.5, -1.0
    for threshold in np.round(np.arange(0.1, 0.9, 0.025), 3):
        predicted = scores >= threshold
        tp = int(np.sum(truth & predicted))
        f1 = 2 * tp / (2 * tp + int(np.sum(predicted & ~truth)) + int(np.sum(truth & ~predicted)))
        # ties go to the threshold nearest 0.5: no reason to move the decision point further than needed
        if f1 > best_f1 + 1e-9 or (abs(f1 - best_f1) <= 1e-9 and abs(threshold - 0.5) < abs(best - 0.5)):
            best, best_f1 = float(threshold), f1
    return best


@dataclass
class LabelledText:
    """One training utterance. `labels` maps a label to True/False; a label absent from it is unknown
    (a reviewer who rejected `threat` on a text said nothing about `insult`)."""

    text: str
    labels: dict[str, bool]
    weight: float = 1.0
    source: str = "seed"
    group: str = ""  # the template it was generated from: cross-validation keeps a group in one fold
    lang: str = ""


@dataclass
class ViolationClassifier:
    """Multi-label: per violation label, one binary logistic regression over shared character TF-IDF features
    and (semantic_head) one over the text's sentence embedding. Each head's decision threshold per label is tuned
    by grouped cross-validation on the training data and its output rescaled so that it sits at 0.5; the score is
    the mean of the heads. `none` is derived: the probability that no label applies."""

    options: TextModelOptions = field(default_factory=TextModelOptions)
    labels: tuple[str, ...] = VIOLATION_LABELS
    vectorizer: TfidfVectorizer | None = None
    classifiers: dict[str, LogisticRegression] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    semantic_classifiers: dict[str, LogisticRegression] = field(default_factory=dict)
    semantic_thresholds: dict[str, float] = field(default_factory=dict)

    def fit(self, examples: Sequence[LabelledText]) -> "ViolationClassifier":
        self._fit_models(examples)
        if self.options.threshold_folds > 1:
            self.thresholds, self.semantic_thresholds = self._tune_thresholds(examples)
        return self

    def _tune_thresholds(self, examples: Sequence[LabelledText]) -> tuple[dict[str, float], dict[str, float]]:
        from sklearn.model_selection import GroupKFold

        groups = [e.group or e.text for e in examples]
        heads = 2 if self.options.semantic_head else 1
        out_of_fold = np.zeros((len(examples), heads * len(self.labels)))
        fold_options = dataclasses.replace(self.options, threshold_folds=0)
        for train_rows, test_rows in GroupKFold(self.options.threshold_folds).split(examples, groups=groups):
            fold = ViolationClassifier(fold_options, self.labels)._fit_models([examples[i] for i in train_rows])
            out_of_fold[test_rows] = np.hstack(fold._raw_heads([examples[i].text for i in test_rows]))
        tuned: list[dict[str, float]] = [{}, {}]
        for head in range(heads):
            for column, label in enumerate(self.labels):
                rows = [i for i, e in enumerate(examples) if label in e.labels]
                truth = np.array([examples[i].labels[label] for i in rows], dtype=bool)
                tuned[head][label] = _best_f1_threshold(truth, out_of_fold[rows, head * len(self.labels) + column])
        return tuned[0], tuned[1]

    def _fit_models(self, examples: Sequence[LabelledText]) -> "ViolationClassifier":
        self.vectorizer = _vectorizer()
        features = self.vectorizer.fit_transform([e.text for e in examples])
        embeddings = embed([e.text for e in examples]) if self.options.semantic_head else None
        for label in self.labels:
            rows = [i for i, e in enumerate(examples) if label in e.labels]
            targets = np.array([examples[i].labels[label] for i in rows], dtype=int)
            if len(set(targets)) < 2:
                raise ValueError(f"label {label!r} needs positive and negative examples to train")
            weights = np.array([examples[i].weight for i in rows], dtype=float)
            self.classifiers[label] = self._regression().fit(features[rows], targets, sample_weight=weights)
            if embeddings is not None:
                self.semantic_classifiers[label] = self._regression().fit(embeddings[rows], targets,
                                                                          sample_weight=weights)
        return self

    def _regression(self) -> LogisticRegression:
        return LogisticRegression(C=self.options.regularisation_c, class_weight="balanced", solver="liblinear",
                                  random_state=self.options.seed)

    def _raw_heads(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each head's raw probabilities, shape (len(texts), len(labels)): n-grams, then (if any) semantic."""
        if self.vectorizer is None:
            raise RuntimeError("ViolationClassifier is not trained")
        features = self.vectorizer.transform(list(texts))
        heads = [np.column_stack([self.classifiers[label].predict_proba(features)[:, 1] for label in self.labels])]
        semantic = getattr(self, "semantic_classifiers", {})  # artefacts trained before the semantic head
        if semantic:
            embeddings = embed(list(texts))  # one vector per text, shared by every label
            heads.append(np.column_stack([semantic[label].predict_proba(embeddings)[:, 1] for label in self.labels]))
        return heads

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Shape (len(texts), len(labels) + 1): each violation label's score (0.5 = decision point; the mean of
        the heads' rescaled scores), then `none`."""
        if not len(texts):
            return np.zeros((0, len(self.labels) + 1))
        heads = self._raw_heads(texts)
        head_thresholds = [self.thresholds, getattr(self, "semantic_thresholds", {})]
        rescaled = [np.column_stack([rescale_to_threshold(raw[:, i], thresholds.get(label, 0.5))
                                     for i, label in enumerate(self.labels)])
                    for raw, thresholds in zip(heads, head_thresholds)]
        probs = np.mean(rescaled, axis=0)
        none = 1.0 - probs.max(axis=1, keepdims=True)  # >= 0.5 exactly when no label reaches its decision point
        return np.hstack([probs, none])

    @property
    def output_labels(self) -> tuple[str, ...]:
        return self.labels + (NONE_LABEL,)


@dataclass
class EmotionClassifier:
    """Customer utterance -> emotion (angry / distressed / calm, multinomial) and complaint intent (binary)."""

    options: TextModelOptions = field(default_factory=TextModelOptions)
    vectorizer: TfidfVectorizer | None = None
    emotion_model: LogisticRegression | None = None
    complaint_model: LogisticRegression | None = None

    def fit(self, texts: Sequence[str], emotions: Sequence[str], complaint: Sequence[bool],
            weights: Sequence[float] | None = None) -> "EmotionClassifier":
        self.vectorizer = _vectorizer()
        features = self.vectorizer.fit_transform(list(texts))
        sample_weight = None if weights is None else np.asarray(weights, dtype=float)
        self.emotion_model = LogisticRegression(C=self.options.regularisation_c, class_weight="balanced",
                                                max_iter=2000, random_state=self.options.seed)
        self.emotion_model.fit(features, list(emotions), sample_weight=sample_weight)
        self.complaint_model = LogisticRegression(C=self.options.regularisation_c, class_weight="balanced",
                                                  solver="liblinear", random_state=self.options.seed)
        self.complaint_model.fit(features, np.asarray(complaint, dtype=int), sample_weight=sample_weight)
        return self

    def predict(self, texts: Sequence[str]) -> tuple[list[dict[str, float]], np.ndarray]:
        """Per text: {emotion: probability} over EMOTIONS, and the complaint-intent probabilities."""
        if self.vectorizer is None or self.emotion_model is None or self.complaint_model is None:
            raise RuntimeError("EmotionClassifier is not trained")
        features = self.vectorizer.transform(list(texts))
        classes = list(self.emotion_model.classes_)
        emotion = self.emotion_model.predict_proba(features)
        rows = [{name: float(row[classes.index(name)]) if name in classes else 0.0 for name in EMOTIONS}
                for row in emotion]
        return rows, self.complaint_model.predict_proba(features)[:, 1]
