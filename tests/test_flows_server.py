"""The scheduled deployment end to end: a real `prefect server start` on 127.0.0.1, `callqc deploy`,
`prefect deployment run`, a `callqc worker` executing it, the results in the database, and the cron schedule's
next run at 02:00 Asia/Shanghai. Plus: configs/prefect.yaml declares the same deployment as the settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from conftest import REPO_ROOT, _free_port
from flows_fixtures import RUN_DAY, flow_settings, table_counts, upload_calls

SERVER_START_TIMEOUT_S = 120
RUN_TIMEOUT_S = 300


def _wait_for(predicate, timeout_s: float, what: str, interval_s: float = 1.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _stop(process: subprocess.Popen, signals=(signal.SIGINT, signal.SIGINT, signal.SIGTERM)) -> None:
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
    log = open(tmp_path / "prefect-server.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        _wait_for(lambda: server.poll() is not None or _health(api_url), SERVER_START_TIMEOUT_S, "prefect server")
        assert server.poll() is None, (tmp_path / "prefect-server.log").read_text()[-3000:]
        yield api_url, env
    finally:
        _stop(server, (signal.SIGTERM, signal.SIGTERM))
        log.close()


@pytest.mark.slow
def test_cron_deployment_runs_on_a_worker(prefect_server, bucket_settings, store, sqlite_url, tmp_path):
    api_url, env = prefect_server
    settings = flow_settings(bucket_settings, sqlite_url, transcribe_concurrency=1)
    settings_file = tmp_path / "callqc.yaml"
    settings_file.write_text(yaml.safe_dump(settings.model_dump(mode="json"), allow_unicode=True))
    env = {**env, "CALLQC_SETTINGS": str(settings_file)}
    upload_calls(settings, store, ["callA_06"], tmp_path)
    cli = [sys.executable, "-m", "callqc.cli"]

    deployed = subprocess.run(cli + ["deploy"], env=env, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert "nightly-qc/nightly-qc" in deployed.stdout

    triggered = subprocess.run([sys.executable, "-m", "prefect", "deployment", "run", "nightly-qc/nightly-qc",
                                "--param", f"day={RUN_DAY.isoformat()}"], env=env, capture_output=True,
                               text=True, timeout=120, cwd=tmp_path)
    assert triggered.returncode == 0, triggered.stderr[-3000:]
    worker_log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen(cli + ["worker"], env=env, stdout=worker_log, stderr=subprocess.STDOUT,
                              start_new_session=True, cwd=tmp_path)
    try:
        deployment = httpx.get(f"{api_url}/deployments/name/nightly-qc/nightly-qc", timeout=10).json()

        def finished_manual_run():
            runs = httpx.post(f"{api_url}/flow_runs/filter", timeout=10, json={
                "deployments": {"id": {"any_": [deployment["id"]]}},
                "flow_runs": {"state": {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}}}).json()
            return runs[0] if runs else None

        run = _wait_for(finished_manual_run, RUN_TIMEOUT_S, "the worker to finish the triggered run", 2)
        worker_output = (tmp_path / "worker.log").read_text(errors="replace")
        assert run["state"]["type"] == "COMPLETED", worker_output[-4000:]
        assert run["parameters"]["day"] == RUN_DAY.isoformat()
    finally:
        _stop(worker)
        worker_log.close()

    counts = table_counts(sqlite_url)
    assert counts["recordings"] == 1 and counts["transcripts"] == 1 and counts["segments"] > 0
    assert counts["call_scores"] == 1

    schedule = deployment["schedules"][0]["schedule"]
    assert (schedule["cron"], schedule["timezone"]) == ("0 2 * * *", "Asia/Shanghai")

    def next_scheduled():
        runs = httpx.post(f"{api_url}/flow_runs/filter", timeout=10, json={
            "deployments": {"id": {"any_": [deployment["id"]]}},
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
            "sort": "EXPECTED_START_TIME_ASC", "limit": 1}).json()
        return runs[0] if runs else None

    upcoming = _wait_for(next_scheduled, 60, "the server's scheduler to create the next run")
    local = datetime.fromisoformat(upcoming["expected_start_time"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute) == (2, 0)
    assert local > datetime.now(ZoneInfo("Asia/Shanghai"))


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
