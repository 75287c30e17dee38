"""The nightly flow against real services: SeaweedFS S3, SQLite, a Prefect API (test harness), Whisper base.

CPU budget: the 8 labelled calls are transcribed once per session (the `labelled_run` fixture, sequential
task runner) and several tests read that run; the other tests use one to three of the shortest calls.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from sqlalchemy import func, select

from conftest import REPO_ROOT
from flows_fixtures import (ALL_CALLS, LABELLED_CALLS_DIR, RUN_DAY, SHORT_CALLS, _fresh_bucket, _migrated_sqlite,
                            _sessions, flow_settings, stored_results, table_counts, thread_flow, upload_calls)
from labelled_calls import DetectionTally, FoundFinding, evaluate_call

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_api")]

# Thresholds for the labelled run, from the spread over CT2_FORCE_CPU_ISA = AVX512 / AVX2 / GENERIC × cpu_threads
# 1 / 2 on two CPUs (bench/asr_spread.py, docs/asr-robustness.md). Labels found: 10/10 on every configuration of
# an AVX-512 EPYC, 9/10 on both of an AVX2-only EPYC (callA_06's pressure turn heard as 还清→环境, 否则→左则). No
# compliant call flagged (all three scored 100 against the flag threshold of 80), every violating call flagged
# (scores 0-75), one unexpected finding (callA_05: a threat model/phrase hit beside its impersonation turn).
RECALL_FLOOR = 0.8  # margin: one more label of ten may be lost to a changed token
COMPLIANT_FLAGGED_CEILING = 0  # margin: 20 score points (a major finding) on every compliant call
VIOLATING_UNFLAGGED_CEILING = 0  # margin: the closest violating call scored 75, fatal ones 0
UNEXPECTED_CEILING = 3  # measured 1; margin 2


@pytest.mark.asr_output
def test_labelled_calls_violations_found_and_compliant_calls_pass(labelled_run, capsys):
    """Detection through Whisper, robust to the few tokens that change between CPUs: a recall floor and
    ceilings on false alarms, each set from the spread measured across instruction sets and thread counts
    (bench/asr_spread.py, docs/asr-robustness.md) with a stated margin. The rules on the reference scripts
    themselves are checked exactly in tests/test_rules_calls.py."""
    settings, state = labelled_run
    assert state.is_completed()
    summary = state.result()
    assert len(summary.processed) == len(ALL_CALLS) and not summary.failed and not summary.rejected
    results = stored_results(settings.database_url)
    assert {r.status for r in results.values()} == {"scored"}
    assert all(r.segments for r in results.values())

    tally = DetectionTally()
    for call_id in ALL_CALLS:
        findings = [FoundFinding(category, start, end, rule_id)
                    for rule_id, category, _, start, end, _ in results[call_id].findings]
        tally.add(evaluate_call(LABELLED_CALLS_DIR, call_id, findings, bool(results[call_id].flagged)))
    with capsys.disabled():
        print(f"\nlabelled calls through the whole flow (Whisper base): recall {tally.recall:.2f} "
              f"(floor {RECALL_FLOOR}), missed {tally.missed}, compliant flagged {tally.compliant_flagged}, "
              f"unexpected findings {len(tally.unexpected)} (ceiling {UNEXPECTED_CEILING}): {tally.unexpected}")
    assert tally.recall >= RECALL_FLOOR, f"labelled violations not found on the right call/turn: {tally.missed}"
    assert len(tally.compliant_flagged) <= COMPLIANT_FLAGGED_CEILING, tally.compliant_flagged
    assert len(tally.violating_unflagged) <= VIOLATING_UNFLAGGED_CEILING, tally.violating_unflagged
    assert len(tally.unexpected) <= UNEXPECTED_CEILING, tally.unexpected


def test_second_run_does_no_new_work(labelled_run):
    from flows.nightly import nightly_qc

    settings, _ = labelled_run
    before, results_before = table_counts(settings.database_url), stored_results(settings.database_url)
    summary = thread_flow()(day=RUN_DAY, settings=settings)
    assert (len(summary.processed), summary.transcribed, summary.skipped) == (0, 0, len(ALL_CALLS))
    assert table_counts(settings.database_url) == before
    assert stored_results(settings.database_url) == results_before
    assert nightly_qc.name == "nightly-qc"


def test_summary_artifacts_are_written(labelled_run):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    settings, state = labelled_run
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(
            any_=["nightly-qc-summary", "nightly-qc-recordings"])))
    kinds = {(a.key, a.type) for a in artifacts if a.flow_run_id == state.state_details.flow_run_id}
    assert kinds == {("nightly-qc-summary", "markdown"), ("nightly-qc-recordings", "table")}
    markdown = state.result().markdown()
    assert "| 8 | 0 | 0 | 0 |" in markdown and "Flagged for review" in markdown


def _transcribe_task_tags(flow_run_id) -> list[list[str]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                                     task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="transcribe-")))
    return [sorted(run.tags) for run in runs if run.name.startswith("transcribe-")]  # like_ is a substring match


def test_transcriptions_hold_a_server_slot_only_when_a_server_limit_is_set(labelled_run, s3_settings, tmp_path):
    """By default the runner bounds transcription (no per-task slot bookkeeping, ~1.5 s each); with
    prefect.server_transcribe_limit the tasks carry the tag whose server-side limit the run sets."""
    from prefect.client.orchestration import get_client

    from flows.nightly import TRANSCRIBE_TAG

    _, state = labelled_run
    tags = _transcribe_task_tags(state.state_details.flow_run_id)
    assert len(tags) == len(ALL_CALLS) and all(TRANSCRIBE_TAG not in t for t in tags)

    bucket_settings, store = _fresh_bucket(s3_settings)
    settings = flow_settings(bucket_settings, _migrated_sqlite(tmp_path), server_transcribe_limit=3)
    upload_calls(settings, store, ["callA_06"], tmp_path)
    limited = thread_flow()(day=RUN_DAY, settings=settings, return_state=True)
    assert [o.call_id for o in limited.result().processed] == ["callA_06"]
    assert _transcribe_task_tags(limited.state_details.flow_run_id) == [[TRANSCRIBE_TAG]]
    with get_client(sync_client=True) as client:
        assert client.read_concurrency_limit_by_tag(TRANSCRIBE_TAG).concurrency_limit == 3


# ---- failures ------------------------------------------------------------------------------------

def _register_unreadable_recording(settings, store, day) -> str:
    """An object whose bytes are not audio, registered as ingest would register it (e.g. by an older ingest
    that did not decode): the flow must fail it at transcription, record why, and finish the rest."""
    from callqc.db import session_scope
    from callqc.db.models import Recording

    key = f"hengxin/{day.isoformat()}/broken.flac"
    data = b"fLaC" + os.urandom(4000)
    etag = store.put_bytes(key, data, content_type="audio/flac")
    assert etag == hashlib.md5(data).hexdigest()
    with session_scope(_sessions(settings.database_url)) as session:
        session.add(Recording(bucket=store.bucket, key=key, etag=etag, size=len(data), call_id="broken",
                              agency="hengxin", agent_id="HX-1", account_id="ACC-BROKEN", status="registered",
                              duration_s=60.0, channel_map={"left": "agent", "right": "customer"}))
    return key


def test_failed_transcription_is_recorded_and_the_rest_complete(bucket_settings, store, sqlite_url, tmp_path):
    settings = flow_settings(bucket_settings, sqlite_url)
    upload_calls(settings, store, ["callA_06"], tmp_path)
    broken = _register_unreadable_recording(settings, store, RUN_DAY)

    state = thread_flow()(day=RUN_DAY, settings=settings, return_state=True)
    assert state.is_completed()
    summary = state.result()
    assert [o.call_id for o in summary.processed] == ["callA_06"]
    assert [key for key, _ in summary.failed] == [broken]
    reason = summary.failed[0][1]
    assert reason.startswith("audio: ") and "broken.flac" in reason
    results = stored_results(settings.database_url)
    assert results["broken"].status == "failed" and results["callA_06"].status == "scored"
    assert f"`{broken}` (failed): audio: " in summary.markdown()

    # The same bytes cannot decode next time either: reported, not retried.
    again = thread_flow()(day=RUN_DAY, settings=settings)
    assert again.failed == () and [key for key, _ in again.failed_before] == [broken]
    assert (len(again.processed), again.skipped) == (0, 1)


def test_s3_outage_is_retried_then_recorded_and_the_next_run_completes(s3_settings, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, TaskRunFilter, TaskRunFilterName

    from callqc import seaweed
    from callqc.ingest import ingest_day
    from flows import nightly

    bucket_settings, store = _fresh_bucket(s3_settings)
    settings = flow_settings(bucket_settings, _migrated_sqlite(tmp_path))
    upload_calls(settings, store, ["callA_06"], tmp_path)
    ingest_day(settings, _sessions(settings.database_url), store, RUN_DAY)
    # One retry after 0.5 s instead of three with backoff, and none for ingest: against a stopped server each
    # S3 try takes ~6 s of connection retries inside the minio client.
    monkeypatch.setattr(nightly, "transcribe", nightly.transcribe.with_options(retries=1, retry_delay_seconds=0.5))
    monkeypatch.setattr(nightly, "ingest_day", nightly.ingest_day.with_options(retries=0))

    seaweed.stop(s3_settings)  # the outage: S3 goes away after the day's recordings were registered
    try:
        state = thread_flow()(day=RUN_DAY, settings=settings, return_state=True)
    finally:
        seaweed.start(s3_settings)
    assert state.is_completed()
    summary = state.result()
    assert summary.processed == () and len(summary.failed) == 1
    key, reason = summary.failed[0]
    assert key.endswith("callA_06.flac") and reason.startswith("storage: ")
    assert any(note.startswith(f"ingest {RUN_DAY} failed") for note in summary.notes)
    assert stored_results(settings.database_url)["callA_06"].status == "failed"
    with get_client(sync_client=True) as client:
        fetches = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])),
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=["transcribe-callA_06"])))
    assert [(t.run_count, t.state.type.value) for t in fetches] == [(2, "FAILED")]  # 1 try + 1 retry of the fetch

    after = thread_flow()(day=RUN_DAY, settings=settings)
    assert [o.call_id for o in after.processed] == ["callA_06"] and after.failed == ()
    assert stored_results(settings.database_url)["callA_06"].status == "scored"


# ---- kill and resume -----------------------------------------------------------------------------

def _row_counts(database_url: str) -> tuple[int, int]:
    """(transcripts, scores) stored so far; (0, 0) while the database is busy being created."""
    from callqc.db import session_scope
    from callqc.db.models import CallScoreRow, TranscriptRow

    try:
        with session_scope(_sessions(database_url)) as session:
            return tuple(session.scalar(select(func.count()).select_from(m)) for m in (TranscriptRow, CallScoreRow))
    except Exception:  # noqa: BLE001 - the database is being written by the run we watch
        return 0, 0


def test_killed_run_resumes_and_completes_every_recording_exactly_once(bucket_settings, store, sqlite_url,
                                                                       tmp_path):
    settings = flow_settings(bucket_settings, sqlite_url, transcribe_concurrency=1)
    # three calls: the kill lands once the first transcript is stored, with two recordings still to transcribe
    # (with two, one CI run on a loaded machine found both already scored when the kill landed)
    keys = upload_calls(settings, store, SHORT_CALLS, tmp_path)
    settings_file = tmp_path / "callqc.yaml"
    settings_file.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True))
    env = {**os.environ, "CALLQC_SETTINGS": str(settings_file), "PREFECT_HOME": str(tmp_path / "prefect-home"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)  # its own temporary Prefect server, killed with it
    log = open(tmp_path / "nightly.log", "wb")
    run = subprocess.Popen([sys.executable, "-m", "callqc.cli", "nightly", "--date", RUN_DAY.isoformat(),
                            "--runner", "threads"], env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while _row_counts(settings.database_url)[0] < 1:  # kill once the first transcript is stored
            assert run.poll() is None, (tmp_path / "nightly.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the run stored no transcript in 300 s"
            time.sleep(0.1)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)  # the whole group: the run and its temporary Prefect server
        run.wait()
        log.close()
    transcribed_before_kill, scored_before_kill = _row_counts(settings.database_url)
    assert 1 <= transcribed_before_kill and scored_before_kill < len(keys), "the kill must land mid-way"
    kept = {call_id: r.segments for call_id, r in stored_results(settings.database_url).items() if r.segments}

    summary = thread_flow()(day=RUN_DAY, settings=settings)
    assert len(summary.processed) + summary.skipped == len(keys) and summary.skipped == scored_before_kill
    assert summary.transcribed == len(keys) - transcribed_before_kill  # stored transcripts are reused
    assert summary.failed == ()
    after = stored_results(settings.database_url)
    assert all(after[call_id].segments == segments for call_id, segments in kept.items())
    from callqc.db import session_scope
    from callqc.db.models import CallScoreRow, Recording, TranscriptRow

    with session_scope(_sessions(settings.database_url)) as session:
        for model in (TranscriptRow, CallScoreRow):
            per_recording = session.execute(select(model.recording_id, func.count()).group_by(model.recording_id)).all()
            assert sorted(count for _, count in per_recording) == [1] * len(keys), model.__tablename__
        assert set(session.scalars(select(Recording.status))) == {"scored"}
