"""The scheduled deployment end to end: a real `prefect server start` on 127.0.0.1, `callqc deploy`,
`prefect deployment run`, two `callqc worker` processes sharing the runs, a run whose machine dies finished by
a re-run, the results in PostgreSQL, and the cron schedule's next run at 02:00 Asia/Shanghai. Plus:
configs/prefect.yaml declares the same deployment as the settings."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from conftest import REPO_ROOT, _free_port
from flows_fixtures import (RUN_DAY, flow_settings, rows_per_recording, start_group, stop_group, stored_results,
                            table_counts, upload_calls, wait_for)

SERVER_START_TIMEOUT_S = 120
RUN_TIMEOUT_S = 300
CLI = [sys.executable, "-m", "callqc.cli"]


def _health(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def prefect_server(tmp_path):
    """`prefect server start` on a free 127.0.0.1 port with its own SQLite home; its API URL and env."""
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": api_url,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2", "PREFECT_WORKER_QUERY_SECONDS": "2",
           "PYTHONPATH": str(REPO_ROOT)}
    server = start_group([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                          "--port", str(port)], tmp_path / "prefect-server.log", env, tmp_path)
    try:
        wait_for(lambda: server.poll() is not None or _health(api_url), SERVER_START_TIMEOUT_S, "prefect server")
        assert server.poll() is None, (tmp_path / "prefect-server.log").read_text()[-3000:]
        yield api_url, env
    finally:
        stop_group(server, (signal.SIGTERM, signal.SIGTERM))


def _trigger(env: dict, day: date, cwd: Path) -> str:
    """`prefect deployment run` for one day; the new flow run's id."""
    triggered = subprocess.run([sys.executable, "-m", "prefect", "deployment", "run", "nightly-qc/nightly-qc",
                                "--param", f"day={day.isoformat()}"], env=env, capture_output=True, text=True,
                               timeout=120, cwd=cwd)
    assert triggered.returncode == 0, triggered.stderr[-3000:]
    return re.search(r"UUID: ([0-9a-f-]{36})", triggered.stdout).group(1)


def _flow_run(api_url: str, run_id: str) -> dict:
    return httpx.get(f"{api_url}/flow_runs/{run_id}", timeout=10).json()


def _kill_flow_run_process(api_url: str, run_id: str) -> None:
    """SIGKILL a flow run's process group (the worker started it as a session of its own), if it is there."""
    pid = _flow_run(api_url, run_id).get("infrastructure_pid")
    if pid:
        try:
            os.killpg(int(str(pid).rsplit(":", 1)[-1]), signal.SIGKILL)
        except ProcessLookupError:
            pass


def _finished(api_url: str, run_id: str) -> dict | None:
    run = _flow_run(api_url, run_id)
    return run if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None


def _ran_by(workers: dict[str, Path]) -> dict[str, set[str]]:
    """Worker → the flow runs that ran in its subprocesses: their output, streamed into the worker's log, begins
    with "View at …/runs/flow-run/<id>". (Both workers may log "submitting flow run" for one run: the server
    lets one of them have it and aborts the other's submission.)"""
    return {name: set(re.findall(r"/runs/flow-run/([0-9a-f-]{36})", log.read_text(errors="replace")))
            for name, log in workers.items()}


def _recordings_of(database_url: str, day: date) -> dict[str, int]:
    """The day's recordings: how many have a transcript and how many a score."""
    from sqlalchemy import func, select

    from callqc.db import make_engine
    from callqc.db.models import CallScoreRow, Recording, TranscriptRow

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return {model.__tablename__: connection.scalar(
                select(func.count()).select_from(model).join(Recording, model.recording_id == Recording.id)
                .where(Recording.key.like(f"%/{day.isoformat()}/%"))) for model in (TranscriptRow, CallScoreRow)}
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_workers_share_a_backfill_and_a_rerun_finishes_a_killed_run(prefect_server, bucket_settings, store,
                                                                         db_url, tmp_path):
    """`callqc deploy`, then two `callqc worker --limit 1` processes on the pool, each in its own directory with
    its own Prefect home (as on two machines). A backfill of two days, triggered as two runs, goes one run to
    each worker. The second day's machine dies mid-run (its worker and its flow-run process SIGKILLed once the
    day's recording is transcribed, before it is scored); the first day completes on the other worker, and the
    second day triggered again completes there too: every recording with exactly one transcript and one score.
    And the cron schedule's next run is at 02:00 Asia/Shanghai."""
    api_url, env = prefect_server
    settings = flow_settings(bucket_settings, db_url, transcribe_concurrency=1)
    settings_file = tmp_path / "callqc.yaml"
    settings_file.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True))
    env = {**env, "CALLQC_SETTINGS": str(settings_file)}
    days = {RUN_DAY: ["callA_04"], RUN_DAY + timedelta(days=1): ["callA_06"]}
    for day, calls in days.items():
        (tmp_path / day.isoformat()).mkdir()
        upload_calls(settings, store, calls, tmp_path / day.isoformat(), day=day)
    kept_day, killed_day = days

    deployed = subprocess.run(CLI + ["deploy"], env=env, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert "nightly-qc/nightly-qc" in deployed.stdout
    started = [_trigger(env, day, tmp_path) for day in days]
    kept, doomed = started

    logs, workers = {}, {}
    try:
        for name in ("worker-1", "worker-2"):
            home = tmp_path / name
            home.mkdir()
            logs[name] = home / "worker.log"
            workers[name] = start_group(CLI + ["worker", "--limit", "1"], logs[name], {
                **env, "PREFECT_HOME": str(home / "prefect-home"), "PYTHONUNBUFFERED": "1"}, home)

        # the second day's machine dies between its transcript and its score
        wait_for(lambda: _recordings_of(db_url, killed_day)["transcripts"], RUN_TIMEOUT_S,
                 "the second day's transcript", 0.1)
        owner = next(name for name, ids in _ran_by(logs).items() if doomed in ids)
        os.killpg(workers[owner].pid, signal.SIGKILL)
        # Prefect 3.9 starts each flow run in a session (process group) of its own, so a dead worker's flow run
        # would carry on; a lost machine loses both
        _kill_flow_run_process(api_url, doomed)
        started.remove(doomed)
        workers[owner].wait(timeout=15)
        assert _recordings_of(db_url, killed_day) == {"transcripts": 1, "call_scores": 0}, "not killed mid-run"
        assert _flow_run(api_url, doomed)["state"]["type"] == "RUNNING"  # left so: nothing reports its end

        # the first day completes on the other worker: each worker took one run of the backfill
        survivor = ({"worker-1", "worker-2"} - {owner}).pop()
        finished = wait_for(lambda: _finished(api_url, kept), RUN_TIMEOUT_S, "the first day's run", 1)
        assert finished["state"]["type"] == "COMPLETED", _tails(logs)
        assert _ran_by(logs) == {owner: {doomed}, survivor: {kept}}

        # the second day again: finished by the survivor, reusing the stored transcript
        started.append(rerun := _trigger(env, killed_day, tmp_path))
        finished = wait_for(lambda: _finished(api_url, rerun), RUN_TIMEOUT_S, "the re-run", 1)
        assert finished["state"]["type"] == "COMPLETED", _tails(logs)
        assert finished["parameters"]["day"] == killed_day.isoformat()
        assert _ran_by(logs)[survivor] == {kept, rerun}
    finally:
        for worker in workers.values():
            stop_group(worker)
        for run_id in started:  # a failed test leaves none running: flow runs are not in their worker's group
            if not _finished(api_url, run_id):
                _kill_flow_run_process(api_url, run_id)

    counts = table_counts(db_url)
    assert counts["recordings"] == len(days) and counts["segments"] > 0
    assert rows_per_recording(db_url) == {"transcripts": [1, 1], "call_scores": [1, 1]}
    assert {r.status for r in stored_results(db_url).values()} == {"scored"}

    deployment = httpx.get(f"{api_url}/deployments/name/nightly-qc/nightly-qc", timeout=10).json()
    schedule = deployment["schedules"][0]["schedule"]
    assert (schedule["cron"], schedule["timezone"]) == ("0 2 * * *", "Asia/Shanghai")

    def next_scheduled():
        runs = httpx.post(f"{api_url}/flow_runs/filter", timeout=10, json={
            "deployments": {"id": {"any_": [deployment["id"]]}},
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
            "sort": "EXPECTED_START_TIME_ASC", "limit": 1}).json()
        return runs[0] if runs else None

    upcoming = wait_for(next_scheduled, 60, "the server's scheduler to create the next run")
    local = datetime.fromisoformat(upcoming["expected_start_time"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute) == (2, 0)
    assert local > datetime.now(ZoneInfo("Asia/Shanghai"))


def _tails(logs: dict[str, Path]) -> str:
    return "\n".join(f"--- {name}\n{log.read_text(errors='replace')[-3000:]}" for name, log in logs.items())


def test_prefect_yaml_declares_the_settings_deployment():
    from callqc.settings import load_settings
    from flows.deployments import ENTRYPOINT

    prefect = load_settings(environ={}).prefect
    declared = yaml.safe_load((REPO_ROOT / "configs" / "prefect.yaml").read_text())["deployments"]
    assert len(declared) == 1
    deployment = declared[0]
    assert deployment["name"] == prefect.deployment_name
    assert deployment["entrypoint"] == ENTRYPOINT
    assert deployment["work_pool"]["name"] == prefect.work_pool
    assert deployment["schedules"] == [{"cron": prefect.cron, "timezone": prefect.timezone}]
    assert (Path(REPO_ROOT) / ENTRYPOINT.split(":")[0]).exists()
