"""Foundation commands: the embedded S3 server, database migrations, ingest and the sample recordings."""

from __future__ import annotations

from typing import Optional

import typer

from callqc.commands import parse_day

storage_app = typer.Typer(help="The embedded S3 server (SeaweedFS on 127.0.0.1).", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations (SQLite by default, PostgreSQL by URL).", no_args_is_help=True)
samples_app = typer.Typer(help="The sample recordings in samples/calls.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.add_typer(storage_app, name="storage")
    app.add_typer(db_app, name="db")
    app.add_typer(samples_app, name="samples")
    app.command("ingest")(ingest)


def _fail(message: str, code: int = 1) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(code)


# ---- storage ------------------------------------------------------------------------------------------

@storage_app.command("up")
def storage_up() -> None:
    """Start the embedded SeaweedFS S3 server (if not running) and create the recordings bucket."""
    from callqc import seaweed
    from callqc.settings import get_settings
    from callqc.storage import RecordingStore, StorageError

    settings = get_settings()
    if not settings.storage.embedded:
        _fail(f"storage.embedded is false: nothing to start; recordings are read from {settings.storage.endpoint}")
    try:
        pid = seaweed.start(settings)
        RecordingStore(settings).ensure_bucket()
    except (seaweed.LocalS3Error, StorageError) as exc:
        _fail(str(exc))
    typer.echo(f"SeaweedFS S3 running (pid {pid}) at http://{settings.storage.endpoint}, "
               f"bucket '{settings.storage.bucket}', data in {seaweed.server_dir(settings) / 'data'}")


@storage_app.command("down")
def storage_down() -> None:
    """Stop the embedded S3 server."""
    from callqc import seaweed
    from callqc.settings import get_settings

    stopped = seaweed.stop(get_settings())
    typer.echo("SeaweedFS stopped" if stopped else "SeaweedFS was not running")


@storage_app.command("status")
def storage_status() -> None:
    """Show whether the embedded S3 server runs and answers; exit code 1 if not."""
    from callqc import seaweed
    from callqc.settings import get_settings

    info = seaweed.status(get_settings())
    for name, value in info.items():
        typer.echo(f"{name}: {value}")
    if not info["s3_answering"]:
        raise typer.Exit(1)


# ---- database -----------------------------------------------------------------------------------------

def _database_url(url: str | None) -> str:
    from callqc.settings import get_settings

    return url or get_settings().database_url


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="target revision"),
               url: Optional[str] = typer.Option(None, help="database URL (default: database.url from settings)")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from callqc import db

    target = _database_url(url)
    db.upgrade(target, revision)
    typer.echo(f"database at revision {db.current_revision(target)}")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument("base", help="target revision ('base' drops every table)"),
                 url: Optional[str] = typer.Option(None, help="database URL (default: database.url from settings)")) -> None:
    """Revert migrations down to REVISION."""
    from callqc import db

    target = _database_url(url)
    db.downgrade(target, revision)
    typer.echo(f"database at revision {db.current_revision(target) or 'base'}")


@db_app.command("current")
def db_current(url: Optional[str] = typer.Option(None, help="database URL (default: database.url from settings)")) -> None:
    """Print the database's migration revision."""
    from callqc import db

    typer.echo(db.current_revision(_database_url(url)) or "base (no migrations applied)")


# ---- ingest -------------------------------------------------------------------------------------------

def ingest(
    day: str = typer.Option(..., "--date", help="delivery day YYYY-MM-DD: the {agency}/{day}/ folders to read"),
    agency: Optional[list[str]] = typer.Option(None, "--agency", help="only this agency (code or name); repeatable"),
) -> None:
    """Register the day's new recordings from the bucket in the database (idempotent; the bucket is not modified).

    The database is migrated to the latest revision first."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from callqc import db
    from callqc.ingest import IngestError, ingest_day
    from callqc.seaweed import LocalS3Error
    from callqc.settings import get_settings
    from callqc.storage import RecordingStore

    ingest_date = parse_day(day, "--date")
    settings = get_settings()
    console = Console()
    db.upgrade(settings.database_url)
    try:
        store = RecordingStore(settings)
        columns = (SpinnerColumn(), TextColumn("[bold]ingest {task.fields[day]}"), BarColumn(),
                   MofNCompleteColumn(), TextColumn("registered {task.fields[registered]} · rejected "
                                                    "{task.fields[rejected]}"), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            # the total is unknown while the listing streams; the bar pulses and counts
            task = progress.add_task("ingest", total=None, day=ingest_date.isoformat(), registered=0, rejected=0)
            counts = {"registered": 0, "rejected": 0}

            def advance(outcome) -> None:
                if outcome.outcome in counts:
                    counts[outcome.outcome] += 1
                progress.update(task, advance=1, **counts)

            report = ingest_day(settings, db.sessions_for(settings.database_url), store, ingest_date,
                                agency or None, advance)
    except (IngestError, LocalS3Error) as exc:  # LocalS3Error: no S3 credentials configured
        _fail(f"ingest failed: {exc}")
    _print_report(console, report)


def _print_report(console, report) -> None:
    from rich.table import Table

    table = Table(title=f"Ingest {report.day.isoformat()} (run {report.run_id})")
    for column in ("agency", "registered", "skipped", "rejected"):
        table.add_column(column, justify="left" if column == "agency" else "right")
    totals = {"registered": 0, "skipped": 0, "rejected": 0}
    for agency, counts in sorted(report.counts_by_agency.items()):
        table.add_row(agency, *(str(counts[c]) for c in totals))
        for column in totals:
            totals[column] += counts[column]
    table.add_row("[bold]total", *(f"[bold]{totals[c]}" for c in totals))
    console.print(table)
    if report.rejected:
        rejected = Table(title="Rejected (recorded in the database with the reason; the bucket is unchanged)")
        rejected.add_column("key", overflow="fold")
        rejected.add_column("reason", overflow="fold")
        for item in report.rejected:
            rejected.add_row(item.key, item.reason)
        console.print(rejected)
    if not report.counts_by_agency:
        console.print(f"no objects under any agency folder for {report.day.isoformat()}")


# ---- samples ------------------------------------------------------------------------------------------

@samples_app.command("upload")
def samples_upload(
    day: Optional[str] = typer.Option(None, "--date", help="re-date every call to this day YYYY-MM-DD "
                                                           "(default: each call's own started_at date)"),
) -> None:
    """Upload the sample calls (audio + sidecar) to {agency}/{date}/ in the recordings bucket."""
    from callqc.samples import SampleError, upload_samples
    from callqc.seaweed import LocalS3Error
    from callqc.settings import get_settings
    from callqc.storage import RecordingStore, StorageError

    settings = get_settings()
    try:
        uploaded = upload_samples(settings, RecordingStore(settings), parse_day(day, "--date"))
    except StorageError as exc:
        hint = " — is the S3 server running? (`callqc storage up`)" if exc.code is None else ""
        _fail(f"sample upload failed: {exc}{hint}")
    except (SampleError, LocalS3Error) as exc:
        _fail(f"sample upload failed: {exc}")
    written = [u for u in uploaded if not u.unchanged]
    days = sorted({u.key.split("/")[1] for u in uploaded})
    typer.echo(f"{len(written)} objects uploaded, {len(uploaded) - len(written)} already there, "
               f"to s3://{settings.storage.bucket} for {', '.join(days)}")
    typer.echo("ingest them with: " + " ; ".join(f"callqc ingest --date {d}" for d in days[:3])
               + (" …" if len(days) > 3 else ""))

