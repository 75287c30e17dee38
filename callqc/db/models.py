"""SQLAlchemy 2 models. Alembic migrations in callqc/db/migrations mirror this file exactly.

Timestamps are stored as UTC (DateTime(timezone=True)); a recording's original UTC offset is kept in
`started_at_offset_min` because SQLite does not keep offsets.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """DateTime(timezone=True) that always stores UTC and reads back aware UTC values.

    SQLite keeps no offset (it would store 09:00+08:00 as 09:00), PostgreSQL converts: this makes both
    behave like PostgreSQL. Naive values are taken to be UTC already."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class PipelineRun(Base):
    __tablename__ = "pipeline_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # ingest | nightly | models-train | report ...
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | completed | failed
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    prefect_flow_run_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Recording(Base):
    """One object version in the bucket. status: registered | rejected | transcribed | scored | failed."""

    __tablename__ = "recordings"
    __table_args__ = (
        UniqueConstraint("bucket", "key", "etag", name="uq_recordings_object_version"),
        Index("ix_recordings_account_started", "account_id", "started_at"),
        Index("ix_recordings_agency_started", "agency", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(63))
    key: Mapped[str] = mapped_column(String(1024))
    etag: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)  # 2, 3 ... when the object's etag changes
    size: Mapped[int | None] = mapped_column(Integer)
    call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    agency: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    account_id: Mapped[str | None] = mapped_column(String(64))
    debt_id: Mapped[str | None] = mapped_column(String(64))
    callee_number: Mapped[str | None] = mapped_column(String(32))
    callee_relation: Mapped[str | None] = mapped_column(String(16))
    product: Mapped[str | None] = mapped_column(String(32))
    delinquency_bucket: Mapped[str | None] = mapped_column(String(16))
    direction: Mapped[str | None] = mapped_column(String(16))
    answered: Mapped[bool] = mapped_column(Boolean, default=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at_offset_min: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    channels: Mapped[int | None] = mapped_column(Integer)
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    audio_format: Mapped[str | None] = mapped_column(String(16))
    channel_map: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metadata_source: Mapped[str | None] = mapped_column(String(16))  # sidecar | s3_metadata | manifest
    raw_metadata: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="registered", index=True)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    ingest_run_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_runs.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    transcripts: Mapped[list["TranscriptRow"]] = relationship(back_populates="recording")
    scores: Mapped[list["CallScoreRow"]] = relationship(back_populates="recording")


class TranscriptRow(Base):
    __tablename__ = "transcripts"
    __table_args__ = (UniqueConstraint("recording_id", "backend", "model", name="uq_transcripts_recording_model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    backend: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(256))
    language: Mapped[str | None] = mapped_column(String(8))
    duration_s: Mapped[float | None] = mapped_column(Float)
    processing_s: Mapped[float | None] = mapped_column(Float)
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)  # AcousticFeatures as JSON
    run_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_runs.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    recording: Mapped[Recording] = relationship(back_populates="transcripts")
    segments: Mapped[list["SegmentRow"]] = relationship(
        back_populates="transcript", order_by="SegmentRow.idx", cascade="all, delete-orphan"
    )


class SegmentRow(Base):
    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("transcript_id", "idx", name="uq_segments_transcript_idx"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    speaker: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    avg_logprob: Mapped[float | None] = mapped_column(Float)
    no_speech_prob: Mapped[float | None] = mapped_column(Float)
    compression_ratio: Mapped[float | None] = mapped_column(Float)
    flags: Mapped[list[Any]] = mapped_column(default=list)

    transcript: Mapped[TranscriptRow] = relationship(back_populates="segments")


class CallScoreRow(Base):
    __tablename__ = "call_scores"
    __table_args__ = (
        UniqueConstraint("recording_id", "pack", "pack_version", name="uq_call_scores_recording_pack"),
        Index("ix_call_scores_flagged_priority", "flagged", "review_priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    transcript_id: Mapped[int | None] = mapped_column(ForeignKey("transcripts.id", ondelete="SET NULL"))
    pack: Mapped[str] = mapped_column(String(64))
    pack_version: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    fatal: Mapped[bool] = mapped_column(Boolean, default=False)
    review_priority: Mapped[float] = mapped_column(Float, default=0.0)
    # the worst severity of the call's findings when scored (0 none, 1 info, 2 minor, 3 major, 4 critical):
    # the review queue's order is fatal, severity_rank, score. Set from `findings` on insert (see below).
    severity_rank: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    customer_emotion: Mapped[str | None] = mapped_column(String(16))  # calm | angry | distressed
    complaint_intent: Mapped[bool] = mapped_column(Boolean, default=False)
    review_status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | in_review | done
    run_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_runs.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    recording: Mapped[Recording] = relationship(back_populates="scores")
    findings: Mapped[list["FindingRow"]] = relationship(back_populates="call_score", cascade="all, delete-orphan")


# The review queue's order (fatal, worst severity, lowest score), so a page is read off the index, not sorted.
Index("ix_call_scores_queue_order", CallScoreRow.flagged, CallScoreRow.fatal.desc(), CallScoreRow.severity_rank.desc(),
      CallScoreRow.score)
# The queue's counts per review status, read from the index alone.
Index("ix_call_scores_queue_counts", CallScoreRow.flagged, CallScoreRow.review_status, CallScoreRow.recording_id)

SEVERITY_RANK = {"info": 1, "minor": 2, "major": 3, "critical": 4}


@event.listens_for(CallScoreRow, "before_insert")
def _set_severity_rank(_mapper, _connection, score: CallScoreRow) -> None:  # noqa: ANN001
    """A score inserted with its findings (the pipeline) stores their worst severity for the queue's order."""
    if not score.severity_rank and score.findings:
        score.severity_rank = max(SEVERITY_RANK.get(f.severity, 0) for f in score.findings)


class FindingRow(Base):
    """A rule/model finding, or one a reviewer added (source = reviewer, call_score_id may be set)."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_recording_category", "recording_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_score_id: Mapped[int | None] = mapped_column(ForeignKey("call_scores.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    speaker: Mapped[str | None] = mapped_column(String(16))
    start_s: Mapped[float | None] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float)
    segment_ids: Mapped[list[Any]] = mapped_column(default=list)
    text: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="rule")  # rule | model | reviewer
    model_score: Mapped[float | None] = mapped_column(Float)
    pack: Mapped[str] = mapped_column(String(64), default="")
    pack_version: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | confirmed | rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    call_score: Mapped[CallScoreRow | None] = relationship(back_populates="findings")


# The review queue's rule and category filters: the matching scores from the index alone.
Index("ix_findings_queue_rule", FindingRow.rule_id, FindingRow.call_score_id)
Index("ix_findings_queue_category", FindingRow.category, FindingRow.call_score_id)


class Review(Base):
    """One reviewer action: confirm / reject a finding, add a missed one, or a note on the call."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id", ondelete="SET NULL"), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # confirm | reject | add | note
    reviewer: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    label: Mapped[str | None] = mapped_column(String(64))  # category for an added finding
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Appeal(Base):
    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), index=True)
    appellant: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | upheld | overturned
    resolver: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ComplaintRow(Base):
    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_no: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    complaint_type: Mapped[str] = mapped_column(String(64), default="")
    business_type: Mapped[str] = mapped_column(String(64), default="")
    content: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(64))  # classified from the content
    agency: Mapped[str | None] = mapped_column(String(64))
    source_file: Mapped[str | None] = mapped_column(String(512))
    source_row: Mapped[int | None] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ComplaintCallLink(Base):
    __tablename__ = "complaint_call_links"
    __table_args__ = (UniqueConstraint("complaint_id", "recording_id", name="uq_complaint_call"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    days_before: Mapped[float | None] = mapped_column(Float)
    finding_categories: Mapped[list[Any]] = mapped_column(default=list)


class RectificationItem(Base):
    """问题-督导-整改-问责-效果: one issue raised against an agency, tracked to its measured effect."""

    __tablename__ = "rectification_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # warning | finding
    source_ref: Mapped[str | None] = mapped_column(String(128))
    agency: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(256))
    description: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str | None] = mapped_column(String(64))
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | in_progress | done | closed
    accountability_action: Mapped[str | None] = mapped_column(Text)
    effect_rate_before: Mapped[float | None] = mapped_column(Float)
    effect_rate_after: Mapped[float | None] = mapped_column(Float)
    effect_measured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # reviewer | manager | admin | agency_viewer
    agency: Mapped[str | None] = mapped_column(String(64))  # set for agency_viewer
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in session of the review app. The browser's cookie holds a random token; only its SHA-256 is
    stored. Ends at logout or `users disable` (revoked_at), after web.session_idle_minutes without a request,
    or web.session_max_hours after sign-in, whichever comes first."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unmasked: Mapped[list[Any]] = mapped_column(default=list)  # recording ids shown in clear (audited)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))  # unmask | confirm | reject | add | note | appeal ...
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    client_ip: Mapped[str | None] = mapped_column(String(64))


class ModelVersion(Base):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # violation | emotion | agitation
    storage_key: Mapped[str] = mapped_column(String(512))
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    macro_f1: Mapped[float | None] = mapped_column(Float)
    data_hash: Mapped[str] = mapped_column(String(64))
    promoted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
