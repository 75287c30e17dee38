"""The domain types shared by every stage: frozen values, no I/O.

asr/ produces Transcript and AcousticFeatures; qc.rules and qc.models turn them (with the Call metadata and
the account's CallAttempt history) into Findings and a CallScore; the app stores them; attribution joins
them with Complaints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Mapping

Speaker = Literal["agent", "customer", "unknown"]
Severity = Literal["info", "minor", "major", "critical"]
CalleeRelation = Literal["debtor", "guarantor", "third_party", "unknown"]
FindingSource = Literal["rule", "model", "both", "reviewer"]  # both: a rule and the model agree

SPEAKERS: tuple[Speaker, ...] = ("agent", "customer", "unknown")
SEVERITIES: tuple[Severity, ...] = ("info", "minor", "major", "critical")
CALLEE_RELATIONS: tuple[CalleeRelation, ...] = ("debtor", "guarantor", "third_party", "unknown")

# How a recording's channel map may name the two channels of a stereo file: left / right, or L / R as the
# agencies' turn tables write them, in any case. Anything else is an error, not a silently unattributed channel.
CHANNEL_NAMES: dict[str, Literal["left", "right"]] = {"left": "left", "l": "left", "right": "right", "r": "right"}


def channel_map_of(mapping: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A channel map ({channel: speaker}) with its channels named "left" / "right" (see CHANNEL_NAMES); None
    when empty. Raises ValueError naming a channel it does not know."""
    if not mapping:
        return None
    result: dict[str, Any] = {}
    for name, speaker in mapping.items():
        position = CHANNEL_NAMES.get(str(name).strip().lower())
        if position is None:
            raise ValueError(f"unknown channel {name!r} in the channel map (name them left/right or L/R)")
        result[position] = speaker
    return result


@dataclass(frozen=True)
class Call:
    """Metadata of one recorded call (from its sidecar / S3 metadata / manifest row)."""

    call_id: str
    agency: str
    agent_id: str
    account_id: str
    started_at: datetime  # timezone-aware: the callee's local offset as recorded
    callee_number: str = ""
    callee_relation: CalleeRelation = "unknown"
    product: str | None = None
    delinquency_bucket: str | None = None
    direction: str = "outbound"
    debt_id: str | None = None
    answered: bool = True
    duration_s: float | None = None
    channel_map: dict[str, Speaker] = field(default_factory=lambda: {"left": "agent", "right": "customer"})
    # IANA zone of the callee (e.g. America/New_York) when known; calling-hour and per-day rules then use it
    # (DST-correct) instead of started_at's fixed offset
    callee_timezone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Call":
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        started = values.get("started_at")
        if isinstance(started, str):
            values["started_at"] = datetime.fromisoformat(started)
        values.setdefault("call_id", "call")
        values.setdefault("agency", "")
        values.setdefault("agent_id", "")
        values.setdefault("account_id", "")
        return cls(**values)


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float | None = None


@dataclass(frozen=True)
class Segment:
    """One stretch of speech by one speaker. Times are seconds from the start of the recording."""

    id: int
    start: float
    end: float
    speaker: Speaker
    text: str  # as recognised (Simplified Chinese), shown to users
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None
    words: tuple[Word, ...] = ()
    flags: tuple[str, ...] = ()  # quality-guard notes, e.g. "repetition_cut"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["words"] = [asdict(w) for w in self.words]
        data["flags"] = list(self.flags)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], default_id: int = 0) -> "Segment":
        return cls(
            id=int(data.get("id", default_id)),
            start=float(data["start"]),
            end=float(data["end"]),
            speaker=data.get("speaker", "unknown"),
            text=str(data.get("text", "")),
            avg_logprob=data.get("avg_logprob"),
            no_speech_prob=data.get("no_speech_prob"),
            compression_ratio=data.get("compression_ratio"),
            words=tuple(Word(**w) for w in data.get("words") or ()),
            flags=tuple(data.get("flags") or ()),
        )


@dataclass(frozen=True)
class Transcript:
    segments: tuple[Segment, ...]
    language: str
    duration: float
    backend: str = ""
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "duration": self.duration,
            "backend": self.backend,
            "model": self.model,
            "segments": [s.to_dict() for s in self.segments],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Transcript":
        segments = tuple(Segment.from_dict(s, i) for i, s in enumerate(data.get("segments") or ()))
        duration = data.get("duration")
        if duration is None:
            duration = max((s.end for s in segments), default=0.0)
        return cls(
            segments=segments,
            language=data.get("language") or "",
            duration=float(duration),
            backend=data.get("backend", ""),
            model=data.get("model", ""),
        )

    @property
    def text(self) -> str:
        return "\n".join(f"{s.speaker}: {s.text}" for s in self.segments)


@dataclass(frozen=True)
class Span:
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class ChannelFeatures:
    """Acoustic measurements of one channel (one speaker)."""

    speaker: Speaker
    speech_spans: tuple[Span, ...]
    speech_seconds: float
    longest_silence_s: float
    loudness_dbfs_mean: float  # over speech frames
    loudness_dbfs_peak: float
    loud_spans: tuple[Span, ...]  # speech louder than the channel's own speech level by a margin
    pitch_mean_hz: float | None
    pitch_std_hz: float | None
    speech_rate_sps: float | None  # syllable-like onsets per second of speech
    # per ≈1 s of speech: (start, end, median level dBFS, median F0 Hz or None); the agitation rule compares
    # these with the speaker's own median (empty in features stored before this field existed)
    speech_levels: tuple[tuple[float, float, float, float | None], ...] = ()


@dataclass(frozen=True)
class AcousticFeatures:
    duration: float
    channels: tuple[ChannelFeatures, ...]
    overtalk_spans: tuple[Span, ...] = ()  # both channels voiced at once
    silence_spans: tuple[Span, ...] = ()  # nobody speaks
    longest_silence_s: float = 0.0

    def channel(self, speaker: Speaker) -> ChannelFeatures | None:
        return next((c for c in self.channels if c.speaker == speaker), None)


@dataclass(frozen=True)
class CallAttempt:
    """One dial attempt in an account's history, for cross-call frequency rules."""

    call_id: str
    account_id: str
    started_at: datetime
    callee_number: str = ""
    debt_id: str | None = None
    answered: bool = True
    conversation: bool = True  # a real conversation with the consumer took place (Reg F 7-day rule)


@dataclass(frozen=True)
class Finding:
    rule_id: str
    category: str
    severity: Severity
    speaker: Speaker | None
    start: float | None
    end: float | None
    text: str  # the evidence: matched text in the original transcript, or a description
    segment_ids: tuple[int, ...] = ()
    pack: str = ""
    pack_version: str = ""
    source: FindingSource = "rule"
    score: float | None = None  # model probability when source == "model"
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["segment_ids"] = list(self.segment_ids)
        return data

    def with_pack(self, pack: str, version: str) -> "Finding":
        return replace(self, pack=pack, pack_version=version)


@dataclass(frozen=True)
class CallScore:
    score: float  # 0..100, 100 = no deductions
    flagged: bool
    fatal: bool
    findings: tuple[Finding, ...]
    pack: str = ""
    pack_version: str = ""
    review_priority: float = 0.0  # raised by severity, customer emotion, complaint intent

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "flagged": self.flagged,
            "fatal": self.fatal,
            "pack": self.pack,
            "pack_version": self.pack_version,
            "review_priority": self.review_priority,
            "findings": [f.to_dict() for f in self.findings],
        }
