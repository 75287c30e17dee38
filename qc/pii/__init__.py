"""Personal numbers in text: recognised, validated and masked in one place.

Rule evidence, frequency findings, the review web app and exports all mask through this package:

    mask_pii(text)            every phone, ID-card, bank-card and SSN number in free text, whatever its spelling
    analyze(text)             the recognisers' results (entity, span, score), as presidio's analyzer returns them
    contains_unmasked_pii(t)  True while `t` still shows a number mask_pii would hide
    mask_field(value)         a field that is one identifier (account key): all but the last 4 characters hidden
    mask_phone_field(number)  a phone number field: first 3 and last 4 digits of a full number kept

One recogniser per kind of number lives in qc/pii/recognisers/ (presidio's shape: patterns, context words, a
`validate` hook for check digits); text is normalised first (full-width digits, Chinese numerals, separators).
"""

from __future__ import annotations

from qc.pii import recognisers  # noqa: F401  (registers every recogniser)
from qc.pii.fields import mask_field, mask_phone_field
from qc.pii.recogniser import Pattern, PatternRecogniser, RecognizerResult
from qc.pii.registry import MASK_CHAR, RecogniserRegistry, default_registry, register


def analyze(text: str | None, entities=None) -> list[RecognizerResult]:
    return default_registry.analyze(text, entities)


def mask_pii(text: str | None) -> str:
    return default_registry.mask(text)


def contains_unmasked_pii(text: str | None) -> bool:
    return bool(default_registry.analyze(text))


__all__ = ["MASK_CHAR", "Pattern", "PatternRecogniser", "RecogniserRegistry", "RecognizerResult", "analyze",
           "contains_unmasked_pii", "default_registry", "mask_field", "mask_phone_field", "mask_pii", "register"]
