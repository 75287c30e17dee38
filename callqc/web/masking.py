"""Masking of personal numbers shown to users: phone numbers, ID-card numbers and bank-card numbers.

Everything the web app shows from transcripts, findings and call metadata goes through `mask_pii` unless the
user holds the unmask permission and asked for it (that request is audited). Masking keeps just enough digits
for a reviewer to match a number with the customer file (phone: first 3 and last 4; ID and card: last 4).

Whisper writes numbers as Arabic digits or as Chinese numerals (一三八…, 幺 for 1), sometimes with spaces or
dashes between groups; both spellings are masked.
"""

from __future__ import annotations

import re

_CN_DIGITS = "零〇一二三四五六七八九幺两"
_DIGIT = rf"[0-9{_CN_DIGITS}]"
_SEP = r"[ \-]?"  # one optional space or dash between digits ("6222 0212 3456 7890", "138-1234-5678")

# A digit run is matched whole: no digit (Arabic or Chinese) directly before or after it.
_NOT_BEFORE = rf"(?<![0-9{_CN_DIGITS}])"
_NOT_AFTER = rf"(?![0-9{_CN_DIGITS}])"


def _run(min_digits: int, max_digits: int, last: str = _DIGIT) -> str:
    """A run of min..max digits (the last one may be another class, e.g. the ID checksum X)."""
    return rf"{_DIGIT}(?:{_SEP}{_DIGIT}){{{min_digits - 2},{max_digits - 2}}}{_SEP}{last}"


# Order matters: the longest, most specific pattern first, so an ID number is not masked as a phone.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("id", re.compile(_NOT_BEFORE + _run(18, 18, rf"[0-9{_CN_DIGITS}Xx]") + _NOT_AFTER)),
    ("card", re.compile(_NOT_BEFORE + _run(15, 19) + _NOT_AFTER)),
    ("phone", re.compile(_NOT_BEFORE + rf"(?:\+?86{_SEP})?[1一幺]{_SEP}[3-9三四五六七八九]" + rf"(?:{_SEP}{_DIGIT}){{9}}" + _NOT_AFTER)),
    ("landline", re.compile(_NOT_BEFORE + rf"[0零〇](?:{_SEP}{_DIGIT}){{9,11}}" + _NOT_AFTER)),
    ("us_ssn", re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")),
    ("us_phone", re.compile(r"(?<![\d(])(?:\+?1[ .\-]?)?\(?\d{3}\)?[ .\-]?\d{3}[ .\-]\d{4}(?!\d)")),
)

MASK_CHAR = "*"


def _keep(value: str, head: int, tail: int) -> str:
    """Replace every digit of `value` but the first `head` and last `tail` digits with MASK_CHAR."""
    digit_positions = [i for i, ch in enumerate(value) if ch.isdigit() or ch in _CN_DIGITS or ch in "Xx"]
    hidden = set(digit_positions[head:len(digit_positions) - tail])
    return "".join(MASK_CHAR if i in hidden else ch for i, ch in enumerate(value))


_KEPT_DIGITS = {"id": (0, 4), "card": (0, 4), "phone": (3, 4), "landline": (0, 4), "us_ssn": (0, 4),
                "us_phone": (0, 4)}


def mask_pii(text: str | None) -> str:
    """`text` with phone, ID-card and bank-card numbers masked; None becomes ''."""
    if not text:
        return ""
    for kind, pattern in _PATTERNS:
        head, tail = _KEPT_DIGITS[kind]
        text = pattern.sub(lambda match: _keep(match.group(0), head, tail), text)
    return text


def mask_phone(number: str | None) -> str:
    """A callee number field: always masked, whatever its format (first 3 and last 4 of 8+ digits kept).

    Already-masked values pass through unchanged: a '*' counts as a digit position.
    """
    if not number:
        return ""
    positions = [i for i, ch in enumerate(number) if ch.isdigit() or ch == MASK_CHAR]
    head, tail = (3, 4) if len(positions) >= 8 else (0, min(2, len(positions) - 1))
    hidden = set(positions[head:len(positions) - tail])
    return "".join(MASK_CHAR if i in hidden else ch for i, ch in enumerate(number))


def contains_unmasked_pii(text: str) -> bool:
    """True when `text` still holds a number `mask_pii` would mask (used by tests and by the audit view)."""
    return any(pattern.search(text) for _, pattern in _PATTERNS)
