"""The nightly QC stages as plain functions: no Prefect here, so each stage runs and tests on its own.

A recording (one object version: bucket, key, etag, registered by ingest) goes through:

    find_backlog ─► fetch_audio ─► transcribe_recording ─► save_transcript ─► score_recording ─► save_score
        (DB)           (S3)            (asr/)                  (DB)            (qc/)            (DB)
    any stage failing ─► record_failure (status "failed" + a reason that starts with its kind)

Every stage that writes is idempotent: the unique keys of the database (a transcript per recording and model,
a score per recording and rule-pack version) decide whether there is work left, so a re-run after a crash or
a kill does no finished work again and never creates a duplicate row. flows/nightly.py orchestrates these.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Iterable, Mapping

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from callqc.db import session_scope
from callqc.db.mapping import call_from_recording, features_from_json, features_to_json
from callqc.db.models import CallScoreRow, FindingRow, Recording, SegmentRow, TranscriptRow
from callqc.failures import PERMANENT_FAILURE_KINDS, RecordingChangedError, failure_kind
from callqc.settings import Settings
from qc.domain import AcousticFeatures, Call, CallAttempt, CallScore, Transcript

# Recording.status values this module sets (ingest sets "registered" and "rejected").
TRANSCRIBED, SCORED, FAILED = "transcribed", "scored", "failed"

HISTORY_LOOKBACK = timedelta(days=31)  # frequency rules look back at most a month (7-in-7, daily limits)


@dataclass(frozen=True)
class WorkItem:
    """What the pipeline knows about one registered recording before processing it."""

    recording_id: int
    bucket: str
    key: str
    etag: str
    call_id: str
    duration_s: float
    channel_map: dict[str, str]
    transcript_id: int | None = None  # set when an earlier run already stored the transcript
    agency: str = ""  # its agency code: selects the transcription language and the rule pack


@dataclass(frozen=True)
class Backlog:
    """The recordings of a date range: what is left to do, and what an earlier run already finished."""

    pending: tuple[WorkItem, ...]
    already_done: int
    failed_before: tuple[tuple[str, str], ...]  # (key, reason) of permanent failures from earlier runs
    rejected: tuple[tuple[str, str], ...]  # (key, reason) rejected by ingest


@dataclass(frozen=True)
class ScoreOutcome:
    recording_id: int
    key: str
    call_id: str
    duration_s: float
    score: float
    flagged: bool
    fatal: bool
    categories: tuple[str, ...]


# ---- which recordings need work ---------------------------------------------------------------------

def day_prefix_filters(days: Iterable[date], agencies: Iterable[str] | None):
    """SQL conditions matching keys `{agency}/{YYYY-MM-DD}/...` for the given days (and agencies)."""
    day_texts = [d.isoformat() for d in days]
    conditions = []
    for day in day_texts:
        if agencies:
            conditions.extend(Recording.key.like(f"{agency}/{day}/%") for agency in agencies)
        else:
            conditions.append(Recording.key.like(f"%/{day}/%"))
    return or_(*conditions)


def find_backlog(factory: sessionmaker[Session], bucket: str, days: Iterable[date],
                 agencies: Iterable[str] | None, backend: str, model: str, pack: str,
                 pack_version: str, agency_packs: Mapping[str, tuple[str, str]] | None = None) -> Backlog:
    """The newest version of every recording of the days, split into pending / done / failed / rejected.

    Done means scored with its rule-pack version: `agency_packs[agency]` = (pack, version) for agencies with
    their own pack, else (pack, pack_version). Pending items carry the id of a transcript already stored for
    this backend and model, so a rescore does not transcribe again."""
    agency_packs = agency_packs or {}
    days = list(days)
    with session_scope(factory) as session:
        newest_version = (
            select(Recording.key, func.max(Recording.version).label("version"))
            .where(Recording.bucket == bucket, day_prefix_filters(days, agencies))
            .group_by(Recording.key)
            .subquery()
        )
        recordings = session.scalars(
            select(Recording)
            .join(newest_version, and_(Recording.key == newest_version.c.key,
                                       Recording.version == newest_version.c.version))
            .where(Recording.bucket == bucket)
            .order_by(Recording.key)
        ).all()
        ids = [r.id for r in recordings]
        scored_with = set(session.execute(
            select(CallScoreRow.recording_id, CallScoreRow.pack, CallScoreRow.pack_version)
            .where(CallScoreRow.recording_id.in_(ids))
        ).tuples()) if ids else set()
        scored = {r.id for r in recordings
                  if (r.id, *agency_packs.get(r.agency or "", (pack, pack_version))) in scored_with}
        transcribed = dict(session.execute(
            select(TranscriptRow.recording_id, TranscriptRow.id).where(
                TranscriptRow.recording_id.in_(ids), TranscriptRow.backend == backend,
                TranscriptRow.model == model)
        ).all()) if ids else {}

        pending, failed_before, rejected, done = [], [], [], 0
        for recording in recordings:
            if recording.status == "rejected":
                rejected.append((recording.key, recording.failure_reason or "rejected by ingest"))
            elif recording.id in scored:
                done += 1
            elif recording.status == FAILED and failure_kind(recording.failure_reason) in PERMANENT_FAILURE_KINDS:
                failed_before.append((recording.key, recording.failure_reason or ""))
            else:
                pending.append(WorkItem(
                    recording_id=recording.id, bucket=recording.bucket, key=recording.key, etag=recording.etag,
                    call_id=recording.call_id or recording.key, duration_s=float(recording.duration_s or 0.0),
                    channel_map=dict(recording.channel_map or {}), transcript_id=transcribed.get(recording.id),
                    agency=recording.agency or ""))
    return Backlog(tuple(pending), done, tuple(failed_before), tuple(rejected))


# ---- S3 --------------------------------------------------------------------------------------------

def fetch_audio(store, item: WorkItem) -> bytes:
    """The recording's bytes, checked against the registered etag when that is a plain MD5."""
    data = store.get_bytes(item.key)
    is_plain_md5 = len(item.etag) == 32 and "-" not in item.etag
    if is_plain_md5 and hashlib.md5(data).hexdigest() != item.etag:
        raise RecordingChangedError(
            f"s3://{item.bucket}/{item.key} changed since ingest (etag {item.etag} registered); "
            "the next ingest registers the new upload as a new version")
    return data


# ---- transcription ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TranscribedAudio:
    transcript: Transcript
    features: AcousticFeatures | None
    processing_s: float
    backend: str  # the configured backend and model: with the recording, the transcript's identity
    model: str


def whisper_threads(settings: Settings) -> int:
    """Whisper's CPU threads for one transcription: asr.cpu_threads, or with "auto" this machine's cores shared
    by the transcriptions running on it at once — prefect.transcribe_concurrency worker processes of a local
    cluster, or the threads of this Dask worker in an external cluster (one worker process per machine)."""
    from asr.backends import available_cores

    if settings.asr.cpu_threads != "auto":
        return settings.asr.cpu_threads
    sharing = settings.prefect.transcribe_concurrency
    if settings.prefect.dask_address:
        try:
            from distributed import get_worker

            sharing = get_worker().state.nthreads
        except ValueError:  # not inside a Dask worker (a thread runner)
            pass
    return max(1, available_cores() // sharing)


def transcribe_options(settings: Settings, agency: str):
    """The TranscribeOptions of an agency's calls: settings.asr, this worker's share of the cores, the agency's
    language and vocabulary."""
    from asr.transcribe import TranscribeOptions

    return TranscribeOptions.from_settings(settings.asr, cpu_threads=whisper_threads(settings),
                                           **settings.transcription_for(agency))


def transcribe_recording(settings: Settings, item: WorkItem, audio: bytes) -> TranscribedAudio:
    """asr/ on the recording's bytes with its channel map (per-channel Whisper + acoustic features)."""
    from asr.transcribe import transcribe_audio

    options = transcribe_options(settings, item.agency)
    started = time.perf_counter()
    result = transcribe_audio(audio, options, channel_map=item.channel_map or None, name=item.key)
    return TranscribedAudio(result.transcript, result.features, time.perf_counter() - started,
                            settings.asr.backend, settings.asr.model)


def save_transcript(factory: sessionmaker[Session], item: WorkItem, transcribed: TranscribedAudio,
                    run_id: int | None) -> int:
    """Store the transcript and its segments once per (recording, backend, model); return its id."""
    transcript, features = transcribed.transcript, transcribed.features
    existing = _transcript_id(factory, item.recording_id, transcribed.backend, transcribed.model)
    if existing is not None:
        return existing
    try:
        with session_scope(factory) as session:
            row = TranscriptRow(
                recording_id=item.recording_id, backend=transcribed.backend, model=transcribed.model,
                language=transcript.language, duration_s=transcript.duration, processing_s=transcribed.processing_s,
                features=features_to_json(features), run_id=run_id,
                segments=[SegmentRow(idx=i, start_s=s.start, end_s=s.end, speaker=s.speaker, text=s.text,
                                     avg_logprob=s.avg_logprob, no_speech_prob=s.no_speech_prob,
                                     compression_ratio=s.compression_ratio, flags=list(s.flags))
                          for i, s in enumerate(transcript.segments)])
            session.add(row)
            recording = session.get(Recording, item.recording_id)
            if recording.status != SCORED:
                recording.status, recording.failure_reason = TRANSCRIBED, None
            session.flush()
            return row.id
    except IntegrityError:  # another worker stored it first
        existing = _transcript_id(factory, item.recording_id, transcribed.backend, transcribed.model)
        if existing is None:
            raise
        return existing


def _transcript_id(factory: sessionmaker[Session], recording_id: int, backend: str, model: str) -> int | None:
    with session_scope(factory) as session:
        return session.scalar(select(TranscriptRow.id).where(
            TranscriptRow.recording_id == recording_id, TranscriptRow.backend == backend,
            TranscriptRow.model == model))


def load_transcript(factory: sessionmaker[Session], transcript_id: int) -> tuple[Transcript, AcousticFeatures | None]:
    with session_scope(factory) as session:
        row = session.get(TranscriptRow, transcript_id)
        segments = [{"id": s.idx, "start": s.start_s, "end": s.end_s, "speaker": s.speaker, "text": s.text,
                     "avg_logprob": s.avg_logprob, "no_speech_prob": s.no_speech_prob,
                     "compression_ratio": s.compression_ratio, "flags": s.flags or []} for s in row.segments]
        transcript = Transcript.from_dict({"segments": segments, "language": row.language or "",
                                           "duration": row.duration_s, "backend": row.backend, "model": row.model})
        return transcript, features_from_json(row.features or {})


# ---- scoring ---------------------------------------------------------------------------------------

def rule_pack(settings: Settings, name: str):
    """A rule pack as the nightly and `callqc score` load it: the display names of the agencies scored with it
    (`agencies.*.name`, and how recognition writes them, `agencies.*.heard_as`) added to its "@agency_names"
    lexicon, which the self-identification rules use. load_pack caches the compiled pack per file and lexicons."""
    from qc.rules.pack import load_pack, resolve_pack_path

    wanted = resolve_pack_path(name).resolve()
    names = [name for code, agency in settings.agencies.items()
             if agency.name and resolve_pack_path(settings.rule_pack_for(code)).resolve() == wanted
             for name in (agency.name, *agency.heard_as)]
    return load_pack(name, lexicons={"agency_names": names} if names else None)


def load_call(factory: sessionmaker[Session], recording_id: int) -> Call:
    with session_scope(factory) as session:
        return call_from_recording(session.get(Recording, recording_id))


def load_history(factory: sessionmaker[Session], call: Call) -> tuple[CallAttempt, ...]:
    """The account's other calls in the month before this one (one attempt per call id), oldest first."""
    if not call.account_id:
        return ()
    since = call.started_at - HISTORY_LOOKBACK
    with session_scope(factory) as session:
        rows = session.scalars(
            select(Recording)
            .where(Recording.account_id == call.account_id, Recording.call_id != call.call_id,
                   Recording.status != "rejected", Recording.started_at >= since.astimezone(timezone.utc),
                   Recording.started_at <= call.started_at.astimezone(timezone.utc))
            .order_by(Recording.started_at, Recording.version.desc())
        ).all()
        attempts: dict[str, CallAttempt] = {}
        for row in rows:
            call_id = row.call_id or row.key
            attempts.setdefault(call_id, CallAttempt(
                call_id=call_id, account_id=row.account_id or "", started_at=call_from_recording(row).started_at,
                callee_number=row.callee_number or "", debt_id=row.debt_id, answered=bool(row.answered),
                conversation=bool(row.answered)))
    return tuple(attempts.values())


@dataclass(frozen=True)
class ScoredCall:
    score: CallScore
    model_version: str | None = None  # the promoted models' versions, None when scored by rules only
    customer_emotion: str | None = None  # calm | angry | distressed, from the emotion model
    complaint_intent: bool = False


def score_recording(call: Call, transcript: Transcript, features: AcousticFeatures | None, pack,
                    history: tuple[CallAttempt, ...] = (), scorer=None, options=None) -> ScoredCall:
    """Rules over the transcript; with a promoted ModelScorer its segment scores feed the model_score rules and
    the customer's emotion and complaint intent raise the review priority."""
    from qc.scoring import score_call

    model_scores = scorer.segment_scores(transcript, features, call.callee_relation) if scorer else None
    call_score = score_call(call, transcript, pack, features=features, history=history,
                            model_scores=model_scores, options=options)
    if scorer is None:
        return ScoredCall(call_score)
    customer = scorer.customer_state(transcript, features)
    call_score = dataclasses.replace(call_score, review_priority=call_score.review_priority + customer.priority_boost)
    return ScoredCall(call_score, scorer.version, customer.emotion, customer.complaint_intent)


def save_score(factory: sessionmaker[Session], item: WorkItem, transcript_id: int, scored: ScoredCall,
               run_id: int | None) -> ScoreOutcome:
    """Store the score and its findings once per (recording, pack, pack version); mark the recording scored."""
    score = scored.score
    with session_scope(factory) as session:
        row = session.scalar(select(CallScoreRow).where(
            CallScoreRow.recording_id == item.recording_id, CallScoreRow.pack == score.pack,
            CallScoreRow.pack_version == score.pack_version))
        if row is None:
            row = CallScoreRow(
                recording_id=item.recording_id, transcript_id=transcript_id, pack=score.pack,
                pack_version=score.pack_version, model_version=scored.model_version, score=score.score,
                flagged=score.flagged, fatal=score.fatal, review_priority=score.review_priority, run_id=run_id,
                customer_emotion=scored.customer_emotion, complaint_intent=scored.complaint_intent,
                findings=[FindingRow(
                    recording_id=item.recording_id, rule_id=f.rule_id, category=f.category, severity=f.severity,
                    speaker=f.speaker, start_s=f.start, end_s=f.end, segment_ids=list(f.segment_ids), text=f.text,
                    description=f.description, source=f.source, model_score=f.score,
                    pack=f.pack or score.pack, pack_version=f.pack_version or score.pack_version)
                    for f in score.findings])
            session.add(row)
        recording = session.get(Recording, item.recording_id)
        recording.status, recording.failure_reason = SCORED, None
        session.flush()
        return _outcome(recording, row)


def _outcome(recording: Recording, row: CallScoreRow) -> ScoreOutcome:
    return ScoreOutcome(recording.id, recording.key, recording.call_id or recording.key,
                        float(recording.duration_s or 0.0), row.score, row.flagged, row.fatal,
                        tuple(sorted({f.category for f in row.findings})))


def score_outcomes(factory: sessionmaker[Session], recording_ids: Iterable[int], pack: str,
                   pack_version: str, agency_packs: Mapping[str, tuple[str, str]] | None = None) -> list[ScoreOutcome]:
    """The stored scores of these recordings for their rule-pack version (see find_backlog), ordered by key."""
    agency_packs = agency_packs or {}
    with session_scope(factory) as session:
        rows = session.execute(
            select(Recording, CallScoreRow).join(CallScoreRow, CallScoreRow.recording_id == Recording.id)
            .where(Recording.id.in_(list(recording_ids)))
            .order_by(Recording.key)).all()
        return [_outcome(recording, score) for recording, score in rows
                if (score.pack, score.pack_version) == agency_packs.get(recording.agency or "", (pack, pack_version))]


# ---- failures ----------------------------------------------------------------------------------

def record_failure(factory: sessionmaker[Session], recording_id: int, reason: str) -> None:
    with session_scope(factory) as session:
        recording = session.get(Recording, recording_id)
        if recording.status != SCORED:
            recording.status, recording.failure_reason = FAILED, reason
