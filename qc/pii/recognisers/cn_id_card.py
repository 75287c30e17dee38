"""Resident identity card numbers (居民身份证号码, GB 11643): 17 digits and a check character 0-9 or X.

`validate` checks the check character and the birth date and place (python-stdnum's cn.ric). A number whose
check character fails but whose birth date and place are real is still masked, at the pattern's lower score:
ASR mishears, and people mistype, one digit of an ID number that is no less personal for it. An 18-digit number
without a real birth date and place is no ID number (it may still be a bank card). The last 4 characters stay.
"""

from __future__ import annotations

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from qc.pii.recogniser import GAP, Pattern, PatternRecogniser
from qc.pii.registry import register


@register
class CnIdCardRecogniser(PatternRecogniser):
    entity = "CN_ID_CARD"
    patterns = (Pattern("cn_id_18", rf"(?P<number>[1-9](?:{GAP}\d){{16}}{GAP}[\dXx])", 0.5),)
    context = ("身份证", "证件号", "身份号码", "id card", "identity")
    extra_digits = "Xx"

    def validate(self, digits: str) -> bool | None:
        number = digits.upper()
        if ric.is_valid(number):
            return True
        try:
            ric.get_birth_date(number)
            ric.get_birth_place(number)
        except ValidationError:
            return False
        return None
