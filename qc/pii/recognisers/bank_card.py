"""Bank and credit card numbers: 12–19 digits, unbroken or in groups (4-4-4-4, 4-6-5).

`validate` is the Luhn check digit (python-stdnum): a Luhn-valid number is a card, an invalid one is not —
except UnionPay numbers (62…, 16–19 digits), which stay masked without it: not every Chinese issuer's card
carries a Luhn check digit. The last 4 digits stay in clear.
"""

from __future__ import annotations

from stdnum import luhn

from qc.pii.recogniser import SEP, Pattern, PatternRecogniser
from qc.pii.registry import register


@register
class BankCardRecogniser(PatternRecogniser):
    entity = "BANK_CARD"
    patterns = (
        Pattern("plain", r"(?P<number>[1-9]\d{11,18})", 0.3),
        # the same separator throughout, so that a card is not run together with the number after it
        Pattern("groups_of_4", rf"(?P<number>[1-9]\d{{3}}(?P<sep>{SEP})\d{{4}}(?:(?P=sep)\d{{4}}){{1,2}}"
                               rf"(?:(?P=sep)\d{{1,4}})?)", 0.4),
        Pattern("groups_4_6_5", rf"(?P<number>[1-9]\d{{3}}(?P<sep>{SEP})\d{{6}}(?P=sep)\d{{4,5}})", 0.4),  # Amex
    )
    context = ("卡号", "银行卡", "信用卡", "储蓄卡", "借记卡", "card", "visa", "mastercard", "amex")

    def validate(self, digits: str) -> bool | None:
        if luhn.is_valid(digits):
            return True
        if digits.startswith("62") and 16 <= len(digits) <= 19:
            return None
        return False
