"""Other phone numbers: international (+44 (20) 7123 4567, +55 11 98456 5666) and national formats with a trunk
0 and dashes (09-7625400, 090-1234-5678). 8–15 digits (E.164's maximum); the last 4 stay in clear.
"""

from __future__ import annotations

from qc.pii.recogniser import Pattern, PatternRecogniser
from qc.pii.registry import register


@register
class InternationalPhoneRecogniser(PatternRecogniser):
    entity = "PHONE"
    patterns = (
        Pattern("international", r"(?:\+|00)[1-9](?:[ \-.()]{0,3}\d){6,14}", 0.5),
        # dashes only: "05-11-2026 10:30" is a date and a time, not a number
        Pattern("national_trunk_0", r"\(?0\d{1,4}\)?-\d{3,8}(?:-\d{3,8})?", 0.4),
    )
    context = ("phone", "tel", "mobile", "电话", "号码")

    def validate(self, digits: str) -> bool | None:
        return None if 8 <= len(digits) <= 15 else False
