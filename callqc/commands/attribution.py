"""CLI commands of the attribution area: complaint import, reports, rectification items."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer


def _factory():
    from callqc import db
    from callqc.settings import get_settings

    settings = get_settings()
    return db.session_factory(db.make_engine(settings.database_url)), settings


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{option}: expected a date YYYY-MM-DD, got '{value}'") from None


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    complaints = typer.Typer(help="Customer complaints (12378, hotline, branch, regulator referrals).",
                             no_args_is_help=True)
    rectify = typer.Typer(help="Rectification items (问题-督导-整改-问责-效果).", no_args_is_help=True)
    app.add_typer(complaints, name="complaints")
    app.add_typer(rectify, name="rectify")

    @complaints.command("import")
    def import_command(file: Path = typer.Argument(..., help="CSV (UTF-8/UTF-8-BOM/GBK) or .xlsx export")) -> None:
        """Import a complaint export; bad rows are listed (row, column, reason), good rows load. Exit 1 if any row
        was rejected."""
        from qc.attribution.importer import ImportFileError, import_complaints

        factory, settings = _factory()
        try:
            report = import_complaints(factory, file, tz=settings.qc.timezone)
        except ImportFileError as exc:
            typer.secho(f"error: {exc}", fg="red", err=True)
            raise typer.Exit(2) from None
        for error in report.errors:
            typer.secho(f"{file}: {error}", fg="yellow", err=True)
        typer.echo(f"{file} ({report.encoding}): {report.rows_read} rows read, {report.inserted} inserted, "
                   f"{report.updated} updated, {report.unchanged} unchanged, {len(report.errors)} errors")
        if report.errors:
            raise typer.Exit(1)

    @app.command("report")
    def report_command(day_from: str = typer.Option(..., "--from", help="first day, YYYY-MM-DD"),
                       day_to: str = typer.Option(..., "--to", help="last day (inclusive), YYYY-MM-DD"),
                       out: Optional[Path] = typer.Option(None, "--out", help="output folder (default work_dir/reports)")
                       ) -> None:
        """Attribution report for a period: HTML (charts inline) and an Excel workbook with the same tables."""
        from qc.reports import write_report

        start, end = _day(day_from, "--from"), _day(day_to, "--to")
        if end < start:
            raise typer.BadParameter("--to is before --from")
        factory, settings = _factory()
        paths = write_report(factory, start, end, out or settings.work_path / "reports", tz=settings.qc.timezone)
        typer.echo(f"html: {paths.html}\nxlsx: {paths.xlsx}")

    @rectify.command("list")
    def rectify_list(status: Optional[str] = typer.Option(None, help="only items with this status")) -> None:
        """List rectification items with their status, due date and measured effect."""
        from callqc.db import session_scope
        from qc.attribution.closed_loop import items_table

        factory, _ = _factory()
        with session_scope(factory) as session:
            table = items_table(session)
        if status:
            table = table[table["status"] == status]
        for item in table.itertuples(index=False):
            effect = ("" if item.effect_rate_before is None or item.effect_rate_after is None or
                      item.effect_rate_before != item.effect_rate_before else
                      f"  effect {item.effect_rate_before:.2f}‰ → {item.effect_rate_after:.2f}‰")
            typer.echo(f"#{item.id} [{item.status}] {item.agency} due {item.due_date}: {item.title}{effect}")

    @rectify.command("create")
    def rectify_create(agency: str = typer.Option(...), title: str = typer.Option(...),
                       due: Optional[str] = typer.Option(None, help="due date YYYY-MM-DD (default: in 30 days)"),
                       owner: Optional[str] = typer.Option(None), description: str = typer.Option("")) -> None:
        """Raise a rectification item against an agency by hand."""
        from callqc.db import session_scope
        from qc.attribution.closed_loop import RectificationError, create_item
        from qc.attribution.config import load_attribution_config

        factory, _ = _factory()
        try:
            with session_scope(factory) as session:
                item = create_item(session, agency, title, _day(due, "--due") if due else None, owner, description,
                                   load_attribution_config())
                typer.echo(f"created #{item.id} due {item.due_date}")
        except RectificationError as exc:
            typer.secho(f"error: {exc}", fg="red", err=True)
            raise typer.Exit(2) from None

    @rectify.command("update")
    def rectify_update(item_id: int = typer.Argument(...), status: Optional[str] = typer.Option(None),
                       owner: Optional[str] = typer.Option(None), due: Optional[str] = typer.Option(None),
                       action: Optional[str] = typer.Option(None, "--action", help="accountability action (问责)")
                       ) -> None:
        """Move an item's status (open|in_progress|done|closed), owner, due date or accountability action."""
        from callqc.db import session_scope
        from qc.attribution.closed_loop import RectificationError, update_item

        factory, _ = _factory()
        try:
            with session_scope(factory) as session:
                item = update_item(session, item_id, status=status, owner=owner,
                                   due_date=_day(due, "--due") if due else None, accountability_action=action)
                typer.echo(f"#{item.id} [{item.status}] due {item.due_date}")
        except RectificationError as exc:
            typer.secho(f"error: {exc}", fg="red", err=True)
            raise typer.Exit(2) from None
