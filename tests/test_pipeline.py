"""The plain pipeline stages (callqc.pipeline) without Prefect or Whisper: idempotent writes on SQLite and
PostgreSQL, the backlog a run works on, failure reasons, the etag check against the real S3 server."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from callqc import failures, pipeline
from callqc.summary import RunSummary
from callqc.db import mapping
from callqc.db import session_scope
from callqc.db.models import CallScoreRow, FindingRow, Recording, SegmentRow, TranscriptRow
from qc.domain import AcousticFeatures, CallScore, ChannelFeatures, Finding, Segment, Span, Transcript

DAY = date(2026, 11, 20)
CST = timezone(timedelta(hours=8))


def _recording(session, key: str, status: str = "registered", version: int = 1, reason: str | None = None,
               account: str = "ACC-1", started: datetime | None = None) -> Recording:
    row = Recording(bucket="recordings", key=key, etag=f"etag-{key}-{version}", version=version,
                    call_id=key.rsplit("/", 1)[-1].split(".")[0], agency=key.split("/")[0], agent_id="A1",
                    account_id=account, status=status, failure_reason=reason, duration_s=60.0,
                    started_at=started or datetime(2026, 11, 20, 10, 0, tzinfo=CST),
                    started_at_offset_min=480, channel_map={"left": "agent", "right": "customer"})
    session.add(row)
    session.flush()
    return row


def _item(row: Recording) -> pipeline.WorkItem:
    return pipeline.WorkItem(row.id, row.bucket, row.key, row.etag, row.call_id, 60.0, dict(row.channel_map))


FEATURES = AcousticFeatures(
    duration=60.0,
    channels=(ChannelFeatures("agent", (Span(0.5, 7.5), Span(9.0, 12.0)), 10.0, 3.2, -21.0, -3.5, (Span(9.5, 10.0),),
                              180.0, 20.0, 4.1),
              ChannelFeatures("customer", (), 0.0, 60.0, -60.0, -55.0, (), None, None, None)),
    overtalk_spans=(Span(9.0, 9.2),), silence_spans=(Span(7.5, 9.0),), longest_silence_s=1.5)
TRANSCRIPT = Transcript(
    segments=(Segment(0, 0.5, 7.5, "agent", "您好，我是恒信资产的工号4712", -0.2, 0.01, 1.1),
              Segment(1, 8.0, 9.5, "customer", "嗯，你说", -0.3, 0.02, 1.0, flags=("low_confidence",))),
    language="zh", duration=60.0, backend="faster-whisper", model="base")
TRANSCRIBED = pipeline.TranscribedAudio(TRANSCRIPT, FEATURES, 3.5, "faster-whisper", "base")
SCORE = CallScore(score=55.0, flagged=True, fatal=False, pack="cn_collection", pack_version="1",
                  findings=(Finding("threat.workplace", "threat", "major", "agent", 0.5, 7.5, "去你单位", (0,)),
                            Finding("dead_air", "dead_air", "minor", None, 7.5, 9.0, "1.5 s")),
                  review_priority=40.0)


def test_features_survive_the_json_column():
    assert mapping.features_from_json(mapping.features_to_json(FEATURES)) == FEATURES
    assert mapping.features_from_json({}) is None


def test_transcript_and_score_are_stored_once(db_session_factory):
    with session_scope(db_session_factory) as session:
        item = _item(_recording(session, "hengxin/2026-11-20/c1.flac"))

    first = pipeline.save_transcript(db_session_factory, item, TRANSCRIBED, run_id=None)
    assert pipeline.save_transcript(db_session_factory, item, TRANSCRIBED, run_id=None) == first
    transcript, features = pipeline.load_transcript(db_session_factory, first)
    assert features == FEATURES
    assert [(s.start, s.end, s.speaker, s.text, s.flags) for s in transcript.segments] == \
        [(s.start, s.end, s.speaker, s.text, s.flags) for s in TRANSCRIPT.segments]

    scored = pipeline.ScoredCall(SCORE, model_version=None, customer_emotion="angry", complaint_intent=True)
    outcome = pipeline.save_score(db_session_factory, item, first, scored, run_id=None)
    again = pipeline.save_score(db_session_factory, item, first, scored, run_id=None)
    assert outcome == again
    assert (outcome.score, outcome.flagged, outcome.categories) == (55.0, True, ("dead_air", "threat"))
    with session_scope(db_session_factory) as session:
        counts = [session.scalar(select(func.count()).select_from(m))
                  for m in (TranscriptRow, SegmentRow, CallScoreRow, FindingRow)]
        assert counts == [1, 2, 1, 2]
        recording = session.get(Recording, item.recording_id)
        assert (recording.status, recording.failure_reason) == ("scored", None)
        row = session.scalar(select(CallScoreRow))
        assert (row.customer_emotion, row.complaint_intent, row.review_priority) == ("angry", True, 40.0)
    assert pipeline.score_outcomes(db_session_factory, [item.recording_id], "cn_collection", "1") == [outcome]
    assert pipeline.score_outcomes(db_session_factory, [item.recording_id], "cn_collection", "2") == []

    pipeline.record_failure(db_session_factory, item.recording_id, "storage: late fault")
    with session_scope(db_session_factory) as session:
        assert session.get(Recording, item.recording_id).status == "scored"  # a finished call stays finished


def test_backlog_splits_the_day_into_pending_done_failed_and_rejected(db_session_factory):
    with session_scope(db_session_factory) as session:
        done = _recording(session, "hengxin/2026-11-20/done.flac")
        transcribed = _recording(session, "hengxin/2026-11-20/half.flac", status="transcribed")
        _recording(session, "hengxin/2026-11-20/new.flac")
        _recording(session, "lianzhong/2026-11-20/retry.flac", status="failed", reason="storage: timed out")
        _recording(session, "lianzhong/2026-11-20/broken.flac", status="failed", reason="audio: corrupt: x")
        _recording(session, "lianzhong/2026-11-20/nosidecar.flac", status="rejected", reason="no metadata")
        _recording(session, "hengxin/2026-11-20/v.flac", status="scored", version=1)
        _recording(session, "hengxin/2026-11-20/v.flac", version=2)  # re-uploaded: only v2 counts
        _recording(session, "hengxin/2026-11-21/other-day.flac")
        done_item, half_item = _item(done), _item(transcribed)
    pipeline.save_transcript(db_session_factory, done_item, TRANSCRIBED, None)
    transcript_id = pipeline.save_transcript(db_session_factory, half_item, TRANSCRIBED, None)
    pipeline.save_score(db_session_factory, done_item, transcript_id, pipeline.ScoredCall(SCORE), None)

    backlog = pipeline.find_backlog(db_session_factory, "recordings", [DAY], None, "faster-whisper", "base",
                                    "cn_collection", "1")
    pending = {item.key.rsplit("/", 1)[-1]: item for item in backlog.pending}
    assert sorted(pending) == ["half.flac", "new.flac", "retry.flac", "v.flac"]
    assert pending["half.flac"].transcript_id == transcript_id and pending["new.flac"].transcript_id is None
    assert backlog.already_done == 1
    assert backlog.failed_before == (("lianzhong/2026-11-20/broken.flac", "audio: corrupt: x"),)
    assert backlog.rejected == (("lianzhong/2026-11-20/nosidecar.flac", "no metadata"),)

    only_hengxin = pipeline.find_backlog(db_session_factory, "recordings", [DAY], ["hengxin"], "faster-whisper",
                                         "base", "cn_collection", "1")
    assert all(item.key.startswith("hengxin/") for item in only_hengxin.pending)
    new_pack = pipeline.find_backlog(db_session_factory, "recordings", [DAY], None, "faster-whisper", "base",
                                     "cn_collection", "2")
    assert new_pack.already_done == 0 and len(new_pack.pending) == 5  # a new pack version rescores


def test_an_agency_with_its_own_rule_pack_is_done_only_when_scored_with_that_pack(db_session_factory):
    with session_scope(db_session_factory) as session:
        us_item = _item(_recording(session, "acme-recovery/2026-11-20/us1.flac"))
        cn_item = _item(_recording(session, "hengxin/2026-11-20/cn1.flac"))
    for item, pack in ((us_item, "us_fdcpa"), (cn_item, "cn_collection")):
        transcript_id = pipeline.save_transcript(db_session_factory, item, TRANSCRIBED, None)
        score = CallScore(score=100.0, flagged=False, fatal=False, findings=(), pack=pack, pack_version="1")
        pipeline.save_score(db_session_factory, item, transcript_id, pipeline.ScoredCall(score), None)
    agency_packs = {"acme-recovery": ("us_fdcpa", "1")}

    backlog = pipeline.find_backlog(db_session_factory, "recordings", [DAY], None, "faster-whisper", "base",
                                    "cn_collection", "1", agency_packs)
    assert backlog.already_done == 2 and backlog.pending == ()
    us_pack_changed = pipeline.find_backlog(db_session_factory, "recordings", [DAY], None, "faster-whisper",
                                            "base", "cn_collection", "1", {"acme-recovery": ("us_fdcpa", "2")})
    assert [item.key for item in us_pack_changed.pending] == ["acme-recovery/2026-11-20/us1.flac"]
    assert us_pack_changed.pending[0].agency == "acme-recovery"
    outcomes = pipeline.score_outcomes(db_session_factory, [us_item.recording_id, cn_item.recording_id],
                                       "cn_collection", "1", agency_packs)
    assert len(outcomes) == 2


def test_history_is_the_accounts_other_calls_of_the_month_before(db_session_factory):
    with session_scope(db_session_factory) as session:
        this = _recording(session, "hengxin/2026-11-20/now.flac", started=datetime(2026, 11, 20, 10, tzinfo=CST))
        _recording(session, "hengxin/2026-11-19/yesterday.flac", started=datetime(2026, 11, 19, 21, tzinfo=CST))
        _recording(session, "hengxin/2026-10-01/old.flac", started=datetime(2026, 10, 1, 10, tzinfo=CST))
        _recording(session, "hengxin/2026-11-20/later.flac", started=datetime(2026, 11, 20, 18, tzinfo=CST))
        _recording(session, "hengxin/2026-11-20/other.flac", account="ACC-2")
        recording_id = this.id
    call = pipeline.load_call(db_session_factory, recording_id)
    assert call.started_at == datetime(2026, 11, 20, 10, tzinfo=CST) and call.started_at.utcoffset() == \
        timedelta(hours=8)
    history = pipeline.load_history(db_session_factory, call)
    assert [(a.call_id, a.started_at.hour) for a in history] == [("yesterday", 21)]


def test_failure_reasons_say_what_kind_of_fault_it_was():
    from sqlalchemy.exc import OperationalError

    from asr.audio import AudioError
    from callqc.ingest import IngestError
    from callqc.storage import StorageError

    audio = AudioError("corrupt", "hengxin/x.flac: audio data cannot be decoded")
    storage = StorageError("get s3://recordings/x.flac failed — connection refused")
    try:
        raise IngestError("ingest stopped") from storage
    except IngestError as exc:
        ingest = exc
    database = OperationalError("INSERT", {}, Exception("database is locked"))
    changed = failures.RecordingChangedError("s3://recordings/x.flac changed since ingest")

    assert failures.failure_reason(audio).startswith("audio: ") and "x.flac" in failures.failure_reason(audio)
    assert failures.failure_reason(storage).startswith("storage: ")
    assert failures.failure_reason(database).startswith("database: ")
    assert failures.failure_reason(changed).startswith("changed: ")
    assert failures.failure_reason(ValueError("boom")) == "error: boom"
    assert [failures.is_transient(e) for e in (audio, storage, ingest, database, changed, ValueError())] == \
        [False, True, True, True, False, False]
    assert failures.failure_kind("audio: x") in failures.PERMANENT_FAILURE_KINDS
    assert failures.failure_kind("storage: x") not in failures.PERMANENT_FAILURE_KINDS


def test_fetch_checks_the_registered_etag(store):
    key = "hengxin/2026-11-20/c1.flac"
    etag = store.put_bytes(key, b"first upload")
    item = pipeline.WorkItem(1, store.bucket, key, etag, "c1", 60.0, {})
    assert pipeline.fetch_audio(store, item) == b"first upload"
    store.put_bytes(key, b"replaced by the agency")
    with pytest.raises(failures.RecordingChangedError, match="changed since ingest"):
        pipeline.fetch_audio(store, item)


def test_run_summary_counts_and_markdown():
    flagged = pipeline.ScoreOutcome(1, "hengxin/2026-11-20/a.flac", "a", 1800.0, 40.0, True, True, ("threat",))
    passed = pipeline.ScoreOutcome(2, "hengxin/2026-11-20/b.flac", "b", 1800.0, 95.0, False, False, ())
    summary = RunSummary(
        days=("2026-11-20",), processed=(flagged, passed), transcribed=2, skipped=3,
        failed=(("hengxin/2026-11-20/c.flac", "storage: refused"),),
        failed_before=(("hengxin/2026-11-20/d.flac", "audio: corrupt"),),
        rejected=(("hengxin/2026-11-20/e.flac", "no metadata"),), wall_seconds=360.0,
        notes=("attribution reports skipped — test",))
    assert summary.counts() == {"processed": 2, "transcribed": 2, "skipped": 3, "failed": 1, "failed_before": 1,
                                "rejected": 1, "flagged": 1, "audio_hours": 1.0, "wall_seconds": 360.0,
                                "audio_hours_per_wall_hour": 10.0}
    outcomes = {row["recording"]: row["outcome"] for row in summary.table()}
    assert list(outcomes.values()) == ["flagged", "passed", "failed", "failed earlier", "rejected"]
    markdown = summary.markdown()
    assert "| 2 | 3 | 2 | 1 | 1 | 1.000 | 10.00 |" in markdown
    assert "`hengxin/2026-11-20/a.flac` score 40 (fatal): threat" in markdown
    assert "`hengxin/2026-11-20/c.flac` (failed): storage: refused" in markdown
    assert "attribution reports skipped" in markdown
