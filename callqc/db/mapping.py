"""Database rows ↔ domain objects: a registered recording as a Call, acoustic features as JSON."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

from callqc.db.models import Recording
from qc.domain import AcousticFeatures, Call, ChannelFeatures, Span


def call_from_recording(row: Recording) -> Call:
    """The domain Call of a registered recording, with its original UTC offset restored."""
    started = row.started_at
    if started is not None:
        if started.tzinfo is None:  # SQLite returns naive UTC
            started = started.replace(tzinfo=timezone.utc)
        offset = timezone(timedelta(minutes=row.started_at_offset_min or 0))
        started = started.astimezone(offset)
    return Call(
        call_id=row.call_id or "",
        agency=row.agency or "",
        agent_id=row.agent_id or "",
        account_id=row.account_id or "",
        started_at=started or datetime.fromtimestamp(0, timezone.utc),
        callee_number=row.callee_number or "",
        callee_relation=row.callee_relation or "unknown",
        product=row.product,
        delinquency_bucket=row.delinquency_bucket,
        direction=row.direction or "outbound",
        debt_id=row.debt_id,
        answered=row.answered if row.answered is not None else True,
        duration_s=row.duration_s,
        channel_map=dict(row.channel_map or {}),
    )


def features_to_json(features: AcousticFeatures | None) -> dict[str, Any]:
    return dataclasses.asdict(features) if features is not None else {}


def features_from_json(data: dict[str, Any]) -> AcousticFeatures | None:
    if not data:
        return None

    def spans(values) -> tuple[Span, ...]:
        return tuple(Span(float(v["start"]), float(v["end"])) for v in values or ())

    channels = tuple(
        ChannelFeatures(**{**channel, "speech_spans": spans(channel.get("speech_spans")),
                           "loud_spans": spans(channel.get("loud_spans")),
                           "speech_levels": tuple(tuple(level) for level in channel.get("speech_levels") or ())})
        for channel in data.get("channels") or ()
    )
    return AcousticFeatures(
        duration=float(data.get("duration", 0.0)), channels=channels,
        overtalk_spans=spans(data.get("overtalk_spans")), silence_spans=spans(data.get("silence_spans")),
        longest_silence_s=float(data.get("longest_silence_s", 0.0)))
