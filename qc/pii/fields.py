"""Masking a field known to hold one identifier (a callee number, an account or phone key in a finding's text).

Unlike free text, nothing needs recognising: every letter and digit is hidden but the kept head and tail.
Already-masked values pass through unchanged: a '*' counts as a hidden position.
"""

from __future__ import annotations

from qc.pii.registry import MASK_CHAR


def mask_field(value: str | None, keep_head: int = 0, keep_tail: int = 4) -> str:
    """`value` with its letters and digits hidden but the first `keep_head` and last `keep_tail`.

    At least 4 positions are hidden and at most half stay in clear: a short value (a 5-digit service number) is
    not shown whole.
    """
    if not value:
        return ""
    positions = [i for i, ch in enumerate(value) if ch.isalnum() or ch == MASK_CHAR]
    if len(positions) - keep_head - keep_tail < 4:
        keep_head, keep_tail = 0, min(keep_tail, len(positions) // 2)
    hidden = set(positions[keep_head:len(positions) - keep_tail])
    return "".join(MASK_CHAR if i in hidden else ch for i, ch in enumerate(value))


def mask_phone_field(number: str | None) -> str:
    """A phone number field: the first 3 and last 4 digits of a full number stay, like the recognisers' masks."""
    if not number:
        return ""
    digits = sum(ch.isdigit() or ch == MASK_CHAR for ch in number)
    return mask_field(number, keep_head=3 if digits >= 11 else 0, keep_tail=4)
