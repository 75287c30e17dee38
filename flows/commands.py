"""CLI of the orchestration layer: `callqc nightly`, `callqc deploy`, `callqc worker`, `callqc demo`.

Registered on the `callqc` app through the `callqc.commands` entry point (pyproject.toml).

Without PREFECT_API_URL, flows run against Prefect's temporary local server (SQLite under the work dir's
prefect-home), which starts with the run and stops with it. With PREFECT_API_URL they use that server.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Iterator

import typer

from callqc.commands import parse_day

RUNNER_HELP = "dask: a Dask LocalCluster (or prefect.dask_address); threads: in-process threads."


def prefect_environment(settings) -> None:
    """Telemetry off and Prefect's home under the work dir; must run before prefect is imported."""
    os.environ.setdefault("PREFECT_HOME", str(settings.work_path / "prefect-home"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("NUMBA_CACHE_DIR", str(settings.work_path / "numba-cache"))


@contextmanager
def prefect_api() -> Iterator[str]:
    """The Prefect API for this command: PREFECT_API_URL when set, else Prefect's temporary local server (SQLite
    in PREFECT_HOME), started here and stopped on the way out. Its URL is exported so that Dask worker
    processes report to this server too (left alone, each would start a temporary server of its own)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield PREFECT_API_URL.value()
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start(timeout=120)
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        # send the run's last logs and events while the server is still there, then stop it
        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()


def _run_nightly(settings, day: date | None, end_day: date | None, agencies: list[str] | None, runner: str):
    from flows.nightly import nightly_qc
    from flows.runners import task_runner

    with prefect_api():
        return nightly_qc.with_options(task_runner=task_runner(settings.prefect, runner))(
            day=day, end_day=end_day, agencies=agencies)


def _print_summary(summary) -> None:
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(summary.markdown()))


def nightly(
    day: str = typer.Option(None, "--date", help="The day to run, YYYY-MM-DD (default: yesterday in "
                                                  "prefect.timezone)."),
    first: str = typer.Option(None, "--from", help="Backfill: first day, YYYY-MM-DD."),
    last: str = typer.Option(None, "--to", help="Backfill: last day, YYYY-MM-DD (default: --from)."),
    agency: list[str] = typer.Option(None, "--agency", help="Only this agency (code or name); repeatable."),
    runner: str = typer.Option("dask", help=RUNNER_HELP),
) -> None:
    """Run the nightly QC flow once: ingest → transcribe → score → reports → summary."""
    from callqc.settings import load_settings

    settings = load_settings()
    prefect_environment(settings)
    if day and first:
        raise typer.BadParameter("give either --date or --from/--to", param_hint="--date")
    start = parse_day(day, "--date") or parse_day(first, "--from")
    end = parse_day(last, "--to") if first else None
    if last and not first:
        raise typer.BadParameter("--to needs --from", param_hint="--to")
    summary = _run_nightly(settings, start, end, list(agency or []) or None, runner)
    _print_summary(summary)


def deploy() -> None:
    """Register the nightly deployment (cron prefect.cron in prefect.timezone) on the Prefect server."""
    from callqc.settings import load_settings

    settings = load_settings()
    prefect_environment(settings)
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        typer.secho("PREFECT_API_URL is not set: a deployment needs a running Prefect server "
                    "(`prefect server start`, see docs/operations.md).", fg="red", err=True)
        raise typer.Exit(2)
    from flows.deployments import deploy_nightly

    info = deploy_nightly(settings.prefect)
    typer.echo(f"deployment {info.name} ({info.id}): cron '{info.cron}' {info.timezone}, work pool {info.work_pool}")
    typer.echo(f"start a worker with `callqc worker`; run it now with `prefect deployment run {info.name}`")


def worker(limit: int = typer.Option(1, help="At most this many flow runs at once on this worker (each starts "
                                              "its own Dask cluster of prefect.transcribe_concurrency processes); "
                                              "0: no limit.")) -> None:
    """Start a Prefect worker on the nightly work pool (several workers may share the pool)."""
    import sys

    from callqc.settings import load_settings
    from flows.deployments import FLOWS_ROOT

    settings = load_settings()
    prefect_environment(settings)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FLOWS_ROOT), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", settings.prefect.work_pool,
               "--type", "process"]
    if limit:
        command += ["--limit", str(limit)]
    os.execv(sys.executable, command)


def demo(
    keep_storage: bool = typer.Option(False, "--keep-storage", help="Leave the S3 server running afterwards "
                                                                      "(the review UI plays audio from it)."),
    runner: str = typer.Option("dask", help=RUNNER_HELP),
) -> None:
    """The main job on the embedded default: S3 server, sample calls, one nightly run, summary, next steps."""
    from zoneinfo import ZoneInfo

    from rich.console import Console

    from callqc.settings import load_settings

    settings = load_settings()
    prefect_environment(settings)
    console = Console()
    from callqc import db, seaweed
    from callqc.samples import upload_samples
    from callqc.storage import RecordingStore

    started_storage = False
    if settings.storage.embedded and seaweed.running_pid(settings) is None:
        with console.status("starting the embedded S3 server (SeaweedFS) on 127.0.0.1 …"):
            seaweed.start(settings)
        started_storage = True
    try:
        day = (datetime.now(ZoneInfo(settings.prefect.timezone)) - timedelta(days=1)).date()
        store = RecordingStore(settings)
        uploaded = upload_samples(settings, store, day=day)
        console.print(f"sample calls in s3://{store.bucket}/ at {store.endpoint}: "
                      f"{sum(1 for u in uploaded if not u.key.endswith('.json'))} recordings for {day}")
        db.upgrade(settings.database_url)
        _ensure_promoted_models(console, settings, store)
        console.print("running the nightly flow through Prefect's temporary local server "
                      f"(home {os.environ['PREFECT_HOME']}); progress follows …")
        summary = _run_nightly(settings, day, None, None, runner)
        _print_summary(summary)
        _print_next_steps(console, settings, summary, started_storage and not keep_storage)
    finally:
        if started_storage and not keep_storage:
            seaweed.stop(settings)


def _ensure_promoted_models(console, settings, store) -> None:
    """Demo only: train and promote the seed-corpus models once, so the run scores with rules and models."""
    from callqc import db
    from callqc.model_registry import ensure_promoted_models

    with console.status("training the seed-corpus models if none is promoted …"):
        records = ensure_promoted_models(db.sessions_for(settings.database_url), store)
    for record in records:
        console.print(f"trained and promoted {record.version} (holdout macro-F1 {record.macro_f1:.3f})")


def _print_next_steps(console, settings, summary, storage_stopped: bool) -> None:
    url = f"http://{settings.web.host}:{settings.web.port}/"
    report = summary.report_html or "(no report: see the notes above)"
    console.print(f"[bold]Report:[/bold] {report}" + (f" and {summary.report_xlsx}" if summary.report_xlsx else ""))
    console.print(f"[bold]Database:[/bold] {settings.database_url}")
    steps = [". .venv/bin/activate                             # the callqc command lives in the project's venv",
             "callqc users add reviewer1 --role reviewer    # asks for a password (or CALLQC_NEW_USER_PASSWORD)"]
    if storage_stopped:
        steps.insert(1, "callqc storage up                                # audio playback needs the S3 server")
    steps.append("callqc serve")
    console.print("[bold]Review the flagged calls:[/bold]\n  " + "\n  ".join(steps) + f"\n  then open {url}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("nightly")(nightly)
    app.command("deploy")(deploy)
    app.command("worker")(worker)
    app.command("demo")(demo)
