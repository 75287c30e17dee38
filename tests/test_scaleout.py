"""One nightly run fanned out over a real multi-process Dask cluster: `dask scheduler` and two `dask worker`
processes, each in its own directory with its own Prefect home and result storage, sharing nothing but S3
(SeaweedFS) and PostgreSQL, as on separate machines. The flow runs here and reaches the cluster through
`prefect.dask_address`; the workers report their task runs to this session's Prefect API.

What the scheduler records (its task stream: which worker ran which task) proves that both workers worked;
the database proves that every recording was processed exactly once, also after a worker is killed mid-run.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from distributed import Client

from flows_fixtures import (RUN_DAY, SHORT_CALLS, _fresh_bucket, dask_cluster, flow_settings, rows_per_recording,
                            stored_results, table_counts, upload_calls, wait_for)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.usefixtures("prefect_api")]
on_postgres = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


@pytest.fixture(scope="module")
def cluster(prefect_api, tmp_path_factory):
    """One cluster for this module: the kill test (last) leaves it with one worker."""
    with dask_cluster(tmp_path_factory.mktemp("cluster"), prefect_api, n_workers=2) as cluster:
        yield cluster


def _run_on(cluster, settings):
    """nightly_qc for RUN_DAY with its tasks on the cluster, as `callqc nightly` builds it from the settings.

    Task runs take the flow's Prefect settings with them, result storage (the transcript cache) included: a
    relative path puts it in each worker's own directory, as on separate machines (the flow process stores no
    task results)."""
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    from flows.nightly import nightly_qc
    from flows.runners import dask_task_runner

    assert settings.prefect.dask_address == cluster.address
    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: Path("prefect-results")}):
        return nightly_qc.with_options(task_runner=dask_task_runner(settings.prefect))(day=RUN_DAY,
                                                                                        settings=settings)


def _worker_names(client: Client) -> dict[str, str]:
    return {address: info["name"] for address, info in client.scheduler_info(n_workers=-1)["workers"].items()}


def _ran_on(stream: list[dict], names: dict[str, str], prefix: str) -> dict[str, set[str]]:
    """Task-stream records of finished tasks named prefix-…: Dask key → the names of the workers that ran it."""
    ran: dict[str, set[str]] = {}
    for record in stream:
        if str(record["key"]).startswith(prefix) and record.get("status", "OK") == "OK":
            ran.setdefault(str(record["key"]), set()).add(names[record["worker"]])
    return ran


@on_postgres
def test_dask_cluster_processes_each_recording_once_on_both_workers(cluster, labelled_run, s3_settings, db_url,
                                                                     tmp_path):
    """Two calls over two worker processes: each transcribed on its own worker, stored once, and the same
    transcript, score and findings as the session's sequential run of the same calls (another bucket, so no
    cached transcript is reused)."""
    from callqc.pipeline import whisper_threads

    chosen = ("callA_04", "callA_06")
    sequential_settings, _ = labelled_run
    bucket_settings, store = _fresh_bucket(s3_settings)
    settings = flow_settings(bucket_settings, db_url, dask_address=cluster.address, transcribe_concurrency=2)
    # Whisper's words depend on its thread count: the sequential run's, fixed (else "auto" per worker)
    settings = settings.model_copy(update={"asr": settings.asr.model_copy(
        update={"cpu_threads": whisper_threads(sequential_settings)})})
    upload_calls(settings, store, chosen, tmp_path)

    with Client(cluster.address) as client:
        names = _worker_names(client)
        client.get_task_stream()  # starts the scheduler's task-stream record
        started = time.time()
        summary = _run_on(cluster, settings)
        stream = client.get_task_stream(start=started)

    assert sorted(o.call_id for o in summary.processed) == sorted(chosen) and summary.failed == ()
    transcribed_on = _ran_on(stream, names, "transcribe-")
    assert len(transcribed_on) == len(chosen) and all(len(w) == 1 for w in transcribed_on.values())
    assert set().union(*transcribed_on.values()) == {"w1", "w2"}, transcribed_on  # both workers transcribed
    # each worker cached its own transcript in its own directory
    assert [len(list((cluster.directories[name] / "prefect-results").iterdir())) for name in ("w1", "w2")] == [1, 1]
    counts = table_counts(db_url)
    assert (counts["recordings"], counts["transcripts"], counts["call_scores"]) == (2, 2, 2)
    assert rows_per_recording(db_url) == {"transcripts": [1, 1], "call_scores": [1, 1]}
    on_cluster, sequential = stored_results(db_url), stored_results(sequential_settings.database_url)
    for call_id in chosen:
        assert on_cluster[call_id] == sequential[call_id], call_id


@on_postgres
def test_killed_dask_worker_run_completes_on_the_other(cluster, bucket_settings, store, db_url, tmp_path):
    """SIGKILL one worker (its nanny and worker process) while it transcribes: Dask reschedules its tasks,
    and the results it held, on the survivor; the run completes with every recording stored exactly once."""
    settings = flow_settings(bucket_settings, db_url, dask_address=cluster.address, transcribe_concurrency=2)
    keys = upload_calls(settings, store, SHORT_CALLS[:2], tmp_path)
    killed: dict[str, str] = {}

    def kill_first_transcribing_worker(client: Client, names: dict[str, str]) -> None:
        def transcribing():
            for address, stacks in client.call_stack().items():  # the tasks executing right now, per worker
                for key in stacks:
                    if str(key).startswith("transcribe-"):
                        return names[address], str(key)
            return None

        name, key = wait_for(transcribing, 300, "a worker to start transcribing", interval_s=0.2)
        os.killpg(cluster.workers[name].pid, signal.SIGKILL)
        killed.update(name=name, key=key)

    with Client(cluster.address) as client:
        names = _worker_names(client)
        client.get_task_stream()
        started = time.time()
        killer = threading.Thread(target=kill_first_transcribing_worker, args=(client, names), daemon=True)
        killer.start()
        summary = _run_on(cluster, settings)
        killer.join(timeout=10)
        stream = client.get_task_stream(start=started)

    assert killed, "no worker was killed"
    survivor = ({"w1", "w2"} - {killed["name"]}).pop()
    assert cluster.workers[killed["name"]].poll() is not None
    assert _ran_on(stream, names, killed["key"])[killed["key"]] == {survivor}  # the interrupted transcription
    assert len(summary.processed) == len(keys) and summary.failed == ()
    counts = table_counts(db_url)
    assert (counts["recordings"], counts["transcripts"], counts["call_scores"]) == (len(keys),) * 3
    assert rows_per_recording(db_url) == {"transcripts": [1] * len(keys), "call_scores": [1] * len(keys)}
    assert {r.status for r in stored_results(db_url).values()} == {"scored"}
