"""Near-sound matching on toneless pinyin: what Whisper writes for what the agent said.

Telephone ASR replaces characters with others that sound alike: 工号 → 公号, 联众催收 → 连众催生 / 连众催省.
A phrase rule with `sound_alike: true` also matches text whose *sound* is close to the phrase:

- every Chinese character becomes its toneless pinyin (pypinyin, the character's most common reading), split
  into initial and final;
- confusable sounds are folded together: zh/z, ch/c, sh/s, n/l, f/h initials; -ang/-an, -eng/-en, -ing/-in,
  -iang/-ian, -uang/-uan finals;
- in a phrase of `TOLERANT_FROM_SYLLABLES` syllables or more, one syllable may differ in its final
  (催收 cuī shōu ~ 催生 cuī shēng) as long as its initial agrees.

The sound text is encoded two characters per original character (initial code, final code; a non-Chinese
character is itself followed by a filler), so a match at sound position p is at text position p // 2: the
evidence is reported in the original words like any other hit. Digits sound as their Chinese readings (7 as
qī: 分期 heard as 分七, normalised to 分7, still matches); letters match only themselves.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

from qc.textnorm import is_han

TOLERANT_FROM_SYLLABLES = 4  # phrases this long may differ in one syllable's final
_FILLER = "\u0001"  # the second code of a non-Chinese character
_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r", "z",
             "c", "s", "y", "w")
_FOLD_INITIAL = {"zh": "z", "ch": "c", "sh": "s", "n": "l", "f": "h"}
_FOLD_FINAL = {"ang": "an", "eng": "en", "ing": "in", "iang": "ian", "uang": "uan"}
_INITIAL_BASE = 0xE000  # private-use code points: initials, then finals (disjoint ranges keep pairs aligned)
_FINAL_BASE = 0xE400
_initial_codes: dict[str, str] = {}
_final_codes: dict[str, str] = {}


def _code(table: dict[str, str], base: int, key: str) -> str:
    if key not in table:
        table[key] = chr(base + len(table))
    return table[key]


def _split(syllable: str) -> tuple[str, str]:
    for initial in _INITIALS:
        if syllable.startswith(initial) and len(syllable) > len(initial):
            return initial, syllable[len(initial):]
    return "", syllable


_DIGIT_READINGS = "零一二三四五六七八九"


@lru_cache(maxsize=None)
def sound_of(char: str) -> str:
    """The two-code sound of one character (a non-Chinese character stays itself plus a filler). A digit sounds
    as its Chinese reading: normalisation turns Whisper's 分七 (for 分期) into 分7, and 7 must still sound qi."""
    if char in "0123456789":
        return sound_of(_DIGIT_READINGS[int(char)])
    if not is_han(char):
        return char + _FILLER
    from pypinyin import Style, lazy_pinyin

    syllable = lazy_pinyin(char, style=Style.NORMAL, errors="default")[0].replace("ü", "v")
    if not syllable.isascii() or not syllable.isalpha():
        return char + _FILLER  # no reading known: the character matches only itself
    initial, final = _split(syllable)
    initial = _FOLD_INITIAL.get(initial, initial)
    final = _FOLD_FINAL.get(final, final)
    return _code(_initial_codes, _INITIAL_BASE, initial) + _code(_final_codes, _FINAL_BASE, final)


def sound_text(text: str) -> str:
    """The sound encoding of a normalised text: exactly two codes per character."""
    return "".join(sound_of(char) for char in text)


def sound_pattern(phrases: Sequence[str]) -> re.Pattern[str] | None:
    """One regex over sound text matching any of the (normalised) phrases, with the one-final tolerance for
    long phrases. None when no phrase has a Chinese character (exact matching already covers it)."""
    alternatives: list[str] = []
    for phrase in phrases:
        if not any(is_han(c) for c in phrase):
            continue
        pairs = [sound_of(c) for c in phrase]
        alternatives.append("".join(re.escape(p) for p in pairs))
        syllables = [i for i, c in enumerate(phrase) if is_han(c)]
        if len(syllables) >= TOLERANT_FROM_SYLLABLES:
            for position in syllables:
                loose = [re.escape(p) for p in pairs]
                loose[position] = re.escape(pairs[position][0]) + f"[^{_FILLER}\\n]"
                alternatives.append("".join(loose))
    if not alternatives:
        return None
    return re.compile("|".join(dict.fromkeys(alternatives)))


def sound_hits(pattern: re.Pattern[str], sound_line: str) -> list[tuple[int, int]]:
    """(start, end) in the normalised text of every sound match in one line's sound text."""
    return [(m.start() // 2, m.end() // 2) for m in pattern.finditer(sound_line) if m.start() % 2 == 0]
