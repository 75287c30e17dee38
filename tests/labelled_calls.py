"""Scoring the labelled synthetic calls (../shared/data/calls) against their labels, tolerant of ASR variation.

Used by the end-to-end flow test (findings read back from the database) and by bench/asr_spread.py (findings
from in-memory scoring under each CPU instruction set and thread count), so the thresholds the test asserts
are computed exactly as the spread that set them was measured.

A labelled violation is *found* when a finding of its category exists on the call and, where the label names a
turn, the finding's span lies on that turn (± TURN_TOLERANCE_S for ASR timing). A finding is *unexpected* when
its category is not among the call's labels (whatever its severity: acoustic findings count too).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

TURN_TOLERANCE_S = 1.0  # a finding's span may start/end this far outside the labelled turn (ASR timing)


@dataclass(frozen=True)
class FoundFinding:
    """What the evaluation needs of a finding."""

    category: str
    start: float | None
    end: float | None
    rule_id: str = ""

    def answers(self, label: dict) -> bool:
        """Whether this finding is of the labelled violation: same category, or the rule the label names
        (the English labels say `missing_mini_miranda` with rule US-07, whose category is `mini_miranda`)."""
        rule = label.get("rule")
        return self.category == label["category"] or bool(
            rule and (self.rule_id == rule or self.rule_id.startswith(f"{rule}-")))


@dataclass(frozen=True)
class ScriptTurn:
    start: float
    end: float
    channel: str  # L | R
    role: str
    text: str


def script_turns(calls_dir: Path, call_id: str) -> list[ScriptTurn]:
    """The turns of a labelled call's script (`<call_id>.segments.tsv`)."""
    with (calls_dir / f"{call_id}.segments.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [ScriptTurn(float(r["start_s"]), float(r["end_s"]), r["channel"], r["role"], r["text"]) for r in rows]


@dataclass(frozen=True)
class CallEvaluation:
    call_id: str
    compliant: bool
    flagged: bool
    found: tuple[str, ...]  # "category" or "category@turn" per labelled violation found
    missed: tuple[str, ...]
    unexpected: tuple[str, ...]  # categories of findings the labels do not have


@dataclass
class DetectionTally:
    """Totals over a set of calls: label recall, compliant calls flagged, unexpected findings."""

    calls: list[CallEvaluation] = field(default_factory=list)

    def add(self, evaluation: CallEvaluation) -> None:
        self.calls.append(evaluation)

    @property
    def labels(self) -> int:
        return sum(len(c.found) + len(c.missed) for c in self.calls)

    @property
    def recall(self) -> float:
        return sum(len(c.found) for c in self.calls) / max(self.labels, 1)

    @property
    def missed(self) -> list[str]:
        return [f"{c.call_id}:{m}" for c in self.calls for m in c.missed]

    @property
    def compliant_flagged(self) -> list[str]:
        return [c.call_id for c in self.calls if c.compliant and c.flagged]

    @property
    def violating_unflagged(self) -> list[str]:
        return [c.call_id for c in self.calls if not c.compliant and not c.flagged]

    @property
    def unexpected(self) -> list[str]:
        return [f"{c.call_id}:{u}" for c in self.calls for u in c.unexpected]


def load_labels(calls_dir: Path, call_id: str) -> dict:
    return json.loads((calls_dir / f"{call_id}.labels.json").read_text(encoding="utf-8"))


def turn_span(calls_dir: Path, call_id: str, turn: int) -> tuple[float, float]:
    chosen = script_turns(calls_dir, call_id)[turn]
    return chosen.start, chosen.end


def evaluate_call(calls_dir: Path, call_id: str, findings: list[FoundFinding], flagged: bool) -> CallEvaluation:
    truth = load_labels(calls_dir, call_id)
    found, missed = [], []
    for violation in truth["violations"]:
        category, turn = violation["category"], violation["turn"]
        spans = [(f.start, f.end) for f in findings if f.answers(violation)]
        name = category if turn is None else f"{category}@{turn}"
        if turn is not None:
            start, end = turn_span(calls_dir, call_id, turn)
            spans = [(s, e) for s, e in spans if s is not None and e is not None
                     and s < end + TURN_TOLERANCE_S and e > start - TURN_TOLERANCE_S]
        (found if spans else missed).append(name)
    unexpected = tuple(sorted(f.category for f in findings
                              if not any(f.answers(violation) for violation in truth["violations"])))
    return CallEvaluation(call_id, bool(truth["compliant"]), flagged, tuple(found), tuple(missed), unexpected)
