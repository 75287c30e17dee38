"""Normalising text before number recognition, one character for one character.

People type and ASR writes the same number many ways: full-width digits (１３７), Chinese numerals as Whisper
spells out digits (幺三七…, 两 for 2), full-width or Chinese separators (，、－．（）), ideographic spaces. The
recognisers match one spelling only: ASCII digits with ASCII separators. Because every character maps to exactly
one character, a match at [start, end) in the normalised text is the same span in the original text, and the
masker can hide the original characters.
"""

from __future__ import annotations

import unicodedata

# Chinese numerals read digit by digit (a phone number said aloud): 幺 is how 1 is said in numbers, 两 is 2.
CHINESE_DIGITS = {"零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
                  "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
SEPARATORS = {
    "，": ",", "、": ",", "﹐": ",",
    "－": "-", "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "﹣": "-", "−": "-",
    "．": ".", "·": ".",
    "（": "(", "）": ")",
    "＋": "+",
    "　": " ", "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " ", "\t": " ",
    "Ｘ": "X", "ｘ": "x",
}


def _normal_char(char: str) -> str:
    if char.isascii():
        return char
    if char in CHINESE_DIGITS:
        return CHINESE_DIGITS[char]
    if char in SEPARATORS:
        return SEPARATORS[char]
    decimal = unicodedata.decimal(char, None)  # full-width ０-９ and every other script's decimal digits
    return str(decimal) if decimal is not None else char


def normalise(text: str) -> str:
    """`text` with digits as ASCII 0-9 and separators as ASCII; always the same length as `text`."""
    if text.isascii():
        return text
    return "".join(_normal_char(char) for char in text)
