"""Fixtures and helpers for the orchestration tests (tests/test_flows*.py).

A real Prefect API (prefect_test_harness, a local server with SQLite) for the whole session, heartbeats off;
sample calls uploaded to the real SeaweedFS server from conftest; a migrated SQLite database per test.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from conftest import SAMPLES_DIR, SHARED_DIR

LABELLED_CALLS_DIR = next((d for d in (SAMPLES_DIR / "calls", SHARED_DIR / "data" / "calls")
                           if (d / "callA_01.flac").exists()), SHARED_DIR / "data" / "calls")
# The three shortest labelled calls (56-70 s): one compliant, two with violations. Whisper base ≈ 5 s each.
SHORT_CALLS = ("callA_03", "callA_04", "callA_06")
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


def thread_flow():
    """nightly_qc on in-process threads (one shared Whisper model): the fast way to run it in tests."""
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.nightly import nightly_qc

    return nightly_qc.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
