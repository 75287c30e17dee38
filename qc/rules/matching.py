"""Shared matching machinery: one Aho-Corasick automaton per pack, and the per-call evaluation context.

Every phrase of every rule (and the pack's negation cues) goes into ONE automaton at pack load. Scoring a call
normalises its segments once, runs the automaton once over the joined text, and hands each rule the hits of its
own "slots" (a slot = one synonym group of one rule). Nothing loops over phrases in Python at scoring time.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import ahocorasick_rs
import numpy as np

from qc.textnorm import CLAUSE_BREAK, NormalizedText, normalize, normalize_for_matching, normalize_lines, split_sentences
from qc.domain import AcousticFeatures, Call, CallAttempt, Finding, Segment, Transcript
from qc.rules.registry import RuleCheckError
from qc.rules.sounds import sound_text

if TYPE_CHECKING:
    from qc.rules.registry import Rule

Hit = tuple[int, int, int]  # (segment index, start, end) in that segment's normalised text
MAX_SYNONYM_VARIANTS = 64  # per phrase; a typo in a synonym table must not explode the automaton


def _line_starts(lines: Sequence[str]) -> list[int]:
    """Where each line starts in the lines joined by newlines."""
    return list(itertools.accumulate((len(line) + 1 for line in lines[:-1]), initial=0))


def _is_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


class PhraseIndex:
    """Normalised phrase → the slots it belongs to, compiled into one automaton."""

    def __init__(self) -> None:
        self._slots_by_phrase: dict[str, list[int]] = {}
        self._slot_count = 0
        self._automaton: ahocorasick_rs.AhoCorasick | None = None
        self._phrase_info: list[tuple[tuple[int, ...], bool, bool]] = []  # slots, whole-word left / right
        self.slot_owner: dict[int, str | None] = {}  # slot → rule id (None: pack-level, e.g. negation cues)
        self.owner: str | None = None  # the rule being compiled

    def new_slot(self) -> int:
        self._slot_count += 1
        self.slot_owner[self._slot_count - 1] = self.owner
        return self._slot_count - 1

    @property
    def phrases(self) -> tuple[str, ...]:
        return tuple(self._slots_by_phrase)

    def without(self, slots: frozenset[int]) -> "PhraseIndex":
        """A built index of the same slots minus some (rules that cannot apply to a kind of call)."""
        index = PhraseIndex()
        index._slot_count, index.slot_owner = self._slot_count, self.slot_owner
        for phrase, owners in self._slots_by_phrase.items():
            kept = [slot for slot in owners if slot not in slots]
            if kept:
                index._slots_by_phrase[phrase] = kept
        index.build()
        return index

    def add(self, normalised_phrase: str, slot: int) -> None:
        slots = self._slots_by_phrase.setdefault(normalised_phrase, [])
        if slot not in slots:
            slots.append(slot)

    def build(self) -> None:
        phrases = list(self._slots_by_phrase)
        # ASCII words must match whole words ("debt" is not in "indebted"); CJK has no word boundaries
        self._phrase_info = [
            (tuple(self._slots_by_phrase[phrase]), _is_word_char(phrase[0]), _is_word_char(phrase[-1]))
            for phrase in phrases
        ]
        self._automaton = ahocorasick_rs.AhoCorasick(phrases) if phrases else None

    def scan(self, joined: str, line_starts: Sequence[int]) -> dict[int, list[Hit]]:
        """All phrase hits (overlapping ones too) in normalised lines joined by newlines, grouped by slot."""
        hits: dict[int, list[Hit]] = {}
        if self._automaton is None:
            return hits
        info = self._phrase_info
        for phrase, start, end in self._automaton.find_matches_as_indexes(joined, overlapping=True):
            slots, left_word, right_word = info[phrase]
            if left_word and start > 0 and _is_word_char(joined[start - 1]):
                continue
            if right_word and end < len(joined) and _is_word_char(joined[end]):
                continue
            line = bisect_right(line_starts, start) - 1
            local = start - line_starts[line]
            hit = (line, local, local + end - start)
            for slot in slots:
                hits.setdefault(slot, []).append(hit)
        return hits


@dataclass
class PackCompiler:
    """What a rule needs while compiling: the language, the shared phrase index and pack-level tables."""

    language: str
    index: PhraseIndex = field(default_factory=PhraseIndex)
    synonyms: Mapping[str, Sequence[str]] = field(default_factory=dict)
    negation_window: int = 4
    lexicons: Mapping[str, Sequence[str]] = field(default_factory=dict)  # named phrase lists, used as "@name"

    def normalise(self, phrase: str, field_name: str) -> str:
        normalised = normalize_for_matching(phrase, self.language).strip()
        if not normalised.replace(CLAUSE_BREAK, "").strip():
            raise RuleCheckError(field_name, f"phrase {phrase!r} is empty after normalisation")
        return normalised

    def variants(self, phrase: str) -> list[str]:
        """The phrase with every pack synonym substituted in every combination (capped)."""
        variants = [phrase]
        for word, alternatives in self.synonyms.items():
            if word not in phrase:
                continue
            variants = [v.replace(word, alt) for v in variants for alt in (word, *alternatives)]
            if len(variants) > MAX_SYNONYM_VARIANTS:
                variants = variants[:MAX_SYNONYM_VARIANTS]
                break
        return list(dict.fromkeys(variants))

    def expand(self, phrases: Sequence[str], field_name: str) -> list[str]:
        """The phrases with every "@lexicon" reference replaced by that lexicon's entries."""
        expanded: list[str] = []
        for phrase in phrases:
            if phrase.startswith("@"):
                name = phrase[1:]
                if name not in self.lexicons:
                    known = ", ".join(f"@{n}" for n in self.lexicons) or "none"
                    raise RuleCheckError(field_name, f"unknown lexicon {phrase!r} (pack lexicons: {known})")
                expanded.extend(self.lexicons[name])
            else:
                expanded.append(phrase)
        return expanded

    def normalised_variants(self, phrases: Sequence[str], field_name: str) -> list[str]:
        """Every phrase of a group (lexicons expanded, synonyms substituted), normalised."""
        return list(dict.fromkeys(
            self.normalise(variant, field_name)
            for phrase in self.expand(phrases, field_name) for variant in self.variants(phrase)))

    def add_phrase_group(self, phrases: Sequence[str], field_name: str) -> int:
        """Register a group of equivalent phrases (with synonyms and lexicons); returns the group's slot."""
        slot = self.index.new_slot()
        for normalised in self.normalised_variants(phrases, field_name):
            self.index.add(normalised, slot)
        return slot


class CallContext:
    """Everything the rules look at for one call, computed once and shared by all rules."""

    def __init__(
        self,
        *,
        pack_language: str,
        index: PhraseIndex,
        negation_slot: int | None,
        breaker_slot: int | None,
        negation_window: int,
        after_slot: int | None = None,
        rules_by_id: Mapping[str, "Rule"],
        call: Call,
        transcript: Transcript,
        features: AcousticFeatures | None,
        history: Sequence[CallAttempt],
        model_scores: Mapping[int, Mapping[str, float]] | None,
    ):
        self.language = pack_language
        self.call = call
        self.transcript = transcript
        self.features = features
        self.history = tuple(history)
        self.model_scores = model_scores
        self.segments: tuple[Segment, ...] = transcript.segments
        self.speakers: list[str] = [s.speaker for s in self.segments]
        self.lines: list[str] = normalize_lines([s.text for s in self.segments], pack_language) if self.segments else []
        self._joined = ("\n".join(self.lines), _line_starts(self.lines))
        self.hits = index.scan(*self._joined) if self.lines else {}
        self.negation_window = negation_window
        self._negation_cues: dict[int, list[tuple[int, int]]] = {}
        for segment, start, end in self.hits.get(negation_slot, ()) if negation_slot is not None else ():
            self._negation_cues.setdefault(segment, []).append((start, end))
        self._breakers: dict[int, list[tuple[int, int]]] = {}
        for segment, start, end in self.hits.get(breaker_slot, ()) if breaker_slot is not None else ():
            self._breakers.setdefault(segment, []).append((start, end))
        self._after_cues: dict[int, list[tuple[int, int]]] = {}
        for segment, start, end in self.hits.get(after_slot, ()) if after_slot is not None else ():
            self._after_cues.setdefault(segment, []).append((start, end))
        self._rules_by_id = rules_by_id
        self._results: dict[str, list[Finding]] = {}
        self._offset_maps: dict[int, NormalizedText] = {}
        self._sound_lines: dict[int, str] = {}
        self._embeddings: dict[int, np.ndarray] = {}
        self._sentence_vectors: dict[str, np.ndarray] = {}
        self._scoped: dict[str, tuple[int, ...]] = {}
        self._joined_by_scope: dict[str, tuple[str, list[int], Sequence[int]]] = {}

    # ---- text -----------------------------------------------------------------------------------
    def in_scope(self, segment_index: int, scope: str) -> bool:
        speaker = self.speakers[segment_index]
        # mono recordings have "unknown" speakers: keep them in every scope rather than miss a threat
        return scope == "any" or speaker == scope or speaker == "unknown"

    def segments_in(self, scope: str) -> tuple[int, ...]:
        """Indices of the segments in scope (`in_scope`), in transcript order; computed once per scope."""
        indices = self._scoped.get(scope)
        if indices is None:
            indices = self._scoped[scope] = tuple(i for i in range(len(self.speakers)) if self.in_scope(i, scope))
        return indices

    @cached_property
    def time_ordered(self) -> list[Segment]:
        """The segments by start time (silence and overtalk from the transcript's timing)."""
        return sorted(self.segments, key=lambda s: s.start)

    def is_negated(self, segment_index: int, start: int, end: int | None = None) -> bool:
        """A negation cue ends within the window before `start`, or (given the hit's `end`) an after-cue
        (「不会受影响」) begins within the window after `end`; in the same clause, with no breaker between."""
        line = self.lines[segment_index]
        breakers = self._breakers.get(segment_index, ())
        for cue_start, cue_end in self._negation_cues.get(segment_index, ()):
            if cue_end <= start and start - cue_end <= self.negation_window:
                if CLAUSE_BREAK in line[cue_end:start]:
                    continue
                if any(cue_end <= b_start and b_end <= start for b_start, b_end in breakers):
                    continue
                return True
        for cue_start, cue_end in self._after_cues.get(segment_index, ()) if end is not None else ():
            if end <= cue_start and cue_start - end <= self.negation_window:
                if CLAUSE_BREAK in line[end:cue_start]:
                    continue
                if any(end <= b_start and b_end <= cue_start for b_start, b_end in breakers):
                    continue
                return True
        return False

    def sound_line(self, segment_index: int) -> str:
        """The segment's normalised text as sound codes (qc.rules.sounds), computed on first use."""
        line = self._sound_lines.get(segment_index)
        if line is None:
            line = self._sound_lines[segment_index] = sound_text(self.lines[segment_index])
        return line

    def embeddings(self, indices: Sequence[int], embed: "Callable[[list[str]], np.ndarray]") -> "np.ndarray":
        """Sentence vectors of the given segments, each computed once per call (shared by semantic rules)."""
        missing = [i for i in indices if i not in self._embeddings]
        if missing:
            for i, vector in zip(missing, embed([self.segments[i].text for i in missing])):
                self._embeddings[i] = vector
        return np.vstack([self._embeddings[i] for i in indices])

    def sentence_embeddings(self, indices: Sequence[int], embed: "Callable[[list[str]], np.ndarray]",
                            ) -> tuple[list[int], list[str], "np.ndarray"]:
        """The sentences of the given segments that are not the whole segment (`split_sentences`), each
        embedded once per call: each one's segment index, its text and the vectors (one row per sentence)."""
        owners: list[int] = []
        texts: list[str] = []
        for i in indices:
            pieces = split_sentences(self.segments[i].text)
            if len(pieces) > 1:
                owners += [i] * len(pieces)
                texts += pieces
        missing = list(dict.fromkeys(t for t in texts if t not in self._sentence_vectors))
        if missing:
            self._sentence_vectors.update(zip(missing, embed(missing)))
        vectors = np.vstack([self._sentence_vectors[t] for t in texts]) if texts else np.empty((0, 0))
        return owners, texts, vectors

    def original_text(self, segment_index: int, start: int, end: int) -> str:
        """The original (as recognised) text behind a normalised span: the evidence a clerk reads."""
        mapping = self._offset_maps.get(segment_index)
        if mapping is None:
            mapping = normalize(self.segments[segment_index].text, self.language)
            self._offset_maps[segment_index] = mapping
        return mapping.original_text(start, end)

    def joined_lines(self, scope: str = "any") -> tuple[str, list[int], Sequence[int]]:
        """The normalised lines of the segments in scope joined by newlines, each line's start in the joined
        text and its segment index (for regex rules: one scan per rule over the text it may judge)."""
        if scope == "any":
            return (*self._joined, range(len(self.lines)))
        joined = self._joined_by_scope.get(scope)
        if joined is None:
            indices = self.segments_in(scope)
            lines = [self.lines[i] for i in indices]
            joined = self._joined_by_scope[scope] = ("\n".join(lines), _line_starts(lines), indices)
        return joined

    def time_at(self, segment_index: int, position: int) -> float:
        """Approximate time of a character position, interpolated over the segment."""
        segment = self.segments[segment_index]
        length = max(len(self.lines[segment_index]), 1)
        return segment.start + (segment.end - segment.start) * min(position, length) / length

    # ---- other rules ----------------------------------------------------------------------------
    def forget_findings(self) -> None:
        """Evaluate the rules afresh on the next `findings_of` (calibration tries other thresholds)."""
        self._results.clear()

    def findings_of(self, rule_id: str) -> list[Finding]:
        """Findings of a rule for this call, evaluated at most once (boolean rules share them)."""
        if rule_id not in self._results:
            rule = self._rules_by_id[rule_id]
            findings = rule.evaluate(self) if rule.applies_to(self) else []
            if findings and rule.config.unless_same_turn:
                cancelled = {i for other in rule.config.unless_same_turn for f in self.findings_of(other)
                             for i in f.segment_ids}
                findings = [f for f in findings if not f.segment_ids or not set(f.segment_ids) <= cancelled]
            self._results[rule_id] = findings
        return self._results[rule_id]
