"""Fixtures and helpers for the orchestration tests (tests/test_flows*.py).

A real Prefect API (prefect_test_harness, a local server with SQLite) for the whole session, heartbeats off;
sample calls uploaded to the real SeaweedFS server from conftest; a migrated SQLite database per test.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterator

import pytest

from conftest import SAMPLES_DIR, SHARED_DIR

LABELLED_CALLS_DIR = next((d for d in (SAMPLES_DIR / "calls", SHARED_DIR / "data" / "calls")
                           if (d / "callA_01.flac").exists()), SHARED_DIR / "data" / "calls")
# The three shortest labelled calls (56-70 s): one compliant, two with violations. Whisper base ≈ 5 s each.
SHORT_CALLS = ("callA_03", "callA_04", "callA_06")
ALL_CALLS = tuple(sorted(p.stem for p in LABELLED_CALLS_DIR.glob("callA_*.flac")))
RUN_DAY = date(2026, 11, 20)


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    """A temporary Prefect server (SQLite) for the session; task results (the transcript cache) in tmp."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    results = tmp_path_factory.mktemp("prefect-results")
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, PREFECT_LOCAL_STORAGE_PATH: results}):
        with prefect_test_harness(server_startup_timeout=120):
            from prefect.settings import PREFECT_API_URL

            yield PREFECT_API_URL.value()


def flow_settings(bucket_settings, database_url: str, **prefect):
    """The bucket's settings with a database and (optionally) prefect settings replaced."""
    from callqc.settings import DatabaseSettings

    update = {"database": DatabaseSettings(url=database_url)}
    if prefect:
        update["prefect"] = bucket_settings.prefect.model_copy(update=prefect)
    return bucket_settings.model_copy(update=update)


def upload_calls(settings, store, call_ids, tmp_path: Path, day: date = RUN_DAY) -> list[str]:
    """Upload the chosen labelled calls (audio + sidecar, re-dated to `day`) as an agency would; their keys."""
    from callqc.samples import upload_samples

    chosen = tmp_path / "chosen-calls"
    chosen.mkdir(exist_ok=True)
    for call_id in call_ids:
        for suffix in (".flac", ".json"):
            shutil.copy(LABELLED_CALLS_DIR / f"{call_id}{suffix}", chosen / f"{call_id}{suffix}")
    uploaded = upload_samples(settings, store, day=day, samples_dir=chosen)
    return [u.key for u in uploaded if u.key.endswith(".flac")]


def table_counts(database_url: str) -> dict[str, int]:
    """Rows per pipeline table, to prove a re-run adds none."""
    from sqlalchemy import func, select

    from callqc.db import make_engine
    from callqc.db.models import CallScoreRow, FindingRow, Recording, SegmentRow, TranscriptRow

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return {model.__tablename__: connection.scalar(select(func.count()).select_from(model))
                    for model in (Recording, TranscriptRow, SegmentRow, CallScoreRow, FindingRow)}
    finally:
        engine.dispose()


def rows_per_recording(database_url: str) -> dict[str, list[int]]:
    """transcripts / call_scores: how many rows each recording has (sorted), to prove "exactly once"."""
    from sqlalchemy import func, select

    from callqc.db import make_engine
    from callqc.db.models import CallScoreRow, Recording, TranscriptRow

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return {model.__tablename__: sorted(
                connection.execute(select(func.count(model.id)).select_from(Recording)
                                   .outerjoin(model, model.recording_id == Recording.id)
                                   .group_by(Recording.id)).scalars())
                for model in (TranscriptRow, CallScoreRow)}
    finally:
        engine.dispose()


def thread_flow():
    """nightly_qc on in-process threads (one shared Whisper model): the fast way to run it in tests."""
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.nightly import nightly_qc

    return nightly_qc.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))


# ---- processes started by the scale-out tests (tests/test_scaleout.py, tests/test_flows_server.py) ----------

def wait_for(predicate, timeout_s: float, what: str, interval_s: float = 1.0):
    """Poll `predicate` until it returns something true; that value. Fails after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def start_group(command: list[str], log_path: Path, env: dict, cwd: Path) -> subprocess.Popen:
    """A process in its own process group (so that it and its children can be signalled together), its output
    in log_path."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop_group(process: subprocess.Popen, signals=(signal.SIGINT, signal.SIGINT, signal.SIGTERM)) -> None:
    """Stop a process group we started: a second SIGINT stops an idle worker; SIGKILL as the last resort."""
    for sig in signals:
        if process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            continue
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@dataclass
class DaskCluster:
    """A `dask scheduler` and its `dask worker` processes (name → process, name → directory)."""

    address: str
    workers: dict[str, subprocess.Popen]
    directories: dict[str, Path]  # each process's working directory, with its output in dask.log


@contextmanager
def dask_cluster(root: Path, api_url: str, n_workers: int = 2) -> Iterator[DaskCluster]:
    """A Dask cluster as on separate machines: a scheduler and `n_workers` one-thread workers, each its own
    process group, working directory (`--local-directory` too) and Prefect home: no data is shared but S3 and
    the database the flow's settings name. (Task runs use the flow's result storage setting, so the flow must
    give a relative one for the transcript cache to be per worker.) Like the installed package, numba's cache
    of compiled code (NUMBA_CACHE_DIR, warm on a machine after its first night) is the session's. Workers
    report to the Prefect API at api_url and keep the machine's OpenMP/BLAS threads
    (`--preload-nanny flows.runners`)."""
    from distributed import Client

    from conftest import _free_port

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask_cli = [sys.executable, "-m", "dask"]
    processes: dict[str, subprocess.Popen] = {}
    directories = {name: root / name for name in ["scheduler"] + [f"w{n}" for n in range(1, n_workers + 1)]}
    try:
        for name, directory in directories.items():
            directory.mkdir(parents=True)
            env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(directory / "prefect-home"),
                   "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
            if name == "scheduler":
                command = dask_cli + ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
            else:
                command = dask_cli + ["worker", address, "--name", name, "--nthreads", "1", "--no-dashboard",
                                      "--local-directory", str(directory), "--preload-nanny", "flows.runners"]
            processes[name] = start_group(command, directory / "dask.log", env, directory)
        cluster = DaskCluster(address, {n: p for n, p in processes.items() if n != "scheduler"}, directories)
        with Client(address, timeout=120) as client:
            client.wait_for_workers(n_workers, timeout=180)
        yield cluster
    finally:
        for process in processes.values():
            stop_group(process, (signal.SIGTERM, signal.SIGTERM))


# ---- stored results, and one sequential run over the 8 labelled calls --------------------------------

def _sessions(url: str):
    from callqc.db import make_engine, session_factory

    return session_factory(make_engine(url))


def _fresh_bucket(s3_settings):
    from callqc.settings import Settings
    from callqc.storage import RecordingStore

    data = s3_settings.model_dump()
    data["storage"]["bucket"] = f"t-{uuid.uuid4().hex[:12]}"
    settings = Settings.model_validate(data)
    store = RecordingStore(settings)
    store.ensure_bucket()
    return settings, store


def _migrated_sqlite(tmp_path) -> str:
    from callqc import db

    url = f"sqlite:///{tmp_path / 'callqc.db'}"
    db.upgrade(url)
    return url


@dataclass(frozen=True)
class CallResult:
    """What the flow stored for one recording, comparable across runs."""

    status: str
    score: float | None
    flagged: bool | None
    findings: tuple[tuple, ...]
    segments: tuple[tuple, ...]


def stored_results(database_url: str) -> dict[str, CallResult]:
    """call_id → its stored status, score, findings and transcript segments."""
    from sqlalchemy import select

    from callqc.db import session_scope
    from callqc.db.models import CallScoreRow, FindingRow, Recording, SegmentRow, TranscriptRow

    results = {}
    with session_scope(_sessions(database_url)) as session:
        for recording in session.scalars(select(Recording).order_by(Recording.key)):
            score = session.scalar(select(CallScoreRow).where(CallScoreRow.recording_id == recording.id))
            findings = session.scalars(select(FindingRow).where(FindingRow.recording_id == recording.id)
                                       .order_by(FindingRow.rule_id, FindingRow.start_s)).all()
            segments = session.scalars(select(SegmentRow).join(TranscriptRow)
                                       .where(TranscriptRow.recording_id == recording.id)
                                       .order_by(SegmentRow.idx)).all()
            results[recording.call_id] = CallResult(
                recording.status, score and score.score, score and score.flagged,
                tuple((f.rule_id, f.category, f.severity, f.start_s, f.end_s, f.text) for f in findings),
                tuple((s.start_s, s.end_s, s.speaker, s.text) for s in segments))
    return results


@pytest.fixture(scope="session")
def labelled_run(s3_settings, prefect_api, tmp_path_factory):
    """One sequential nightly run over the 8 labelled calls, shared by the tests of several modules (registered
    in conftest, so the session computes it once)."""
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.nightly import nightly_qc

    tmp_path = tmp_path_factory.mktemp("labelled")
    bucket_settings, store = _fresh_bucket(s3_settings)
    settings = flow_settings(bucket_settings, _migrated_sqlite(tmp_path))
    upload_calls(settings, store, ALL_CALLS, tmp_path)
    sequential = nightly_qc.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))
    state = sequential(day=RUN_DAY, settings=settings, return_state=True)
    return settings, state
