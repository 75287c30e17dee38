"""Transcript rules: phrase sets, regexes with exclusions, proximity, required phrase early in a speaker's talk.

All of them match the NORMALISED text (qc.textnorm: Simplified, Arabic digits, lower case, punctuation → "|",
no spaces in Chinese) and report evidence in the original text. Phrase rules are negation-aware by default:
a hit preceded (within the pack's negation window, in the same clause) by a negation cue such as 不会 / won't
is not a finding — 「我们不会起诉您」 is not a threat to sue.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Iterable, Literal, Union

from pydantic import Field, field_validator, model_validator

from qc.domain import Finding
from qc.pii import mask_pii
from qc.rules.matching import CallContext, Hit, PackCompiler
from qc.rules.registry import Rule, RuleConfig, rule_type
from qc.rules.sounds import sound_hits, sound_pattern

PhraseGroup = Union[str, list[str]]  # one phrase, or a list of synonyms that count as the same term


def _groups(phrases: list[PhraseGroup]) -> list[list[str]]:
    return [[item] if isinstance(item, str) else list(item) for item in phrases]


def _compile_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


class _TextMatcher:
    """Phrase groups and exclusions of one rule, compiled into the pack's index; with `sound_alike`, each group
    also gets a near-sound pattern (qc.rules.sounds) so that ASR homophones of its phrases match too."""

    def __init__(self, compiler: PackCompiler, phrases: list[PhraseGroup], exclude: list[str], field_name: str,
                 sound_alike: bool = False):
        groups = _groups(phrases)
        self.group_slots = [compiler.add_phrase_group(group, field_name) for group in groups]
        self._slot_set = frozenset(self.group_slots)
        self.exclude_slot = compiler.add_phrase_group(exclude, "exclude") if exclude else None
        # an exclusion is a near miss, and recognition garbles near misses as much as anything else (联众催收 heard
        # as 连重催收): exclusions always match by near sound too. It can only drop hits, never add one.
        self.exclude_sound = sound_pattern(compiler.normalised_variants(exclude, "exclude")) if exclude else None
        self.sound_patterns: list[re.Pattern[str] | None] = [
            sound_pattern(compiler.normalised_variants(group, field_name)) if sound_alike else None
            for group in groups
        ]
        self.sound_alike = sound_alike and any(p is not None for p in self.sound_patterns)

    def _raw_hits(self, context: CallContext, group: int, segments: Iterable[int] | None, sound: bool) -> list[Hit]:
        """Exact hits of a group, plus (with `sound`) its near-sound hits, in the given segments (all when None)."""
        exact = context.hits.get(self.group_slots[group], [])
        if segments is not None:
            wanted = set(segments)
            exact = [hit for hit in exact if hit[0] in wanted]
        pattern = self.sound_patterns[group] if sound else None
        if pattern is None:
            return list(exact)
        found = set(exact)
        for segment in range(len(context.segments)) if segments is None else segments:
            for start, end in sound_hits(pattern, context.sound_line(segment)):
                if not any(s == segment and a < end and start < b for s, a, b in found):
                    found.add((segment, start, end))
        return sorted(found)

    def hits(self, context: CallContext, scope: str, negation: bool,
             segments: Iterable[int] | None = None, sound: bool = True) -> list[list[Hit]]:
        """Per group: the hits in scope that are neither negated nor inside an excluded phrase, in `segments` only
        (all segments in scope when None). Near-sound hits come only from rules with sound_alike, and not with
        `sound=False`."""
        exclusions: dict[int, list[tuple[int, int]]] = {}  # segment → spans of excluded phrases
        for segment, start, end in context.hits.get(self.exclude_slot, ()) if self.exclude_slot is not None else ():
            exclusions.setdefault(segment, []).append((start, end))
        sounded: set[int] = set()  # segments whose near-sound exclusions are in `exclusions` already
        sound = sound and self.sound_alike
        if sound and segments is None:
            segments = context.segments_in(scope)
        result: list[list[Hit]] = []
        for group in range(len(self.group_slots)):
            kept = []
            for hit in self._raw_hits(context, group, segments, sound):
                segment, start, end = hit
                if not context.in_scope(segment, scope):
                    continue
                if negation and context.is_negated(segment, start, end):
                    continue
                if self.exclude_sound is not None and segment not in sounded:
                    sounded.add(segment)
                    exclusions.setdefault(segment, []).extend(sound_hits(self.exclude_sound, context.sound_line(segment)))
                if any(e_start < end and start < e_end for e_start, e_end in exclusions.get(segment, ())):
                    continue
                kept.append(hit)
            result.append(kept)
        return result

    def has_any_raw_hit(self, context: CallContext) -> bool:
        return self.sound_alike or not self._slot_set.isdisjoint(context.hits.keys())


def _evidence(context: CallContext, hits: list[Hit]) -> str:
    """The original words of the hits, overlapping hits merged (派人去你单位, not 派人去你单位 … 去你单位)."""
    merged: list[list[int]] = []
    for segment, start, end in sorted(hits):
        if merged and merged[-1][0] == segment and start <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], end)
        else:
            merged.append([segment, start, end])
    texts = [context.original_text(segment, start, end) for segment, start, end in merged]
    return mask_pii(" … ".join(dict.fromkeys(texts)))  # evidence is shown to users: numbers masked


def _findings_by_segment(rule: Rule, context: CallContext, hits: list[Hit]) -> list[Finding]:
    by_segment: dict[int, list[Hit]] = {}
    for hit in hits:
        by_segment.setdefault(hit[0], []).append(hit)
    return [rule.finding(context, [segment], _evidence(context, seg_hits)) for segment, seg_hits in sorted(by_segment.items())]


# ---------------------------------------------------------------------------------------------------------
class PhrasesConfig(RuleConfig):
    type: Literal["phrases"]
    phrases: list[PhraseGroup] = Field(min_length=1)
    mode: Literal["any", "all", "n_of", "none"] = "any"
    n: int | None = Field(None, ge=1)
    within: Literal["segment", "call"] = "segment"  # where all / n_of terms must co-occur
    exclude: list[str] = []  # near-miss phrases: a hit inside one of them (or inside a near-sound copy) does not count
    negation: bool = True
    sound_alike: bool = False  # also match ASR homophones of the phrases (qc.rules.sounds)

    @model_validator(mode="after")
    def _n_matches_mode(self) -> "PhrasesConfig":
        if self.mode == "n_of":
            if self.n is None:
                raise ValueError("mode n_of needs n")
            if self.n > len(self.phrases):
                raise ValueError(f"n={self.n} is more than the {len(self.phrases)} phrase groups")
        elif self.n is not None:
            raise ValueError(f"n is only used with mode n_of (mode is {self.mode})")
        return self


@rule_type
class PhrasesRule(Rule):
    """A keyword / phrase set: any, all, at least n of, or none of the phrase groups."""

    type_name = "phrases"
    config_model = PhrasesConfig
    config: PhrasesConfig

    def __init__(self, config: PhrasesConfig, compiler: PackCompiler):
        super().__init__(config, compiler)
        self.matcher = _TextMatcher(compiler, config.phrases, config.exclude, "phrases", config.sound_alike)
        self.needed = {"any": 1, "all": len(config.phrases), "n_of": config.n or 1, "none": 1}[config.mode]

    def evaluate(self, context: CallContext) -> list[Finding]:
        config = self.config
        if config.mode != "none" and not self.matcher.has_any_raw_hit(context):
            return []  # the common case: nothing of this rule was said at all
        groups = self.matcher.hits(context, config.scope, config.negation)
        if config.mode == "none":
            if any(groups):
                return []
            return [self.finding(context, description=config.description or "none of the required phrases was said")]
        if config.mode == "any":
            return _findings_by_segment(self, context, [hit for group in groups for hit in group])
        if config.within == "call":
            matched = [group for group in groups if group]
            if len(matched) < self.needed:
                return []
            evidence = [hit for group in matched for hit in group]
            return [self.finding(context, {h[0] for h in evidence}, _evidence(context, evidence))]
        findings = []
        segments = sorted({hit[0] for group in groups for hit in group})
        for segment in segments:
            matched = [[h for h in group if h[0] == segment] for group in groups]
            matched = [group for group in matched if group]
            if len(matched) >= self.needed:
                findings.append(self.finding(context, [segment], _evidence(context, [h for g in matched for h in g])))
        return findings


# ---------------------------------------------------------------------------------------------------------
class RegexConfig(RuleConfig):
    type: Literal["regex"]
    patterns: list[str] = Field(min_length=1)
    exclude_patterns: list[str] = []  # a match overlapping an exclusion match does not count
    negation: bool = True

    @field_validator("patterns", "exclude_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        return [_compile_regex(p) for p in patterns]


@rule_type
class RegexRule(Rule):
    """Regular expressions over the normalised text, with exclusion patterns."""

    type_name = "regex"
    config_model = RegexConfig
    config: RegexConfig

    def __init__(self, config: RegexConfig, compiler: PackCompiler):
        super().__init__(config, compiler)
        # compiled one by one: a pattern that starts with literals gets re's fast prefix scan, an alternation
        # of all patterns would lose it as soon as one of them starts with \d
        self.patterns = [re.compile(p) for p in config.patterns]
        self.exclusion = re.compile("|".join(f"(?:{p})" for p in config.exclude_patterns)) if config.exclude_patterns else None

    def matches(self, context: CallContext) -> list[Hit]:
        joined, starts, segments = context.joined_lines(self.config.scope)
        hits: list[Hit] = []
        found = [m for pattern in self.patterns for m in pattern.finditer(joined)]
        for match in sorted(found, key=lambda m: m.start()):
            if match.end() == match.start() or "\n" in match.group():
                continue  # empty matches and matches across segments are not evidence
            line = _line_of(starts, match.start())
            segment = segments[line]
            start, end = match.start() - starts[line], match.end() - starts[line]
            if self.config.negation and context.is_negated(segment, start, end):
                continue
            if self.exclusion is not None and any(
                e.start() < end and start < e.end() for e in self.exclusion.finditer(context.lines[segment])
            ):
                continue
            hits.append((segment, start, end))
        return hits

    def evaluate(self, context: CallContext) -> list[Finding]:
        return _findings_by_segment(self, context, self.matches(context))


def _line_of(starts: list[int], position: int) -> int:
    return bisect_right(starts, position) - 1


# ---------------------------------------------------------------------------------------------------------
class ProximityConfig(RuleConfig):
    type: Literal["proximity"]
    a: list[PhraseGroup] = Field(min_length=1)
    b: list[PhraseGroup] = Field(min_length=1)
    within_chars: int | None = Field(None, ge=0)  # gap between the two hits, same segment
    within_seconds: float | None = Field(None, gt=0)  # between the two hits, any segments in scope
    negation: bool = True

    @model_validator(mode="after")
    def _one_distance(self) -> "ProximityConfig":
        if (self.within_chars is None) == (self.within_seconds is None):
            raise ValueError("give exactly one of within_chars or within_seconds")
        return self


@rule_type
class ProximityRule(Rule):
    """A phrase from `a` within N characters (same segment) or N seconds of a phrase from `b`."""

    type_name = "proximity"
    config_model = ProximityConfig
    config: ProximityConfig

    def __init__(self, config: ProximityConfig, compiler: PackCompiler):
        super().__init__(config, compiler)
        self.a = _TextMatcher(compiler, [[p for g in _groups(config.a) for p in g]], [], "a")
        self.b = _TextMatcher(compiler, [[p for g in _groups(config.b) for p in g]], [], "b")

    def evaluate(self, context: CallContext) -> list[Finding]:
        if not (self.a.has_any_raw_hit(context) and self.b.has_any_raw_hit(context)):
            return []
        a_hits = self.a.hits(context, self.config.scope, self.config.negation)[0]
        b_hits = self.b.hits(context, self.config.scope, self.config.negation)[0]
        pairs: list[tuple[Hit, Hit]] = []
        for a in a_hits:
            for b in b_hits:
                if self._close(context, a, b):
                    pairs.append((a, b))
        findings = []
        seen: set[tuple[int, ...]] = set()
        for a, b in pairs:
            key = tuple(sorted({a[0], b[0]}))
            if key in seen:
                continue
            seen.add(key)
            findings.append(self.finding(context, key, _evidence(context, [a, b])))
        return findings

    def _close(self, context: CallContext, a: Hit, b: Hit) -> bool:
        if self.config.within_chars is not None:
            if a[0] != b[0] or (a[1] < b[2] and b[1] < a[2]):
                return False  # different segments, or overlapping hits (one phrase inside the other)
            gap = b[1] - a[2] if a[2] <= b[1] else a[1] - b[2]
            return gap <= self.config.within_chars
        distance = abs(context.time_at(a[0], a[1]) - context.time_at(b[0], b[1]))
        return distance <= (self.config.within_seconds or 0)


# ---------------------------------------------------------------------------------------------------------
class RequiredPhraseConfig(RuleConfig):
    type: Literal["required_phrase"]
    scope: Literal["agent", "customer"] = "agent"
    phrases: list[PhraseGroup] = []
    patterns: list[str] = []
    mode: Literal["any", "all"] = "any"
    within_seconds: float = Field(gt=0)  # of the speaker's own talk time, counted from their first word
    negation: bool = False
    sound_alike: bool = False  # phrases also match ASR homophones (工号 ~ 公号); patterns match the text only

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        return [_compile_regex(p) for p in patterns]

    @model_validator(mode="after")
    def _something_required(self) -> "RequiredPhraseConfig":
        if not self.phrases and not self.patterns:
            raise ValueError("give phrases or patterns (or both)")
        return self


@rule_type
class RequiredPhraseRule(Rule):
    """Fires when the speaker does not say the phrase within the first N seconds of their talk (自报家门, mini-Miranda)."""

    type_name = "required_phrase"
    config_model = RequiredPhraseConfig
    config: RequiredPhraseConfig

    def __init__(self, config: RequiredPhraseConfig, compiler: PackCompiler):
        super().__init__(config, compiler)
        self.matcher = (_TextMatcher(compiler, config.phrases, [], "phrases", config.sound_alike)
                        if config.phrases else None)
        self.patterns = [re.compile(p) for p in config.patterns]

    def evaluate(self, context: CallContext) -> list[Finding]:
        config = self.config
        talk_before: dict[int, float] = {}  # speaker's talk time before each of their segments
        talked = 0.0
        for index in context.segments_in(config.scope):
            talk_before[index] = talked
            segment = context.segments[index]
            talked += max(segment.end - segment.start, 0.0)
        if not talk_before:
            return []  # the speaker never spoke: nothing to judge

        def early(segment: int, position: int) -> bool:
            seconds_in = context.time_at(segment, position) - context.segments[segment].start
            return talk_before[segment] + seconds_in <= config.within_seconds

        window = [i for i in talk_before if talk_before[i] <= config.within_seconds]
        combine = any if config.mode == "any" else all

        def phrases_said(sound: bool) -> list[bool]:
            if self.matcher is None:
                return []
            groups = self.matcher.hits(context, config.scope, config.negation, segments=window, sound=sound)
            return [any(early(s, start) for s, start, _ in group if s in talk_before) for group in groups]

        said = phrases_said(sound=False)  # the automaton's exact hits: free
        if config.mode == "any" and any(said):
            return []
        said += [any(early(index, match.start()) for index in window for match in pattern.finditer(context.lines[index]))
                 for pattern in self.patterns]
        if combine(said):
            return []
        if self.matcher is not None and self.matcher.sound_alike:
            # only now the near-sound search (pinyin of the window's segments): 公号 for 工号, 连众催生 for 联众催收
            said = phrases_said(sound=True) + said[len(self.matcher.group_slots):]
            if combine(said):
                return []
        return [self.finding(
            context, window, "",
            description=config.description or f"required phrase not said within {config.within_seconds:g} s",
            speaker=config.scope,
        )]
