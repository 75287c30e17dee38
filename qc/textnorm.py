"""Chinese (and English) text normalisation for matching, with a map back to the original text.

Rules and transcripts are both passed through `normalize_for_matching`, so a rule phrase and the spoken text
meet in one canonical form:

- Traditional → Simplified (OpenCC t2s: phrase-aware conversion when it keeps the length, else the OpenCC
  character table), full-width → half-width, ASCII lower-cased;
- numbers unified to Arabic digits: 一万二千 / 1万2千 / 12,000 → 12000, and digit-by-digit readings keep their
  leading zeros: 工号零三八五 → 工号0385, 一二三七八 → 12378 (runs with units go through cn2an; idioms that
  cn2an rejects, such as 千万 or 万一, are left as they are);
- every punctuation mark becomes one clause break "|", so a phrase never matches across a clause and negation
  scopes stop there; spaces are dropped in Chinese and collapsed in English.

`normalize` does the same and also keeps, for every normalised character, the span of original characters it
came from, so a match found in the normalised text is reported in the ORIGINAL text (`NormalizedText.original_span`).
The fast path (`normalize_for_matching`) builds no offsets; scoring uses it for every segment and builds the offset
map only for the few segments that produced a finding. Both give the same text (tested).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cn2an
import opencc

CLAUSE_BREAK = "|"
_UNIT_CHARS = "十百千万亿"
_CN_DIGITS = {"零": "0", "〇": "0", "一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5", "六": "6",
              "七": "7", "八": "8", "九": "9"}
# a run of digits/numerals with at least one Chinese numeral (Arabic decimals allowed: 1.5万); pure Arabic runs
# need no conversion and are not matched; runs never cross a newline or punctuation
_CN_NUMERALS = "零〇一二两三四五六七八九十百千万亿"
_NUMBER_RUN = re.compile(
    rf"(?:\d+\.\d+|[0-9])*[{_CN_NUMERALS}](?:\d+\.\d+|[0-9{_CN_NUMERALS}])*"
)
_GROUPED_NUMBER = re.compile(r"(?<![\d,])\d{1,3}(?:,\d{3})+(?![\d,])")  # 12,000 → 12000
_SPACES = re.compile(r" {2,}")
_COMMON_BREAKS = "，。？！、,?!"
_KEPT_ASCII_PUNCTUATION = "'."  # don't → do|n't would break English phrases; "." may be a decimal point
_STRAY_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")  # a "." that is not a decimal point is a clause break


def _opencc_dictionary(name: str) -> Path:
    return Path(opencc.__file__).parent / "dictionary" / name


@lru_cache(maxsize=1)
def _t2s_converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _t2s_characters() -> dict[int, str]:
    """OpenCC's Traditional→Simplified character table (first candidate, one character to one character)."""
    table: dict[int, str] = {}
    for line in _opencc_dictionary("TSCharacters.txt").read_text(encoding="utf-8").splitlines():
        key, _, values = line.partition("\t")
        first = values.split(" ")[0] if values else ""
        if len(key) == 1 and len(first) == 1 and key != first:
            table[ord(key)] = first
    return table


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith(("P", "S")) and char not in _KEPT_ASCII_PUNCTUATION


@lru_cache(maxsize=2)
def _translation_table(language: str) -> dict[int, str | None]:
    """One str.translate table for width, case, punctuation and whitespace (all one-to-one or deletions)."""
    table: dict[int, str | None] = {}
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII block
        table[code] = chr(code - 0xFEE0)
    table[0x3000] = " "
    for code in list(range(0x21, 0x7F)) + list(range(0x2000, 0x2070)) + list(range(0x3000, 0x3040)) + list(
        range(0xFE10, 0xFE70)) + list(range(0xFF01, 0xFF66)):
        char = table.get(code, chr(code))
        if len(char) == 1 and _is_punctuation(char):
            table[code] = CLAUSE_BREAK
    for code in range(ord("A"), ord("Z") + 1):
        table[code] = chr(code + 32)
    for code in range(0xFF21, 0xFF3B):  # full-width capitals
        table[code] = chr(code - 0xFEE0 + 32)
    for char in "\t\r\x0b\x0c\u00a0":
        table[ord(char)] = " "
    if language == "zh":
        for code in (ord(" "), 0x3000, 0x00A0, ord("\t"), ord("\r")):
            table[code] = None  # Whisper puts stray spaces between Chinese words
    else:
        for char in "-\u2010\u2011":  # a hyphen joins words (past-due, do-not-call): a space, not a clause break
            table[ord(char)] = " "
    return table


@lru_cache(maxsize=1)
def _traditional_characters() -> frozenset[str]:
    return frozenset(chr(code) for code in _t2s_characters())


@lru_cache(maxsize=2)
def _fast_patterns(language: str) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str] | None]:
    """The translate table split for speed: any character it changes; punctuation → "|" as one regex sub; the
    rest, applied only when present."""
    table = _translation_table(language)
    breaks = "".join(re.escape(chr(code)) for code, value in table.items()
                     if value == CLAUSE_BREAK and chr(code) != CLAUSE_BREAK)
    others = "".join(re.escape(chr(code)) for code, value in table.items() if value != CLAUSE_BREAK)
    return (re.compile(f"[{breaks}{others}]"), re.compile(f"[{breaks}]"),
            re.compile(f"[{others}]") if others else None)


@lru_cache(maxsize=1)
def _traditional_also_in_gb2312() -> re.Pattern[str]:
    """The few OpenCC-Traditional characters GB2312 can encode (於, 後, 乾, 麽, ...)."""
    chars = [c for c in _traditional_characters() if c.encode("gb2312", errors="ignore")]
    return re.compile("[" + "".join(re.escape(c) for c in chars) + "]")


def _may_contain_traditional(text: str) -> bool:
    # fast path: text GB2312 can encode holds only Simplified characters, apart from a known handful
    try:
        text.encode("gb2312")
    except UnicodeEncodeError:
        return not _traditional_characters().isdisjoint(text)
    return _traditional_also_in_gb2312().search(text) is not None


def _to_simplified(text: str) -> str:
    """OpenCC t2s, kept only if it is one-to-one in length (so offsets stay valid); else the character table."""
    if not _may_contain_traditional(text):
        return text
    by_character = text.translate(_t2s_characters())
    by_phrase = _t2s_converter().convert(text)
    return by_phrase if len(by_phrase) == len(text) else by_character


@lru_cache(maxsize=65536)
def _convert_number_run(run: str) -> str:
    if run.isascii():
        return run
    if not any(unit in run for unit in _UNIT_CHARS):
        return "".join(_CN_DIGITS.get(char, char) for char in run)  # digit by digit keeps leading zeros
    try:
        value = cn2an.cn2an(run, "smart")
    except (ValueError, KeyError, IndexError):
        return run  # not a number (千万, 万一, 亿): leave the words alone
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


_UNIT = re.compile(f"[{_UNIT_CHARS}]")
_RUN_CHARS = frozenset("0123456789." + _CN_NUMERALS)


def _convert_numbers(text: str) -> str:
    """`_NUMBER_RUN.sub(_number_replacement, text)`, fast: a run without a unit character is converted digit by
    digit, which is a str.replace per numeral over the whole text; only the blocks of numeral characters that
    hold a unit (一万二千, 千万) go through the run regex and cn2an, and are spliced back from the original text
    (every digit replacement is one character for one, so positions agree). Runs never leave such a block, so
    the result is the same (tested against the regex)."""
    digits = text
    for numeral, digit in _CN_DIGITS.items():  # several times faster than str.translate
        if numeral in digits:
            digits = digits.replace(numeral, digit)
    pieces: list[str] = []
    cursor = 0
    for unit in _UNIT.finditer(text):
        if unit.start() < cursor:
            continue  # inside the block of an earlier unit
        start = unit.start()
        while start > cursor and text[start - 1] in _RUN_CHARS:
            start -= 1
        end = unit.end()
        while end < len(text) and text[end] in _RUN_CHARS:
            end += 1
        pieces.append(digits[cursor:start])
        pieces.append(_convert_unit_block(text[start:end]))
        cursor = end
    pieces.append(digits[cursor:])
    return "".join(pieces)


@lru_cache(maxsize=65536)
def _convert_unit_block(block: str) -> str:
    return _NUMBER_RUN.sub(_number_replacement, block)


def _number_replacement(match: re.Match[str]) -> str:
    run = match.group()
    return _CN_DIGITS.get(run) or _convert_number_run(run)  # single digits (一下, 一点) skip the cache


def _clean_dots_and_spaces(text: str, language: str) -> str:
    if "." in text:
        text = _STRAY_DOT.sub(CLAUSE_BREAK, text)
    if language == "zh" or "  " not in text:
        return text
    return _SPACES.sub(" ", text)


def _language_key(language: str) -> str:
    return "zh" if (language or "zh").lower().startswith("zh") else "en"


def normalize_for_matching(text: str, language: str = "zh") -> str:
    """The normalised text only (fast). Equal to `normalize(text, language).text`."""
    language = _language_key(language)
    if language == "zh":
        text = _to_simplified(text)
    return _normalize_simplified(text, language)


def _normalize_simplified(text: str, language: str) -> str:
    """`normalize_for_matching` after the Traditional → Simplified step."""
    if "," in text:
        text = _GROUPED_NUMBER.sub(lambda m: m.group().replace(",", ""), text)
    anything, breaks, others = _fast_patterns(language)
    for mark in _COMMON_BREAKS:  # str.replace of the usual marks, then a regex only if a rarer one is left: 3x faster
        if mark in text:
            text = text.replace(mark, CLAUSE_BREAK)
    if anything.search(text):
        if breaks.search(text):
            text = breaks.sub(CLAUSE_BREAK, text)
        if others is not None and others.search(text):
            text = text.translate(_translation_table(language))
    if language == "zh":
        text = _convert_numbers(text)
    return _clean_dots_and_spaces(text, language)


def normalize_lines(lines: list[str] | tuple[str, ...], language: str = "zh") -> list[str]:
    """`normalize_for_matching` of each line, done in one pass over the joined lines (the scoring hot path)."""
    if any("\n" in line for line in lines):
        return [normalize_for_matching(line, language) for line in lines]
    joined = "\n".join(lines)
    language = _language_key(language)
    if language == "zh" and _may_contain_traditional(joined):
        # OpenCC's length check is per text; do it per line so the result equals the per-line normalisation
        return [normalize_for_matching(line, language) for line in lines]
    return _normalize_simplified(joined, language).split("\n")


@dataclass(frozen=True)
class NormalizedText:
    """Normalised text plus, per normalised character, the original [start, end) it came from."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Original-text span of the normalised span [start, end)."""
        if end <= start:
            position = self.starts[start] if start < len(self.starts) else len(self.original)
            return position, position
        return self.starts[start], self.ends[end - 1]

    def original_text(self, start: int, end: int) -> str:
        first, last = self.original_span(start, end)
        return self.original[first:last]


def normalize(text: str, language: str = "zh") -> NormalizedText:
    """Normalise and keep the offset map (slower than `normalize_for_matching`; same text)."""
    language = _language_key(language)
    # 1. drop thousands separators, remembering where each kept character came from
    kept: list[str] = []
    origin: list[int] = []
    separators = {m.start() + i for m in _GROUPED_NUMBER.finditer(text) for i, c in enumerate(m.group()) if c == ","}
    for index, char in enumerate(text):
        if index not in separators:
            kept.append(char)
            origin.append(index)
    stage = "".join(kept)
    # 2. one-to-one conversions (t2s), then the translate table (one-to-one or deletion)
    if language == "zh":
        stage = _to_simplified(stage)
    table = _translation_table(language)
    chars: list[str] = []
    starts: list[int] = []
    for char, position in zip(stage, origin):
        mapped = table.get(ord(char), char)
        if mapped is None:
            continue
        chars.append(mapped)
        starts.append(position)
    stage = "".join(chars)
    ends = [position + 1 for position in starts]
    # 3. number runs: every output character maps to the whole original run
    if language == "zh":
        out_chars: list[str] = []
        out_starts: list[int] = []
        out_ends: list[int] = []
        cursor = 0
        for match in _NUMBER_RUN.finditer(stage):
            out_chars.append(stage[cursor:match.start()])
            out_starts.extend(starts[cursor:match.start()])
            out_ends.extend(ends[cursor:match.start()])
            converted = _number_replacement(match)
            run_start, run_end = starts[match.start()], ends[match.end() - 1]
            out_chars.append(converted)
            out_starts.extend([run_start] * len(converted))
            out_ends.extend([run_end] * len(converted))
            cursor = match.end()
        out_chars.append(stage[cursor:])
        out_starts.extend(starts[cursor:])
        out_ends.extend(ends[cursor:])
        stage, starts, ends = "".join(out_chars), out_starts, out_ends
    # 4. stray dots become clause breaks (one to one); English: collapse runs of spaces (keep the first)
    if "." in stage:
        stage = _STRAY_DOT.sub(CLAUSE_BREAK, stage)
    if language != "zh" and "  " in stage:
        keep = [i for i, char in enumerate(stage) if not (char == " " and i > 0 and stage[i - 1] == " ")]
        stage = "".join(stage[i] for i in keep)
        starts = [starts[i] for i in keep]
        ends = [ends[i] for i in keep]
    return NormalizedText(original=text, text=stage, starts=tuple(starts), ends=tuple(ends))


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|(?<=[。？！])\s*")  # "12.50" has no space after the point: no end
_ABBREVIATION_END = re.compile(r"\b(?:Mr|Ms|Mrs|Dr|St|Jr|Sr|Mt|No|vs|etc|approx|[A-Z])\.$")  # "Ms. Cole" goes on
MIN_SENTENCE_WEIGHT = 12  # a lighter piece ("Okay.", 「好的。」) says too little to judge alone: it joins the next one


def is_han(char: str) -> bool:
    """A Chinese character (CJK unified ideographs and extension A)."""
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def _weight(text: str) -> int:
    """Characters, a Chinese character counting two (it carries about a word)."""
    return len(text) + sum(1 for char in text if is_han(char))


def _join(left: str, right: str) -> str:
    return f"{left}{right}" if left.endswith(("。", "？", "！")) else f"{left} {right}"


def split_sentences(text: str) -> list[str]:
    """The text's sentences (ended by . ? ! and a space, or by 。？！), each of weight at least MIN_SENTENCE_WEIGHT:
    a lighter piece is joined to the one after it (the last to the one before). "Sure. Your lawyer doesn't have to
    know. Can you do a hundred?" → ["Sure. Your lawyer doesn't have to know.", "Can you do a hundred?"]."""
    merged: list[str] = []
    pending = ""
    for piece in (p.strip() for p in _SENTENCE_END.split(text.strip())):
        if not piece:
            continue
        pending = _join(pending, piece) if pending else piece
        if _weight(pending) >= MIN_SENTENCE_WEIGHT and not _ABBREVIATION_END.search(pending):
            merged.append(pending)
            pending = ""
    if pending:
        if merged:
            merged[-1] = _join(merged[-1], pending)
        else:
            merged.append(pending)
    return merged
