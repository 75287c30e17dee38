"""Labelled utterances, and the thresholds of a pack's semantic rules calibrated on them.

A labelled-utterance file is the TSV of the evaluation sets (bench/detection_eval.py, tests/data/blind*):
columns `id, language, speaker, category, text`, optional `callee_relation` and `previous` (the callee's turn just
before), other columns ignored. `category` is `none` or one or more categories, comma-separated. Each utterance is
judged as `callqc score` judges a short transcript: the previous turn (when given) as a customer turn, then the
judged turn, in a noon call; the callee relation as given, or inferred from the text when unknown.

Semantic rules are calibrated on utterances their exemplars were not written from (configs/rules/calibration/),
and on the agent turns of labelled call scripts (configs/rules/calibration/calls/), each judged in its call.
Per rule, the threshold on SIMILARITY_GRID with the best F1 among those whose precision reaches the minimum
(qc.models.training.calibrate_thresholds: ties go to the lower threshold), for the categories of the reported
rules that use it: the rule itself, or the boolean rules built on it (US-02 on US-S-attorney-said). Each rule
is calibrated with the other rules at the pack's values, so a pack is calibrated when every value comes back
unchanged.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence
from zoneinfo import ZoneInfo

import numpy as np

from qc.domain import Call, Segment, Transcript
from qc.rules.pack import PACKS_DIR, RulePack
from qc.rules.registry import Rule
from qc.scoring import judged_call

if TYPE_CHECKING:
    from qc.models.training import ReferenceCall

CALIBRATION_DIR = PACKS_DIR / "calibration"  # the shipped packs' calibration utterances and their vectors
CALIBRATION_CALLS_DIR = CALIBRATION_DIR / "calls"  # labelled call scripts, one folder per set (samples/calls layout)
OUT_OF_AUTHOR_FILE = CALIBRATION_DIR / "models" / "out_of_author.tsv"  # `callqc models calibrate`: each file scored by a model that never read it
REQUIRED_COLUMNS = ("id", "language", "speaker", "category", "text")
LANGUAGES = ("zh", "en")
SPEAKERS = ("agent", "customer", "unknown")
RELATIONS = ("debtor", "guarantor", "third_party", "unknown", "")
TIMEZONE_OF = {"zh": "Asia/Shanghai", "en": "America/New_York"}
SIMILARITY_GRID: tuple[float, ...] = tuple(round(0.20 + 0.025 * i, 3) for i in range(31))  # 0.200 … 0.950
MIN_PRECISION = 0.85
_CHARS_PER_SECOND = 4.0


class UtteranceFileError(ValueError):
    """A labelled-utterance file cannot be used; the message names the file, the row and the field."""


@dataclass(frozen=True)
class LabelledUtterance:
    id: str
    language: str
    speaker: str
    categories: frozenset[str]  # empty: compliant
    text: str
    callee_relation: str = "unknown"
    previous: str = ""

    def as_call(self) -> tuple[Call, Transcript, int]:
        """The call and transcript the utterance is judged in, and the id of the judged segment."""
        segments = []
        if self.previous:
            segments.append(Segment(0, 0.0, max(len(self.previous) / _CHARS_PER_SECOND, 1.0), "customer", self.previous))
        clock = segments[-1].end + 0.5 if segments else 0.0
        judged = Segment(len(segments), clock, clock + max(len(self.text) / _CHARS_PER_SECOND, 1.0),
                         self.speaker, self.text)  # type: ignore[arg-type]
        transcript = Transcript((*segments, judged), self.language, judged.end)
        return noon_call(self.id, self.language, self.callee_relation), transcript, judged.id

    def as_reference_call(self) -> "ReferenceCall":
        """The utterance as a one-turn labelled call (what the model calibration scores in context)."""
        from qc.models.training import ReferenceCall

        call, transcript, judged = self.as_call()
        violations = {judged: set(self.categories)} if self.categories and self.speaker == "agent" else {}
        return ReferenceCall(self.id, self.language, transcript, call.callee_relation, violations)


def noon_call(call_id: str, language: str, callee_relation: str) -> Call:
    """A call at noon in the language's time zone (no calling-hours finding), callee relation as given."""
    zone = ZoneInfo(TIMEZONE_OF[language])
    return Call(call_id=call_id, agency="", agent_id="", account_id="",
                started_at=datetime.combine(datetime(2026, 11, 3).date(), time(12, 0), tzinfo=zone),
                callee_relation=callee_relation or "unknown", callee_timezone=str(zone))  # type: ignore[arg-type]


def read_utterances(path: Path) -> list[LabelledUtterance]:
    """The utterances of a labelled TSV; an unusable row raises UtteranceFileError naming file, row and field."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise UtteranceFileError(f"{path}: missing column(s) {', '.join(missing)}")
        utterances = []
        for number, row in enumerate(reader, start=2):
            values = {key: (value or "").strip() for key, value in row.items() if key is not None}
            for field, allowed in (("language", LANGUAGES), ("speaker", SPEAKERS),
                                   ("callee_relation", RELATIONS)):
                if values.get(field, "") not in allowed:
                    raise UtteranceFileError(f"{path}: row {number}: field '{field}' must be one of "
                                             f"{', '.join(a for a in allowed if a)}, got {values.get(field)!r}")
            if not values["text"]:
                raise UtteranceFileError(f"{path}: row {number}: field 'text' is empty")
            categories = frozenset(c.strip() for c in values["category"].split(",") if c.strip() not in ("", "none"))
            utterances.append(LabelledUtterance(
                id=values["id"], language=values["language"], speaker=values["speaker"], categories=categories,
                text=values["text"], callee_relation=values.get("callee_relation") or "unknown",
                previous=values.get("previous", "")))
    return utterances


def calibration_files(directory: Path = CALIBRATION_DIR) -> list[Path]:
    """The labelled utterance files of `directory`, one per author (the file's stem names the author)."""
    return sorted(directory.glob("*.tsv"))


def utterances_by_author(files: Sequence[Path]) -> dict[str, list["ReferenceCall"]]:
    """Each file's utterances as one-turn labelled calls, keyed by the file's stem."""
    return {path.stem: [u.as_reference_call() for u in read_utterances(path)] for path in files}


def read_calibration_calls(calls_dir: Path = CALIBRATION_CALLS_DIR) -> list["ReferenceCall"]:
    """The labelled call scripts of every set folder under `calls_dir` (segments.tsv + labels.json + json)."""
    from qc.models.training import load_reference_calls

    folders = sorted(d for d in calls_dir.iterdir() if d.is_dir()) if calls_dir.is_dir() else []
    return [call for folder in folders for call in load_reference_calls(folder)]


def _users(rule: Rule, pack: RulePack) -> list[Rule]:
    """The reported rules whose findings depend on `rule`: itself when reported, else the rules built on it."""
    if rule.config.report:
        return [rule]
    users = []
    for candidate in pack.reported_rules:
        pending, seen = list(candidate.depends_on()), set()
        while pending:
            reference = pending.pop()
            if reference == rule.id:
                users.append(candidate)
                break
            if reference not in seen:
                seen.add(reference)
                pending.extend(pack.rules_by_id[reference].depends_on())
    return users


def embed_once(texts: Sequence[str], vectors_file: Path | None = None) -> None:
    """Embed the texts in batches before the rules ask for them one call at a time; with `vectors_file`, take
    the vectors stored there (qc.models.embedding.write_embeddings) and store the ones computed now."""
    from qc.models.embedding import embed, remember, write_embeddings

    unique = list(dict.fromkeys(texts))
    stores = [vectors_file] if vectors_file is not None and vectors_file.exists() else []
    stored = set(np.load(vectors_file)["texts"].tolist()) if stores else set()
    if vectors_file is not None and not stored.issuperset(unique):
        write_embeddings(unique, vectors_file)
        stores = [vectors_file]
    vectors = embed(unique, stores)
    remember(unique, vectors.astype(np.float16).astype(np.float32))  # as stored: the same values every run


def _call_turns(pack: RulePack, calls: Sequence["ReferenceCall"]) -> list[tuple[object, int, frozenset[str]]]:
    """Every agent turn of the labelled calls in the pack's language, judged in its whole call: (context,
    segment id, labelled categories)."""
    turns = []
    for reference in (c for c in calls if c.language == pack.language):
        call = noon_call(reference.call_id, pack.language, reference.callee_relation)
        context = pack.context(judged_call(call, reference.transcript), reference.transcript)
        for segment in reference.transcript.segments:
            if segment.speaker == "agent":
                turns.append((context, segment.id, frozenset(reference.violations.get(segment.id, ()))))
    return turns


def calibrate_semantic_rules(pack: RulePack, utterances: Sequence[LabelledUtterance],
                             min_precision: float = MIN_PRECISION,
                             vectors_file: Path | None = None,
                             calls: Sequence["ReferenceCall"] = ()) -> dict[str, dict[str, float]]:
    """Per semantic rule of the pack: {threshold, precision, recall, f1, support} on the pack's-language
    utterances (see the module docstring) and the agent turns of labelled call scripts (`calls`, each turn judged
    in its call: a rule scoped to third-party callees meets every turn of such a call, the openings and
    call-back requests included). `vectors_file` keeps the sentence vectors between runs."""
    from qc.models.training import calibrate_thresholds

    rows = [u for u in utterances if u.language == pack.language]
    if not rows:
        raise ValueError(f"no labelled utterances in the pack's language {pack.language!r}")
    embed_once([text for u in utterances for text in (u.previous, u.text) if text]
               + [s.text for c in calls for s in c.transcript.segments if s.text], vectors_file)
    judged = []
    for utterance in rows:
        call, transcript, segment_id = utterance.as_call()
        judged.append((pack.context(judged_call(call, transcript), transcript), segment_id, utterance.categories))
    judged += _call_turns(pack, calls)
    contexts = list({id(context): context for context, _, _ in judged}.values())  # a call's turns share one
    result = {}
    for rule in (r for r in pack.rules if r.type_name == "semantic"):
        users = _users(rule, pack)
        categories = {user.config.category for user in users}
        truth = np.array([bool(labelled & categories) for _, _, labelled in judged])
        fires_up_to = np.zeros(len(judged))  # the highest grid threshold at which a user still fires on the turn
        pack_value = rule.threshold
        try:
            for threshold in SIMILARITY_GRID:
                rule.threshold = threshold
                for context in contexts:
                    context.forget_findings()
                for row, (context, segment_id, _) in enumerate(judged):
                    if any(segment_id in f.segment_ids for user in users for f in context.findings_of(user.id)):
                        fires_up_to[row] = threshold
        finally:
            rule.threshold = pack_value
        result[rule.id] = calibrate_thresholds(fires_up_to[:, None], truth[:, None], [rule.id], min_precision,
                                               grid=SIMILARITY_GRID)[rule.id]
    return result
