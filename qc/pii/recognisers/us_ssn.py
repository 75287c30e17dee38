"""US Social Security numbers: 078-05-1123, 078 05 1123, 078.05.1123, 078051121.

`validate` follows the SSA's rules as presidio does: no area 000, 666 or 9xx, no group 00, no serial 0000, not
all one digit, not the 078-05-1120 sample; two different separators (693-09.4444) are no SSN. The last 4 digits
stay in clear.
"""

from __future__ import annotations

from qc.pii.recogniser import Pattern, PatternRecogniser
from qc.pii.registry import register

KNOWN_SAMPLES = ("078051120",)  # printed on a wallet insert in 1938 and used by thousands since


@register
class UsSsnRecogniser(PatternRecogniser):
    entity = "US_SSN"
    patterns = (
        Pattern("separated", r"(?P<number>\d{3}([ \-.])\d{2}\2\d{4})", 0.5),
        Pattern("partly_separated", r"(?P<number>\d{3}[ \-.]\d{6}|\d{5}[ \-.]\d{4}|\d{9})", 0.3),
    )
    context = ("ssn", "social security", "社会安全号")

    def validate(self, digits: str) -> bool | None:
        area, group, serial = digits[:3], digits[3:5], digits[5:]
        if area in ("000", "666") or area.startswith("9") or group == "00" or serial == "0000":
            return False
        if len(set(digits)) == 1 or digits in KNOWN_SAMPLES:
            return False
        return None
