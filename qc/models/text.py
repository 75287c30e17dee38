"""Text classifiers: character n-gram TF-IDF + logistic regression, for Mandarin and English alike.

Character n-grams need no word segmentation (Mandarin has no spaces) and survive ASR slips of one character.
Both classifiers are plain picklable objects: registry.py stores them with joblib.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

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
    """Multi-label: one binary logistic regression per violation label over shared TF-IDF features.
    Each label's decision threshold is tuned by grouped cross-validation on the training data and the
    output rescaled so that it sits at 0.5. `none` is derived: the probability that no label applies."""

    options: TextModelOptions = field(default_factory=TextModelOptions)
    labels: tuple[str, ...] = VIOLATION_LABELS
    vectorizer: TfidfVectorizer | None = None
    classifiers: dict[str, LogisticRegression] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)

    def fit(self, examples: Sequence[LabelledText]) -> "ViolationClassifier":
        self._fit_models(examples)
        if self.options.threshold_folds > 1:
            self.thresholds = self._tune_thresholds(examples)
        return self

    def _tune_thresholds(self, examples: Sequence[LabelledText]) -> dict[str, float]:
        from sklearn.model_selection import GroupKFold

        groups = [e.group or e.text for e in examples]
        out_of_fold = np.zeros((len(examples), len(self.labels)))
        fold_options = TextModelOptions(self.options.regularisation_c, self.options.seed, threshold_folds=0)
        for train_rows, test_rows in GroupKFold(self.options.threshold_folds).split(examples, groups=groups):
            fold = ViolationClassifier(fold_options, self.labels)._fit_models([examples[i] for i in train_rows])
            out_of_fold[test_rows] = fold._raw_proba([examples[i].text for i in test_rows])
        thresholds = {}
        for column, label in enumerate(self.labels):
            rows = [i for i, e in enumerate(examples) if label in e.labels]
            truth = np.array([examples[i].labels[label] for i in rows], dtype=bool)
            thresholds[label] = _best_f1_threshold(truth, out_of_fold[rows, column])
        return thresholds

    def _fit_models(self, examples: Sequence[LabelledText]) -> "ViolationClassifier":
        self.vectorizer = _vectorizer()
        features = self.vectorizer.fit_transform([e.text for e in examples])
        for label in self.labels:
            rows = [i for i, e in enumerate(examples) if label in e.labels]
            targets = np.array([examples[i].labels[label] for i in rows], dtype=int)
            if len(set(targets)) < 2:
                raise ValueError(f"label {label!r} needs positive and negative examples to train")
            weights = np.array([examples[i].weight for i in rows], dtype=float)
            model = LogisticRegression(C=self.options.regularisation_c, class_weight="balanced",
                                       solver="liblinear", random_state=self.options.seed)
            model.fit(features[rows], targets, sample_weight=weights)
            self.classifiers[label] = model
        return self

    def _raw_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.vectorizer is None:
            raise RuntimeError("ViolationClassifier is not trained")
        features = self.vectorizer.transform(list(texts))
        return np.column_stack([self.classifiers[label].predict_proba(features)[:, 1] for label in self.labels])

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Shape (len(texts), len(labels) + 1): each violation label's score (0.5 = decision point), then
        `none`."""
        raw = self._raw_proba(texts)
        probs = np.column_stack([rescale_to_threshold(raw[:, i], self.thresholds.get(label, 0.5))
                                 for i, label in enumerate(self.labels)])
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
