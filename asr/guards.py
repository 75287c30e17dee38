"""Quality guards for Whisper output: phantom phrases, repetition loops, Traditional → Simplified.

Each guard is a plain function over text so it can be tested on the strings Whisper really produces.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Phrases Whisper invents on silence or music (it learnt them from subtitled video). Removed wherever they occur.
PHANTOM_PHRASES: tuple[str, ...] = (
    r"字幕由.{0,20}?提供",
    r"(中文)?字幕志愿者.{0,12}",
    r"请不吝点赞[\s，,、]*(订阅|转发|打赏|支持)*([\s，,、]*(订阅|转发|打赏|支持)(明镜与点点栏目)?)*",
    r"(谢谢|感谢)(大家)?(收看|观看|收听)",
    r"明镜与点点栏目",
    r"优优独播剧场.{0,20}",
    r"(点赞|订阅|转发|打赏)[\s，,、]*(点赞|订阅|转发|打赏)[\s，,、]*((点赞|订阅|转发|打赏)[\s，,、]*)*",
    r"thanks? (you )?for watching[.!]?",
    r"subtitles? (by|created by) .{0,40}?(community|\.org)",
    r"please subscribe[^.!?]*[.!?]?",
)
_PHANTOM = re.compile("|".join(f"(?:{p})" for p in PHANTOM_PHRASES), re.IGNORECASE)
_ONLY_PUNCTUATION = re.compile(r"^[\s\W_]*$")

# A unit of 2..40 characters repeated 3+ times in a row is a decoding loop; one of 1 character, 5+ times.
_REPEATED_UNIT = re.compile(r"(.{1,40}?)\1{2,}", re.DOTALL)
_NOT_A_LOOP = re.compile(r"^[\d\s.,，。:：%-]*$")  # digit strings like 100000 repeat legitimately


def remove_phantom_phrases(text: str) -> tuple[str, bool]:
    """Text without known phantom phrases, and whether any were removed."""
    cleaned = _PHANTOM.sub("", text)
    if cleaned == text:
        return text, False
    return cleaned.strip(" \t，,。.!！"), True


def is_empty_text(text: str) -> bool:
    return bool(_ONLY_PUNCTUATION.match(text))


def cut_repetition_loops(text: str, max_char_repeats: int = 4) -> tuple[str, bool]:
    """Collapse runs of a repeated unit: multi-character units to one copy, single characters to three.

    "说一句话说一句话说一句话" → "说一句话"; "对对对" stays; "啊啊啊啊啊啊" → "啊啊啊". Digit runs are kept.
    """
    changed = False

    def collapse(match: re.Match) -> str:
        nonlocal changed
        unit, run = match.group(1), match.group(0)
        if _NOT_A_LOOP.match(unit) or not unit.strip():
            return run
        repeats = len(run) // len(unit)
        if len(unit) == 1:
            if repeats <= max_char_repeats:
                return run
            changed = True
            return unit * 3
        changed = True
        return unit

    previous = None
    while previous != text:  # nested loops ("ab ab ab" inside a longer repeated unit) need another pass
        previous = text
        text = _REPEATED_UNIT.sub(collapse, text)
    return text, changed


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → Simplified Chinese (Whisper base sometimes writes a whole channel in Traditional)."""
    return _t2s().convert(text)
