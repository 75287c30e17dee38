"""Small pieces of the orchestration that need no server: the days a run covers, the transcript cache key,
the optional-stage check, the task runners, the CLI's date options."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from callqc.pipeline import WorkItem
from callqc.settings import load_settings


def test_run_days_default_to_yesterday_in_the_schedule_timezone():
    from flows.nightly import run_days

    yesterday = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date()
    assert run_days(None, None, "Asia/Shanghai") == [yesterday]
    assert run_days(date(2026, 11, 1), date(2026, 11, 3), "UTC") == [date(2026, 11, 1), date(2026, 11, 2),
                                                                     date(2026, 11, 3)]
    with pytest.raises(ValueError, match="before start day"):
        run_days(date(2026, 11, 3), date(2026, 11, 1), "UTC")


def test_transcript_cache_key_is_the_object_version_and_the_model():
    from flows.nightly import transcript_cache_key

    settings = load_settings(environ={})
    item = WorkItem(1, "recordings", "hengxin/2026-11-02/c1.flac", "e1", "c1", 60.0, {})

    def key(item=item, **asr):
        return transcript_cache_key(None, {"item": item, "settings": settings.model_copy(
            update={"asr": settings.asr.model_copy(update=asr)})})

    assert key() == key(item=WorkItem(2, "recordings", item.key, "e1", "other-id", 1.0, {"left": "agent"}))
    assert len({key(), key(model="tiny.en"), key(backend="openai-whisper"), key(language="en"),
                key(item=WorkItem(1, "recordings", item.key, "e2", "c1", 60.0, {})),
                key(item=WorkItem(1, "other-bucket", item.key, "e1", "c1", 60.0, {}))}) == 6
    other_pack = settings.model_copy(update={"qc": settings.qc.model_copy(update={"rule_pack": "us_fdcpa"})})
    assert transcript_cache_key(None, {"item": item, "settings": other_pack}) == key()  # rescoring reuses it


def test_task_runners_follow_the_settings():
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    from flows.runners import task_runner

    prefect = load_settings(environ={}).prefect
    local = task_runner(prefect, "dask")
    assert isinstance(local, DaskTaskRunner) and local.cluster_kwargs["n_workers"] == prefect.transcribe_concurrency
    external = task_runner(prefect.model_copy(update={"dask_address": "tcp://10.0.0.5:8786"}), "dask")
    assert external.address == "tcp://10.0.0.5:8786"
    assert isinstance(task_runner(prefect, "threads"), ThreadPoolTaskRunner)
    with pytest.raises(ValueError, match="unknown task runner"):
        task_runner(prefect, "celery")


@pytest.mark.parametrize("args, message", [
    (["nightly", "--date", "2026-13-01"], "is not a date"),
    (["nightly", "--to", "2026-11-02"], "--to needs --from"),
    (["nightly", "--date", "2026-11-02", "--from", "2026-11-01"], "either --date or --from"),
])
def test_nightly_command_rejects_bad_dates(args, message):
    from callqc.cli import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and message in result.output


def test_deploy_needs_a_prefect_server(monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from callqc.cli import app

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):  # also outside a test harness's server
        result = CliRunner().invoke(app, ["deploy"])
    assert result.exit_code == 2 and "PREFECT_API_URL is not set" in result.output
