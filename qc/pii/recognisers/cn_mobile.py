"""Mainland China mobile numbers: 11 digits starting 1[3-9], optionally after +86 / 0086 / 86.

Any separators between the digits (137 0000 1111, 137-0000-1111, 137.0000.1111, (137)00001111, 137，0000，1111,
digits spelled out by ASR); the first 3 and last 4 digits stay in clear so a reviewer can match the customer file.
"""

from __future__ import annotations

from qc.pii.recogniser import GAP, Pattern, PatternRecogniser
from qc.pii.registry import register


@register
class CnMobileRecogniser(PatternRecogniser):
    entity = "CN_MOBILE"
    patterns = (
        Pattern("cn_mobile", rf"(?:(?:\+|00)?86{GAP})?(?P<number>\(?1{GAP}[3-9]{GAP}\d\)?{GAP}(?:\d{GAP}){{7}}\d)",
                0.6),
    )
    context = ("手机", "电话", "号码", "联系", "mobile", "phone", "cell")
    keep_head = 3
    not_after = "+"  # +1 415 555 0132 is a US number, not a mobile starting 141
