"""Mainland China landlines: area code (010, 02x, or 0xxx) and a 7–8 digit subscriber number.

With an area code: 11 digits after 010/02x, 11 or 12 after a four-digit area code. Without one (a local
7–8 digit number) only next to a context word such as 座机 or 电话. The last 4 digits stay in clear.
"""

from __future__ import annotations

from qc.pii.recogniser import GAP, Pattern, PatternRecogniser
from qc.pii.registry import register


@register
class CnLandlineRecogniser(PatternRecogniser):
    entity = "CN_LANDLINE"
    patterns = (
        # the area code unbroken, the subscriber number in two groups at most: spaced digits across two
        # numbers ("078-051121 07805-1121") are no landline
        Pattern("with_area_code", rf"(?P<number>\(?0[1-9]\d{{1,2}}\)?{GAP}\d{{3,4}}{GAP}\d{{4}})", 0.5),
        Pattern("local", rf"(?P<number>[2-9]\d{{2,3}}{GAP}\d{{4}})", 0.1),  # counts only after a context word
    )
    context = ("座机", "固话", "电话", "办公室", "家里", "单位号码", "landline", "phone", "tel")

    def validate(self, digits: str) -> bool | None:
        if not digits.startswith("0"):
            return None
        three_digit_area = digits[1] in "12"  # 010 Beijing, 02x the large cities
        return None if len(digits) in ((11,) if three_digit_area else (11, 12)) else False
