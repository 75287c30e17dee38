"""The recogniser base class, in presidio's shape: patterns with scores, context words, a `validate` hook.

A recogniser is one small class per kind of number (qc/pii/recognisers/*.py). It declares its patterns; the
base class owns the loop: it runs each pattern over the normalised text (qc/pii/normalise.py), drops near
misses (amounts, dates, staff numbers), asks the recogniser's `validate` hook about the digits (check digits,
reserved ranges), raises the score when a context word stands just before the number, and returns results.

    validate(digits) -> True   the number is certainly this kind (a check digit holds): score 1.0
                     -> False  it is not (a check digit fails, a reserved range): no result
                     -> None   cannot tell: the pattern's score, plus CONTEXT_BOOST after a context word

Results scoring below MIN_SCORE are dropped: a pattern scored under MIN_SCORE (a bare 8-digit number) counts
only next to one of its context words (座机, phone…).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

MIN_SCORE = 0.3
CONTEXT_BOOST = 0.35
CONTEXT_WINDOW = 12  # characters before the number searched for context words
NEAR_MISS_WINDOW = 6

# Separators between the digits of one number (after normalisation): GAP is optional, SEP is required.
GAP = r"[ \-.,]{0,2}"
SEP = r"[ \-.,]{1,3}"

# A number is whole: no letter or digit directly before or after it (YFCC0027719358 is an account id).
RIGHT_BOUNDARY = r"(?![0-9A-Za-z])"

# Words right before a number that make it something other than personal data.
NOT_PII_BEFORE = ("工号", "员工号", "坐席号", "坐席工号", "staff id", "staff no", "employee id", "agent id")
# A number followed by a unit or a date part is an amount or a date; preceded by a currency sign, an amount.
AMOUNT_OR_DATE_AFTER = ("元", "块", "万", "亿", "%", "美元", "dollars", "usd", "rmb", "年", "月", "日")
AMOUNT_BEFORE = ("¥", "￥", "$", "rmb", "人民币", "usd")


@dataclass(frozen=True)
class Pattern:
    """A regular expression over normalised text; the named group `number`, when present, is what is masked."""

    name: str
    regex: str
    score: float
    after_letters: bool = False  # may directly follow a letter ("is415-555-0132"); unbroken digit runs may not


@dataclass(frozen=True)
class RecognizerResult:
    entity: str
    start: int          # the whole match, in the original (= normalised) text
    end: int
    score: float
    mask_start: int     # the characters whose digits are hidden (the national number, without +86)
    mask_end: int
    keep_head: int      # digits left in clear at the start and end of the masked part
    keep_tail: int
    pattern: str = ""
    extra_digits: str = ""  # characters besides 0-9 that are digits of this number (and masked)

    def overlaps(self, other: "RecognizerResult") -> bool:
        return self.start < other.end and other.start < self.end


class PatternRecogniser:
    """Base class: subclasses set `entity`, `patterns`, optionally `context`, `keep_head`/`keep_tail`, and
    override `validate`."""

    entity: ClassVar[str]
    patterns: ClassVar[tuple[Pattern, ...]]
    context: ClassVar[tuple[str, ...]] = ()
    keep_head: ClassVar[int] = 0
    keep_tail: ClassVar[int] = 4
    # characters besides 0-9 that count as digits of this kind of number (the ID card's check character X)
    extra_digits: ClassVar[str] = ""
    # extra characters that may not stand directly before a match ("+": +1 415… is not a mainland mobile)
    not_after: ClassVar[str] = ""

    def __init__(self) -> None:
        self._compiled = [(pattern, re.compile(self._left_boundary(pattern) + pattern.regex + RIGHT_BOUNDARY))
                          for pattern in self.patterns]

    def _left_boundary(self, pattern: Pattern) -> str:
        before = ("0-9" if pattern.after_letters else "0-9A-Za-z") + re.escape(self.not_after)
        return rf"(?<![{before}])"

    @property
    def name(self) -> str:
        return type(self).__name__

    def validate(self, digits: str) -> bool | None:
        """True: certainly this kind of number; False: certainly not; None: the pattern's score stands."""
        return None

    def digits_of(self, text: str) -> str:
        return "".join(ch for ch in text if ch.isdigit() or ch in self.extra_digits)

    def analyze(self, text: str, normalised: str) -> list[RecognizerResult]:
        """Every match of every pattern that survives the near-miss checks, `validate` and MIN_SCORE."""
        results = []
        lowered = normalised.lower()
        for pattern, regex in self._compiled:
            for match in regex.finditer(normalised):
                start, end = match.span()
                if _near_miss(lowered, start, end):
                    continue
                mask_start, mask_end = match.span("number") if "number" in regex.groupindex else (start, end)
                verdict = self.validate(self.digits_of(normalised[mask_start:mask_end]))
                if verdict is False:
                    continue
                score = 1.0 if verdict else pattern.score
                if not verdict and self._has_context(lowered, start):
                    score = min(1.0, score + CONTEXT_BOOST)
                if score < MIN_SCORE:
                    continue
                results.append(RecognizerResult(self.entity, start, end, score, mask_start, mask_end,
                                                self.keep_head, self.keep_tail, pattern.name, self.extra_digits))
        return results

    def _has_context(self, lowered: str, start: int) -> bool:
        before = lowered[max(0, start - CONTEXT_WINDOW):start]
        return any(word in before for word in self.context)


def _near_miss(lowered: str, start: int, end: int) -> bool:
    """A staff number, an amount or a date: digits that look like a number but are no personal data."""
    before = lowered[max(0, start - NEAR_MISS_WINDOW):start].rstrip(" :：#")
    if any(before.endswith(word) for word in NOT_PII_BEFORE + AMOUNT_BEFORE):
        return True
    after = lowered[end:end + NEAR_MISS_WINDOW + 2].lstrip(" ")
    return any(after.startswith(word) for word in AMOUNT_OR_DATE_AFTER)
