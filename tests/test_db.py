"""The database on SQLite and on the machine's PostgreSQL (the `db_url` fixture runs each test on both):
migrations from empty to head and back to base, the migrated schema equal to the models, model round-trips."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from callqc import db
from callqc.db.models import (
    AuditLog,
    Base,
    CallScoreRow,
    ComplaintCallLink,
    ComplaintRow,
    FindingRow,
    PipelineRun,
    RectificationItem,
    Recording,
    Review,
    SegmentRow,
    TranscriptRow,
    User,
)
from callqc.db.mapping import call_from_recording

SHANGHAI = timezone(timedelta(hours=8))


def table_names(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_go_down_to_base_and_up_again(db_url):
    head = db.current_revision(db_url)
    assert head is not None and table_names(db_url) == set(Base.metadata.tables)

    db.downgrade(db_url, "base")
    assert db.current_revision(db_url) is None and table_names(db_url) == set()

    db.upgrade(db_url)
    assert db.current_revision(db_url) == head and table_names(db_url) == set(Base.metadata.tables)


def test_the_migrated_schema_matches_the_models(db_url):
    """Alembic's autogenerate finds nothing to add, drop or alter: migration 0001 mirrors models.py."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = db.make_engine(db_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_a_recording_round_trips_with_its_offset(db_session_factory):
    started = datetime(2026, 11, 2, 22, 40, 13, tzinfo=SHANGHAI)
    with db.session_scope(db_session_factory) as session:
        run = PipelineRun(kind="ingest", params={"day": "2026-11-02", "agencies": ["hengxin"]},
                          counts={"registered": 1})
        session.add(run)
        session.flush()
        session.add(Recording(
            bucket="recordings", key="hengxin/2026-11-02/通话 01.flac", etag="d41d8cd98f00b204e9800998ecf8427e",
            size=1234, call_id="通话 01", agency="hengxin", agent_id="HX-4712", account_id="XHCC001",
            callee_number="138****5621", callee_relation="debtor", product="credit_card", delinquency_bucket="M1",
            direction="outbound", started_at=started.astimezone(timezone.utc), started_at_offset_min=480,
            duration_s=95.44, channels=2, sample_rate=8000, audio_format="flac",
            channel_map={"left": "agent", "right": "customer"}, metadata_source="sidecar",
            raw_metadata={"metadata": {"agency": "恒信资产"}}, ingest_run_id=run.id))

    with db.session_scope(db_session_factory) as session:
        row = session.scalars(select(Recording)).one()
        assert row.key == "hengxin/2026-11-02/通话 01.flac" and row.raw_metadata["metadata"]["agency"] == "恒信资产"
        assert (row.status, row.version, row.answered) == ("registered", 1, True)  # column defaults
        call = call_from_recording(row)
        assert call.started_at == started and call.started_at.utcoffset() == timedelta(hours=8)
        assert call.started_at.hour == 22  # local time preserved for calling-hours rules
        assert call.channel_map == {"left": "agent", "right": "customer"} and call.duration_s == 95.44
        run = session.get(PipelineRun, row.ingest_run_id)
        assert run.status == "running" and run.params["agencies"] == ["hengxin"]


def test_one_row_per_object_version(db_session_factory):
    def recording(etag: str, version: int) -> Recording:
        return Recording(bucket="recordings", key="hengxin/2026-11-02/a.flac", etag=etag, version=version)

    with db.session_scope(db_session_factory) as session:
        session.add_all([recording("e1", 1), recording("e2", 2)])
    with pytest.raises(IntegrityError):
        with db.session_scope(db_session_factory) as session:
            session.add(recording("e1", 3))
    with db.session_scope(db_session_factory) as session:
        assert [r.version for r in session.scalars(select(Recording).order_by(Recording.version))] == [1, 2]


def test_transcript_score_review_and_complaint_round_trip(db_session_factory):
    with db.session_scope(db_session_factory) as session:
        recording = Recording(bucket="recordings", key="qiming/2026-11-09/callA_06.flac", etag="e", call_id="c6",
                              account_id="ACC-6", agency="qiming")
        session.add(recording)
        session.flush()
        transcript = TranscriptRow(recording=recording, backend="faster-whisper", model="base", language="zh",
                                   duration_s=55.8, features={"overtalk_spans": [[1.0, 1.5]]},
                                   segments=[SegmentRow(idx=i, start_s=i * 2.0, end_s=i * 2.0 + 1.5,
                                                        speaker=("agent", "customer")[i % 2], text=f"第{i}句",
                                                        flags=["repetition_cut"] if i == 2 else [])
                                             for i in range(3)])
        score = CallScoreRow(recording=recording, pack="cn_collection", pack_version="abc123", score=55.0,
                             flagged=True, fatal=True, review_priority=9.5, customer_emotion="angry",
                             findings=[FindingRow(recording_id=recording.id, rule_id="CN-09-false-consequence",
                                                  category="false_consequence", severity="critical",
                                                  speaker="agent", start_s=12.0, end_s=15.5, segment_ids=[4],
                                                  text="明天就抓你")])
        session.add_all([transcript, score])
        session.flush()
        finding = score.findings[0]
        session.add(Review(recording_id=recording.id, finding_id=finding.id, decision="confirm", reviewer="qc01",
                           reason="clear threat"))
        complaint = ComplaintRow(complaint_no="TS-2026-0001", account_id="ACC-6",
                                 received_at=datetime(2026, 11, 10, 9, 0, tzinfo=SHANGHAI).astimezone(timezone.utc),
                                 channel="12378",
                                 content="催收员说要抓人", agency="qiming")
        session.add(complaint)
        session.flush()
        session.add(ComplaintCallLink(complaint_id=complaint.id, recording_id=recording.id, days_before=0.4,
                                      finding_categories=["false_consequence"]))
        session.add(RectificationItem(source="finding", source_ref=str(finding.id), agency="qiming",
                                      title="停止虚假后果话术", due_date=date(2026, 12, 1)))
        session.add(User(username="qc01", password_hash="argon2$x", role="reviewer"))
        session.add(AuditLog(username="qc01", action="confirm", object_type="finding", object_id=str(finding.id),
                             before={"status": "open"}, after={"status": "confirmed"}))

    with db.session_scope(db_session_factory) as session:
        recording = session.scalars(select(Recording)).one()
        [transcript] = recording.transcripts
        assert [(s.idx, s.speaker, s.text) for s in transcript.segments] == [
            (0, "agent", "第0句"), (1, "customer", "第1句"), (2, "agent", "第2句")]
        assert transcript.segments[2].flags == ["repetition_cut"] and transcript.features["overtalk_spans"] == [[1.0, 1.5]]
        [score] = recording.scores
        assert (score.flagged, score.fatal, score.review_status, score.findings[0].text) == (
            True, True, "pending", "明天就抓你")
        review = session.scalars(select(Review)).one()
        assert (review.decision, review.reviewer, review.finding_id) == ("confirm", "qc01", score.findings[0].id)
        link = session.scalars(select(ComplaintCallLink)).one()
        complaint = session.get(ComplaintRow, link.complaint_id)
        # Stored as UTC by convention: SQLite keeps no offset (it would silently drop a +08:00, not convert it)
        received = complaint.received_at
        assert received.replace(tzinfo=received.tzinfo or timezone.utc) == datetime(2026, 11, 10, 1, 0,
                                                                                     tzinfo=timezone.utc)
        assert session.scalars(select(RectificationItem)).one().due_date == date(2026, 12, 1)
        assert session.scalars(select(AuditLog)).one().after == {"status": "confirmed"}

        session.delete(transcript)  # segments go with their transcript
    with db.session_scope(db_session_factory) as session:
        assert session.scalars(select(SegmentRow)).all() == []


def test_db_commands(tmp_path):
    from typer.testing import CliRunner

    from callqc.cli import app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    up = runner.invoke(app, ["db", "upgrade", "--url", url])
    assert up.exit_code == 0, up.output
    head = db.current_revision(url)
    assert f"database at revision {head}" in up.output
    assert runner.invoke(app, ["db", "current", "--url", url]).output.strip() == head
    down = runner.invoke(app, ["db", "downgrade", "--url", url])
    assert down.exit_code == 0 and "database at revision base" in down.output
    assert table_names(url) == set()


def test_offset_timestamps_are_stored_as_the_same_instant_on_both_databases(db_session_factory):
    """SQLite keeps no offset: without UTCDateTime, 09:00+08:00 would read back as 09:00 UTC."""
    beijing = timezone(timedelta(hours=8))
    with db.session_scope(db_session_factory) as session:
        session.add(ComplaintRow(complaint_no="TZ-1", account_id="A1", channel="12378",
                                 received_at=datetime(2026, 11, 10, 9, 0, tzinfo=beijing)))
    with db.session_scope(db_session_factory) as session:
        received = session.scalars(select(ComplaintRow.received_at)).one()
    assert received == datetime(2026, 11, 10, 1, 0, tzinfo=timezone.utc)
    assert received.utcoffset() == timedelta(0)
