"""US (NANP) phone numbers: (415) 555-0132, 415-555-0132, +1 415 555 0132, 1-800-555-0132, 5551234567.

The area code cannot start with 0 or 1. The last 4 digits stay in clear.
"""

from __future__ import annotations

from qc.pii.recogniser import GAP, SEP, Pattern, PatternRecogniser
from qc.pii.registry import register

_AREA = r"(?:\(\d{3}\)|\d{3})"


@register
class UsPhoneRecogniser(PatternRecogniser):
    entity = "US_PHONE"
    patterns = (
        # scored above a mainland mobile: "1-800-555-0132" is also eleven digits starting 18
        Pattern("with_country_code", rf"(?:\+1{GAP}|1{SEP})(?P<number>{_AREA}{GAP}\d{{3}}{GAP}\d{{4}})", 0.65),
        Pattern("formatted", rf"(?P<number>{_AREA}{GAP}\d{{3}}{SEP}\d{{4}})", 0.5, after_letters=True),
        Pattern("plain", r"(?:\+?1)?(?P<number>\d{10})", 0.3),
    )
    context = ("phone", "call", "cell", "tel", "number", "reach me")

    def validate(self, digits: str) -> bool | None:
        return None if digits[0] in "23456789" else False
