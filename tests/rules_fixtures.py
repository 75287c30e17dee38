"""Builders for the rules tests: table cases (tests/rules_cases/*.yaml) and the shared synthetic calls."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from qc.domain import AcousticFeatures, Call, CallAttempt, ChannelFeatures, Segment, Span, Transcript

CASES_DIR = Path(__file__).parent / "rules_cases"
CALLS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "calls"
DEFAULTS = {
    "zh": {"started_at": "2026-11-03T15:00:00+08:00", "number": "138****0001"},
    "en": {"started_at": "2026-11-03T15:00:00-05:00", "number": "555****0001"},
}
_TIMED_TURN = re.compile(r"^(agent|customer|unknown)(?:@([\d.]+)-([\d.]+))?\s*:\s*(.*)$")


@dataclass(frozen=True)
class Scenario:
    call: Call
    transcript: Transcript
    features: AcousticFeatures | None
    history: tuple[CallAttempt, ...]
    model_scores: dict[int, dict[str, float]] | None


def load_cases(pack_name: str) -> dict[str, dict[str, list[Any]]]:
    return yaml.safe_load((CASES_DIR / f"{pack_name}.yaml").read_text(encoding="utf-8"))


def _segments(case: dict[str, Any]) -> tuple[Segment, ...]:
    turns = case.get("turns") or ([f"agent: {case['text']}"] if "text" in case else ["agent: 喂"])
    gaps = case.get("gaps") or [0.5] * len(turns)
    segments, clock = [], 0.0
    for index, (turn, gap) in enumerate(zip(turns, gaps)):
        match = _TIMED_TURN.match(turn)
        assert match, f"bad turn {turn!r}"
        speaker, start, end, text = match.groups()
        if start is None:
            start = clock + gap
            end = start + max(len(text) / 4.0, 0.5)
        segments.append(Segment(id=index, start=float(start), end=float(end), speaker=speaker, text=text))
        clock = float(end)
    return tuple(segments)


def _history(items: list[dict[str, Any]], account: str, number: str) -> tuple[CallAttempt, ...]:
    attempts = []
    for item in items:
        repeat, offset = item.get("repeat", 1), item.get("offset", 0)
        for i in range(repeat):
            started = item["started_at"] % (offset + i) if "%d" in item["started_at"] else item["started_at"]
            attempts.append(CallAttempt(
                call_id=f"h{len(attempts)}", account_id=item.get("account_id", account),
                started_at=datetime.fromisoformat(started), callee_number=item.get("callee_number", number),
                answered=item.get("answered", True), conversation=item.get("conversation", True),
            ))
    return tuple(attempts)


def _levels(raised: list[list[float]] | None, duration: float) -> tuple:
    """Per-second speech levels: calm speech wandering ±2 dB around -26 dBFS, plus raised stretches
    [start, end, dB]; None: no per-second levels (features stored before they were measured)."""
    if raised is None:
        return ()
    wander = (0.0, 1.5, -1.0, 2.0, -2.0, 0.5, -0.5, 1.0)
    pieces = []
    for second in range(int(duration)):
        rise = sum(db for a, b, db in raised if a <= second < b)
        pieces.append((float(second), second + 0.9, -26.0 + wander[second % len(wander)] + rise, 220.0))
    return tuple(pieces)


def _channel(speaker: str, loud: list[list[float]], rate: float | None, speech: float,
             raised: list[list[float]] | None = None, duration: float = 60.0) -> ChannelFeatures:
    return ChannelFeatures(
        speaker=speaker, speech_spans=(), speech_seconds=speech, longest_silence_s=0.0,
        loudness_dbfs_mean=-25.0, loudness_dbfs_peak=-6.0, loud_spans=tuple(Span(a, b) for a, b in loud),
        pitch_mean_hz=None, pitch_std_hz=None, speech_rate_sps=rate, speech_levels=_levels(raised, duration),
    )


def _features(spec: dict[str, Any] | None, duration: float) -> AcousticFeatures | None:
    if spec is None:
        return None
    channels = (
        _channel("agent", spec.get("loud_agent", []), spec.get("agent_rate"), spec.get("agent_speech", 20.0),
                 spec.get("raised_agent", [])),
        _channel("customer", spec.get("loud_customer", []), None, 20.0, spec.get("raised_customer", [])),
    )
    silence = tuple(Span(a, b) for a, b in spec.get("silence", []))
    return AcousticFeatures(
        duration=max(duration, 60.0), channels=channels,
        overtalk_spans=tuple(Span(a, b) for a, b in spec.get("overtalk", [])),
        silence_spans=silence, longest_silence_s=max((s.duration for s in silence), default=0.0),
    )


def build_scenario(case: str | dict[str, Any], language: str) -> Scenario:
    if isinstance(case, str):
        case = {"text": case}
    defaults = DEFAULTS[language]
    segments = _segments(case)
    duration = case.get("duration") or max(s.end for s in segments)
    call = Call(
        call_id="case", agency="agency", agent_id="A1", account_id="ACC1",
        started_at=datetime.fromisoformat(case.get("started_at", defaults["started_at"])),
        callee_number=defaults["number"], callee_relation=case.get("relation", "debtor"),
        duration_s=float(duration), callee_timezone=case.get("callee_timezone"),
    )
    scores = case.get("model_scores")
    return Scenario(
        call=call,
        transcript=Transcript(segments=segments, language=language, duration=float(duration)),
        features=_features(case.get("features"), float(duration)),
        history=_history(case.get("history", []), "ACC1", defaults["number"]),
        model_scores={int(k): v for k, v in scores.items()} if scores else None,
    )


def load_shared_call(call_id: str) -> tuple[Call, Transcript, dict[str, Any]]:
    """A call of shared/data/calls as (Call from the sidecar, Transcript from the per-turn script, labels)."""
    with (CALLS_DIR / f"{call_id}.segments.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    segments = tuple(
        Segment(id=i, start=float(r["start_s"]), end=float(r["end_s"]), speaker=r["role"], text=r["text"])
        for i, r in enumerate(rows)
    )
    call = Call.from_dict(json.loads((CALLS_DIR / f"{call_id}.json").read_text(encoding="utf-8")))
    labels = json.loads((CALLS_DIR / f"{call_id}.labels.json").read_text(encoding="utf-8"))
    return call, Transcript(segments=segments, language="zh", duration=segments[-1].end), labels


def shared_call_ids() -> list[str]:
    return sorted(p.name.split(".")[0] for p in CALLS_DIR.glob("*.segments.tsv"))
