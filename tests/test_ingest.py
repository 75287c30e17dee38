"""Ingest against the real SeaweedFS S3 server and real databases: registration, metadata sources, idempotence,
new versions, every kind of bad input, pagination, a server stopped mid-run, wrong credentials, the CLI and the
sample calls."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import numpy as np
import pytest
import soundfile
from sqlalchemy import func, select

from callqc import db
from callqc.db.models import PipelineRun, Recording
from callqc.db.mapping import call_from_recording
from callqc.ingest import IngestError, ingest_day
from callqc.samples import SAMPLE_CALLS_DIR, sample_calls, upload_samples
from callqc.settings import Settings
from callqc.sidecar import MetadataError, RecordingMetadata, parse_sidecar
from callqc.storage import RecordingStore
from conftest import _free_port, make_settings

DAY = date(2026, 11, 2)
PREFIX = "hengxin/2026-11-02/"


# ---- helpers --------------------------------------------------------------------------------------------

def tone(seconds: float = 1.0, rate: int = 8000, channels: int = 2, fmt: str = "FLAC", pitch: float = 440.0) -> bytes:
    """A short stereo telephone-rate recording (a different tone per channel)."""
    t = np.arange(int(seconds * rate)) / rate
    left, right = 0.3 * np.sin(2 * np.pi * pitch * t), 0.2 * np.sin(2 * np.pi * pitch * 1.5 * t)
    samples = np.stack([left, right], axis=1) if channels == 2 else left
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=fmt, subtype="PCM_16")
    return buffer.getvalue()


def sidecar(call_id: str, agency: str = "hengxin", **changes) -> bytes:
    data = {"call_id": call_id, "agency": agency, "agent_id": "HX-0001", "account_id": "ACC-1",
            "callee_number": "138****0000", "callee_relation": "debtor", "product": "credit_card",
            "delinquency_bucket": "M1", "started_at": "2026-11-02T10:00:00+08:00", "direction": "outbound",
            "channels": {"left": "agent", "right": "customer"}}
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False).encode("utf-8")


def put_call(store: RecordingStore, name: str, audio: bytes | None = None, meta: bytes | None = b"default",
             prefix: str = PREFIX) -> str:
    """Upload `{prefix}{name}.flac` and (unless meta is None) its sidecar; returns the audio key."""
    key = f"{prefix}{name}.flac"
    store.put_bytes(key, tone() if audio is None else audio)
    if meta is not None:
        store.put_bytes(f"{prefix}{name}.json", sidecar(name) if meta == b"default" else meta)
    return key


def bucket_state(store: RecordingStore) -> dict[str, str]:
    return {obj.key: obj.etag for obj in store.iter_objects("")}


def recordings(factory, **where) -> list[Recording]:
    with db.session_scope(factory) as session:
        query = select(Recording).order_by(Recording.key, Recording.version)
        for column, value in where.items():
            query = query.where(getattr(Recording, column) == value)
        return list(session.scalars(query))


@pytest.fixture
def sessions(sqlite_url):
    engine = db.make_engine(sqlite_url)
    yield db.session_factory(engine)
    engine.dispose()


def with_ingest(settings: Settings, **ingest) -> Settings:
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update=ingest)})


# ---- registration and metadata sources ------------------------------------------------------------------

def test_sample_calls_register_with_their_metadata(bucket_settings, store, sessions):
    uploaded = upload_samples(bucket_settings, store, day=DAY)
    report = ingest_day(bucket_settings, sessions, store, DAY)

    calls = {call.call_id: call for call in sample_calls()}
    assert report.registered == len(calls) == 12 and not report.rejected
    rows = recordings(sessions)
    assert {row.call_id for row in rows} == set(calls)
    assert {row.key for row in rows} == {u.key for u in uploaded if not u.key.endswith(".json")}
    for row in rows:
        sidecar_data = calls[row.call_id].sidecar
        info = soundfile.info(str(calls[row.call_id].audio))
        assert row.status == "registered" and row.failure_reason is None
        assert row.metadata_source == "sidecar"
        assert row.agency == bucket_settings.agency_code(sidecar_data["agency"])  # display names map to codes
        assert row.key.startswith(f"{row.agency}/{DAY.isoformat()}/")
        assert row.duration_s == pytest.approx(info.duration, abs=0.01)
        assert (row.channels, row.sample_rate, row.audio_format) == (2, 8000, "flac")
        assert row.channel_map == {"left": "agent", "right": "customer"}
        call = call_from_recording(row)  # the original offset survives the database
        original = datetime.fromisoformat(sidecar_data["started_at"])
        assert call.started_at.utcoffset() == original.utcoffset()
        assert call.started_at.date() == DAY and call.started_at.time() == original.time()
        assert (call.agent_id, call.account_id, call.callee_relation) == (
            sidecar_data["agent_id"], sidecar_data["account_id"], sidecar_data["callee_relation"])
    with db.session_scope(sessions) as session:
        run = session.get(PipelineRun, report.run_id)
        assert (run.kind, run.status, run.counts) == ("ingest", "completed",
                                                      {"registered": 12, "skipped": 0, "rejected": 0})
    assert {r.ingest_run_id for r in rows} == {report.run_id}
    assert set(report.registered_ids) == {row.id for row in rows}


def test_boto3_upload_with_s3_user_metadata(bucket_settings, store, sessions):
    """An agency uploading with boto3 (path-style), metadata as x-amz-meta-* headers, no sidecar."""
    import boto3
    from botocore.config import Config

    from callqc.seaweed import s3_credentials

    creds = s3_credentials(bucket_settings)
    client = boto3.client("s3", endpoint_url=f"http://{bucket_settings.storage.endpoint}",
                          aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
                          region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
    client.put_object(Bucket=store.bucket, Key=f"{PREFIX}b3-001.flac", Body=tone(), ContentType="audio/flac",
                      Metadata={"agency": "hengxin", "agent-id": "HX-9", "account-id": "ACC-9",
                                "started-at": "2026-11-02T21:30:00+08:00", "callee-relation": "guarantor",
                                "channel-left": "customer", "channel-right": "agent"})
    report = ingest_day(bucket_settings, sessions, store, DAY)

    assert report.registered == 1, report.rejected
    [row] = recordings(sessions)
    assert (row.metadata_source, row.agent_id, row.account_id, row.callee_relation) == (
        "s3_metadata", "HX-9", "ACC-9", "guarantor")
    assert row.channel_map == {"left": "customer", "right": "agent"}
    assert row.started_at_offset_min == 480
    assert row.etag == client.head_object(Bucket=store.bucket, Key=row.key)["ETag"].strip('"')


def test_manifest_rows_describe_calls_without_sidecars(bucket_settings, store, sessions):
    rows = [{"call_id": "m-1", "agency": "恒信资产", "agent_id": "HX-1", "account_id": "A1",
             "started_at": "2026-11-02T09:00:00+08:00", "callee_relation": "debtor", "product": ""},
            {"call_id": "m-2", "agency": "hengxin", "agent_id": "HX-2", "account_id": "A2",
             "started_at": "2026-11-02 09:00", "callee_relation": "debtor", "product": "loan"}]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    store.put_bytes(f"{PREFIX}manifest.csv", text.getvalue().encode("utf-8"))
    for name in ("m-1", "m-2", "m-3"):
        put_call(store, name, meta=None)

    report = ingest_day(bucket_settings, sessions, store, DAY)

    assert report.registered == 1
    [good] = recordings(sessions, status="registered")
    assert (good.call_id, good.metadata_source, good.agent_id, good.product) == ("m-1", "manifest", "HX-1", None)
    reasons = {r.key: r.reason for r in report.rejected}
    assert set(reasons) == {f"{PREFIX}m-2.flac", f"{PREFIX}m-3.flac"}
    assert "manifest.csv line 3" in reasons[f"{PREFIX}m-2.flac"]  # the header is line 1
    assert "field 'started_at'" in reasons[f"{PREFIX}m-2.flac"] and "timezone" in reasons[f"{PREFIX}m-2.flac"]
    assert reasons[f"{PREFIX}m-3.flac"].startswith("no metadata")


# ---- idempotence and versions (SQLite and PostgreSQL) ---------------------------------------------------

def test_reingest_registers_nothing_new_and_a_changed_etag_is_a_new_version(bucket_settings, store,
                                                                           db_session_factory):
    sessions = db_session_factory
    keys = [put_call(store, f"c{i}", audio=tone(pitch=300 + 50 * i)) for i in range(3)]
    put_call(store, "broken", audio=b"fLaC" + b"\x00" * 200)

    first = ingest_day(bucket_settings, sessions, store, DAY)
    before = [(r.id, r.key, r.etag, r.version, r.status) for r in recordings(sessions)]
    second = ingest_day(bucket_settings, sessions, store, DAY)

    assert (first.registered, len(first.rejected)) == (3, 1)
    assert (second.registered, second.skipped, second.rejected) == (0, 4, ())
    assert [(r.id, r.key, r.etag, r.version, r.status) for r in recordings(sessions)] == before

    old_etag = store.stat(keys[0]).etag
    new_etag = store.put_bytes(keys[0], tone(seconds=2.0))
    assert new_etag != old_etag
    third = ingest_day(bucket_settings, sessions, store, DAY)

    assert (third.registered, third.skipped) == (1, 3)
    versions = recordings(sessions, key=keys[0])
    assert [(v.etag, v.version) for v in versions] == [(old_etag, 1), (new_etag, 2)]
    assert versions[1].duration_s == pytest.approx(2.0, abs=0.01) and versions[0].duration_s == pytest.approx(1.0)
    with db.session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Recording)) == 5
        assert session.scalar(select(func.count()).select_from(PipelineRun)) == 3


# ---- bad input ------------------------------------------------------------------------------------------

def test_bad_inputs_are_rejected_with_reasons_and_the_batch_goes_on(bucket_settings, store, sessions):
    settings = with_ingest(bucket_settings, max_duration_s=3.0, min_duration_s=0.5)
    wav_text = b"this is a text file, not audio at all " * 20
    valid = tone()
    corrupt_flac = valid[:200] + bytes(len(valid) - 200)  # a real FLAC header, then its frames zeroed
    expected = {  # audio key -> a piece of its failure reason
        put_call(store, "corrupt", audio=corrupt_flac): "corrupt:",
        put_call(store, "empty", audio=b""): "empty object",
        put_call(store, "too-long", audio=tone(seconds=4.0)): "too_long:",
        put_call(store, "too-short", audio=tone(seconds=0.2)): "too_short:",
        put_call(store, "no-metadata", meta=None): "no metadata: no sidecar",
        put_call(store, "bad-json", meta=b'{"call_id": "bad-json", "agency": '): "not valid JSON",
        put_call(store, "naive-time", meta=sidecar("naive-time", started_at="2026-11-02T10:00:00")):
            "field 'started_at'",
        put_call(store, "bad-relation", meta=sidecar("bad-relation", callee_relation="boss")):
            "field 'callee_relation'",
        put_call(store, "no-agent", meta=sidecar("no-agent", agent_id=None)): "field 'agent_id': Field required",
        put_call(store, "long-agent", meta=sidecar("long-agent", agent_id="A" * 200)): "field 'agent_id'",
        put_call(store, "foreign", meta=sidecar("foreign", agency="Shady Collections Ltd")):
            "unknown agency 'Shady Collections Ltd'",
        put_call(store, "elsewhere", meta=sidecar("elsewhere", agency="联众催收")):
            "is agency 'lianzhong' but the recording is in the folder of 'hengxin'",
        put_call(store, "renamed", meta=sidecar("other-id")): "field 'call_id': 'other-id' does not match",
        put_call(store, "rogue-call", prefix="rogue/2026-11-02/"): "unknown agency folder 'rogue/'",
    }
    store.put_bytes(f"{PREFIX}textfile.wav", wav_text)
    store.put_bytes(f"{PREFIX}textfile.json", sidecar("textfile"))
    expected[f"{PREFIX}textfile.wav"] = "not_audio:"
    store.put_bytes(f"{PREFIX}orphan.json", sidecar("orphan"))
    expected[f"{PREFIX}orphan.json"] = "sidecar without audio"
    store.put_bytes(f"{PREFIX}notes.txt", b"call notes")
    expected[f"{PREFIX}notes.txt"] = "unsupported file type '.txt'"
    store.put_bytes(f"{PREFIX}extra/deep.flac", tone())
    expected[f"{PREFIX}extra/deep.flac"] = "inside a sub-folder"
    # valid keys: spaces and Chinese characters are fine
    good = [put_call(store, "call 01 with spaces"), put_call(store, "通话录音_张三_02"), put_call(store, "plain-03")]
    before = bucket_state(store)

    report = ingest_day(settings, sessions, store, DAY)

    assert bucket_state(store) == before  # nothing modified or deleted in the bucket
    reasons = {r.key: r.reason for r in report.rejected}
    assert set(reasons) == set(expected)
    for key, piece in expected.items():
        assert piece in reasons[key], (key, reasons[key])
    assert report.registered == 3
    assert {r.key for r in recordings(sessions, status="registered")} == set(good)
    rejected_rows = {r.key: r for r in recordings(sessions, status="rejected")}
    assert {k: r.failure_reason for k, r in rejected_rows.items()} == reasons
    assert rejected_rows[f"{PREFIX}orphan.json"].etag == before[f"{PREFIX}orphan.json"]
    assert rejected_rows["rogue/2026-11-02/rogue-call.flac"].agency == "rogue"
    with db.session_scope(sessions) as session:
        run = session.get(PipelineRun, report.run_id)
        assert run.counts == {"registered": 3, "skipped": 0, "rejected": len(expected)}
        assert {w["key"] for w in run.warnings} == set(expected)

    # Metadata problems are examined again (the agency may fix them); audio problems wait for a new etag.
    second = ingest_day(settings, sessions, store, DAY)
    metadata_rejections = {k for k, r in rejected_rows.items() if r.raw_metadata["rejection_kind"] == "metadata"}
    assert {r.key for r in second.rejected} == metadata_rejections
    assert second.registered == 0
    assert len(recordings(sessions)) == len(expected) + 3

    store.put_bytes(f"{PREFIX}no-metadata.json", sidecar("no-metadata"))  # the agency delivers the sidecar
    third = ingest_day(settings, sessions, store, DAY)
    assert third.registered == 1
    [fixed] = recordings(sessions, key=f"{PREFIX}no-metadata.flac")
    assert (fixed.status, fixed.failure_reason, fixed.version, fixed.agent_id) == ("registered", None, 1, "HX-0001")


def test_sidecar_channels_may_be_named_l_and_r_and_an_unknown_name_is_an_error_naming_the_field():
    metadata, _ = parse_sidecar(sidecar("c1", channels={"L": "agent", "R": "customer"}), "hengxin/2026-11-02/c1.json")
    assert metadata.channel_map == {"left": "agent", "right": "customer"}
    with pytest.raises(MetadataError, match=r"hengxin/2026-11-02/c2.json: field 'channels'.*unknown channel 'A'"):
        parse_sidecar(sidecar("c2", channels={"A": "agent", "B": "customer"}), "hengxin/2026-11-02/c2.json")


def test_unknown_agency_asked_for_is_an_error(bucket_settings, store, sessions):
    with pytest.raises(IngestError, match="unknown agency 'nobody'.*hengxin"):
        ingest_day(bucket_settings, sessions, store, DAY, agencies=["nobody"])


def test_agency_option_restricts_the_folders(bucket_settings, store, sessions):
    put_call(store, "h1")
    put_call(store, "l1", meta=sidecar("l1", agency="lianzhong"), prefix="lianzhong/2026-11-02/")
    report = ingest_day(bucket_settings, sessions, store, DAY, agencies=["联众催收"])
    assert report.agencies == ("lianzhong",) and report.registered == 1
    assert [r.key for r in recordings(sessions)] == ["lianzhong/2026-11-02/l1.flac"]


# ---- streaming listing ------------------------------------------------------------------------------------

def test_listing_streams_in_small_pages(bucket_settings, store, sessions):
    """Pages of 5 keys: sidecars and audio fall on different pages; wav audio lists after its sidecar."""
    names = [f"p{i:02d}" for i in range(12)]
    for i, name in enumerate(names):
        if i % 3 == 0:
            store.put_bytes(f"{PREFIX}{name}.wav", tone(fmt="WAV"))
            store.put_bytes(f"{PREFIX}{name}.json", sidecar(name))
        else:
            put_call(store, name)
    trace = io.StringIO()
    paged = RecordingStore(bucket_settings, page_size=5)
    paged.client.trace_on(trace)
    report = ingest_day(bucket_settings, sessions, paged, DAY)
    paged.client.trace_off()

    assert report.registered == 12 and not report.rejected
    list_requests = [line for line in trace.getvalue().splitlines()
                     if line.startswith("GET ") and "list-type=2" in line and "max-keys=5" in line]
    assert len(list_requests) >= 24 // 5  # 24 objects in pages of 5


# ---- storage failures -----------------------------------------------------------------------------------

@pytest.fixture
def own_s3_server(tmp_path):
    """A SeaweedFS server of this test's own (the session one is shared, so it must not be stopped)."""
    from callqc import seaweed

    ports = {"master_port": _free_port(), "volume_port": _free_port(), "filer_port": _free_port(),
             "s3_port": _free_port(), "startup_timeout_s": 90}
    settings = make_settings(tmp_path / "own-s3", storage={
        "endpoint": f"127.0.0.1:{ports['s3_port']}", "secure": False, "region": "us-east-1",
        "bucket": "recordings", "embedded": True, "seaweedfs": ports})
    seaweed.start(settings)
    try:
        yield settings
    finally:
        seaweed.stop(settings)


def test_s3_stopped_mid_ingest_then_rerun_completes_without_duplicates(own_s3_server, sessions):
    from callqc import seaweed

    settings = own_s3_server
    store = RecordingStore(settings)
    store.ensure_bucket()
    keys = [put_call(store, f"s{i}", audio=tone(pitch=200 + 40 * i)) for i in range(6)]
    seen = []

    def stop_after_two(outcome):
        seen.append(outcome)
        if len(seen) == 2:
            seaweed.stop(settings)

    with pytest.raises(IngestError) as failure:
        ingest_day(settings, sessions, store, DAY, progress=stop_after_two)
    message = str(failure.value)
    assert "did not answer" in message and settings.storage.endpoint in message
    assert "Kept: 2 registered" in message and "re-run" in message
    with db.session_scope(sessions) as session:
        run = session.scalars(select(PipelineRun)).one()
        assert run.status == "failed" and run.counts["registered"] == 2
        assert "did not answer" not in run.warnings[0]["error"] and "MaxRetryError" in run.warnings[0]["error"]

    seaweed.start(settings)
    report = ingest_day(settings, sessions, store, DAY)

    assert (report.registered, report.skipped, report.rejected) == (4, 2, ())
    rows = recordings(sessions)
    assert sorted(r.key for r in rows) == sorted(keys)  # each recording exactly once
    assert all(r.version == 1 and r.status == "registered" for r in rows)


def test_wrong_credentials_fail_clearly(bucket_settings, sessions):
    from minio import Minio

    wrong = Minio(bucket_settings.storage.endpoint, access_key="nobody", secret_key="wrong-secret-123",
                  secure=False, region="us-east-1")
    store = RecordingStore(bucket_settings, client=wrong)
    with pytest.raises(IngestError) as failure:
        ingest_day(bucket_settings, sessions, store, DAY)
    message = str(failure.value)
    assert "InvalidAccessKeyId" in message and "CALLQC_S3_ACCESS_KEY" in message
    with db.session_scope(sessions) as session:
        assert session.scalars(select(PipelineRun)).one().status == "failed"
        assert session.scalar(select(func.count()).select_from(Recording)) == 0


# ---- the CLI ----------------------------------------------------------------------------------------------

@pytest.fixture
def cli_env(bucket_settings, sqlite_url, monkeypatch):
    """The CLI reads settings from the environment: point it at the test bucket and database."""
    from callqc.seaweed import s3_credentials
    from callqc.settings import get_settings

    creds = s3_credentials(bucket_settings)
    env = {"CALLQC_WORK_DIR": str(bucket_settings.work_path), "CALLQC_STORAGE__ENDPOINT": bucket_settings.storage.endpoint,
           "CALLQC_STORAGE__BUCKET": bucket_settings.storage.bucket, "CALLQC_DATABASE__URL": sqlite_url,
           "CALLQC_S3_ACCESS_KEY": creds.access_key, "CALLQC_S3_SECRET_KEY": creds.secret_key}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def test_cli_samples_upload_and_ingest(cli_env, store):
    from typer.testing import CliRunner

    from callqc.cli import app

    runner = CliRunner()
    uploaded = runner.invoke(app, ["samples", "upload", "--date", "2026-11-20"])
    assert uploaded.exit_code == 0, uploaded.output
    assert "24 objects uploaded" in uploaded.output
    again = runner.invoke(app, ["samples", "upload", "--date", "2026-11-20"])
    assert "0 objects uploaded, 24 already there" in again.output

    result = runner.invoke(app, ["ingest", "--date", "2026-11-20", "--agency", "acme-recovery"])
    assert result.exit_code == 0, result.output
    total_line = next(line for line in result.output.splitlines() if "total" in line)
    assert [cell.strip() for cell in total_line.strip("│ ").split("│")][1:] == ["4", "0", "0"]

    bad_day = runner.invoke(app, ["ingest", "--date", "20-11-2026"])
    assert bad_day.exit_code == 2 and "YYYY-MM-DD" in bad_day.output

    store.put_bytes("hengxin/2026-11-20/zz-broken.flac", b"not audio")
    mixed = runner.invoke(app, ["ingest", "--date", "2026-11-20"])
    assert mixed.exit_code == 0, mixed.output
    assert "zz-broken.flac" in mixed.output and "Rejected" in mixed.output


def test_cli_ingest_reports_unreachable_storage(cli_env, monkeypatch):
    from typer.testing import CliRunner

    from callqc.cli import app
    from callqc.settings import get_settings

    monkeypatch.setenv("CALLQC_STORAGE__ENDPOINT", f"127.0.0.1:{_free_port()}")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["ingest", "--date", "2026-11-20"])
    assert result.exit_code == 1
    assert "ingest failed" in result.output and "did not answer" in result.output
    assert "Traceback" not in result.output


# ---- the sample calls themselves ------------------------------------------------------------------------

def test_sample_calls_are_consistent(bucket_settings):
    calls = sample_calls()
    assert {c.call_id for c in calls} >= {f"callA_0{i}" for i in range(1, 9)} | {f"acme_0{i}" for i in range(1, 5)}
    for call in calls:
        metadata = RecordingMetadata.model_validate(call.sidecar)
        assert metadata.call_id == call.call_id
        assert bucket_settings.agency_code(metadata.agency) is not None
        info = soundfile.info(str(call.audio))
        assert (info.channels, info.samplerate) == (2, 8000)
        labels = json.loads((SAMPLE_CALLS_DIR / f"{call.call_id}.labels.json").read_text(encoding="utf-8"))
        assert labels["compliant"] == (not labels["violations"])
        with open(SAMPLE_CALLS_DIR / f"{call.call_id}.segments.tsv", encoding="utf-8") as handle:
            turns = list(csv.DictReader(handle, delimiter="\t"))
        assert all(0 <= float(t["start_s"]) < float(t["end_s"]) <= info.duration for t in turns)
        assert all((t["channel"], t["role"]) in (("L", "agent"), ("R", "customer")) for t in turns)
        for violation in labels["violations"]:
            if violation["turn"] is not None:
                assert turns[violation["turn"]]["role"] == "agent", (call.call_id, violation)
    english = [c for c in calls if c.call_id.startswith("acme_")]
    assert all(soundfile.info(str(c.audio)).duration < 40 for c in english)
    english_labels = {c.call_id: json.loads((SAMPLE_CALLS_DIR / f"{c.call_id}.labels.json").read_text())
                      for c in english}
    categories = {v["category"] for labels in english_labels.values() for v in labels["violations"]}
    assert {"false_consequence", "third_party_disclosure", "missing_mini_miranda"} <= categories
    compliant_scripts = [(SAMPLE_CALLS_DIR / f"{cid}.segments.tsv").read_text() for cid, labels
                         in english_labels.items() if labels["compliant"]]
    assert any("This is an attempt to collect a debt and any information obtained will be used for that purpose"
               in script for script in compliant_scripts)


def test_samples_can_be_redated(bucket_settings, store):
    uploaded = upload_samples(bucket_settings, store, day=date(2027, 1, 15))
    sidecars = [u for u in uploaded if u.key.endswith(".json")]
    assert len(sidecars) == 12 and all(u.key.split("/")[1] == "2027-01-15" for u in uploaded)
    redated = json.loads(store.get_bytes(next(u.key for u in sidecars if "callA_01" in u.key)))
    assert redated["started_at"] == "2027-01-15T10:14:32+08:00"
    assert not any(u.unchanged for u in uploaded)
    assert all(u.unchanged for u in upload_samples(bucket_settings, store, day=date(2027, 1, 15)))

