"""CLI commands of the attribution area: complaint import, reports, rectification items."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer

from callqc.commands import parse_day


def _factory():
    from callqc import db
    from callqc.settings import get_settings

    settings = get_settings()
    return db.sessions_for(settings.database_url), settings


def _error(message: str, colour: str = "red") -> None:
    """One line on stderr, as is: no rich panel, no padding to the terminal width."""
    typer.secho(message if colour == "yellow" else f"error: {message}", fg=colour, err=True)


def _show_manager_view(factory, settings, last_day: date) -> None:
    """What the dashboard shows for the 12 weeks up to `last_day`, in words, and how to open it."""
    from datetime import timedelta

    from callqc.db import session_scope
    from callqc.attribution import load_frames
    from qc.attribution.attribution import analyse
    from qc.attribution.config import load_attribution_config

    config = load_attribution_config()
    first_day = last_day - timedelta(days=last_day.weekday()) - timedelta(weeks=11)
    with session_scope(factory) as session:
        frames = load_frames(session, first_day, last_day, config.lookback_days, settings.qc.timezone)
    result = analyse(frames, first_day, last_day, config)
    heat = result.heatmap_agency_violation.stack().sort_values(ascending=False)
    lines = [f"Manager's view, {first_day} – {last_day}: {result.n_calls:,} calls "
             f"({result.n_synthetic_calls:,} synthetic demo history), {result.n_complaints:,} complaints"]
    if len(heat):
        (agency, category), rate = heat.index[0], heat.iloc[0]
        lines.append(f"  heat map: highest cell {agency} × {category} = {rate:.1f} complaints per 1,000 calls")
    for cause in result.root_causes[:3]:
        lines.append(f"  root cause #{cause.rank} [{cause.factor}] {cause.label}: OR {cause.odds_ratio:.2f} "
                     f"({cause.or_low:.2f}–{cause.or_high:.2f}), evidence calls {', '.join(cause.evidence_call_ids[:3])}")
    for warning in result.warnings[-3:]:
        lines.append(f"  early warning: {warning.dimension} {warning.value}, week of {warning.week_start}: "
                     f"{warning.rate_per_1000:.1f}‰ > limit {warning.ucl_per_1000:.1f}‰")
    url = f"http://{settings.web.host}:{settings.web.port}/dashboard"
    lines += ["See them in the manager's dashboard (投诉热力图, 预警, 归因):",
              "  . .venv/bin/activate",
              "  callqc users add manager1 --role manager      # asks for a password (or CALLQC_NEW_USER_PASSWORD)",
              f"  callqc serve                                 # then sign in as manager1 and open {url}",
              f"and in the report: callqc report --from {first_day} --to {last_day}  (HTML + Excel under "
              f"{settings.work_path / 'reports'})"]
    typer.echo("\n".join(lines))


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    complaints = typer.Typer(help="Customer complaints (12378, hotline, branch, regulator referrals).",
                             no_args_is_help=True)
    rectify = typer.Typer(help="Rectification items (问题-督导-整改-问责-效果).", no_args_is_help=True)
    app.add_typer(complaints, name="complaints")
    app.add_typer(rectify, name="rectify")

    @complaints.command("import")
    def import_command(file: Path = typer.Argument(..., help="CSV (UTF-8/UTF-8-BOM/GBK) or .xlsx export"),
                       sheet: Optional[str] = typer.Option(None, "--sheet", help="the workbook sheet to read "
                                                           "(default: the first whose header names the columns)")
                       ) -> None:
        """Import a complaint export; bad rows are listed (row, complaint, column, reason), good rows load; title,
        blank and 合计 rows are skipped. Exit 1 if any row was rejected."""
        from callqc.complaints import ImportFileError, import_complaints

        factory, settings = _factory()
        try:
            report = import_complaints(factory, file, tz=settings.qc.timezone, sheet=sheet)
        except ImportFileError as exc:
            _error(str(exc))
            raise typer.Exit(2) from None
        for error in report.errors:
            _error(f"{file}: {error}", colour="yellow")
        where = f", sheet '{report.sheet}'" if report.sheet else ""
        typer.echo(f"{file} ({report.encoding}{where}, header row {report.header_row}): {report.rows_read} rows read, "
                   f"{report.loaded} loaded ({report.inserted} inserted, {report.updated} updated, "
                   f"{report.unchanged} unchanged), {report.bad_rows} bad rows ({len(report.errors)} errors), "
                   f"{len(report.skipped)} skipped (title/blank/total), {report.seconds:.2f} s")
        if report.errors:
            raise typer.Exit(1)

    @app.command("report")
    def report_command(day_from: str = typer.Option(..., "--from", help="first day, YYYY-MM-DD"),
                       day_to: str = typer.Option(..., "--to", help="last day (inclusive), YYYY-MM-DD"),
                       out: Optional[Path] = typer.Option(None, "--out", help="output folder (default work_dir/reports)"),
                       lang: Optional[str] = typer.Option(None, "--lang", help="zh-CN or en (default: "
                                                          "configs/attribution.yaml language)")) -> None:
        """Attribution report for a period: HTML (charts inline) and an Excel workbook with the same tables."""
        from callqc.attribution import write_report

        start, end = parse_day(day_from, "--from"), parse_day(day_to, "--to")
        if end < start:
            raise typer.BadParameter("--to is before --from")
        factory, settings = _factory()
        if lang is not None and lang not in ("zh-CN", "en"):
            raise typer.BadParameter(f"--lang: '{lang}' is not one of zh-CN, en")
        paths = write_report(factory, start, end, out or settings.work_path / "reports", tz=settings.qc.timezone,
                             language=lang)
        typer.echo(f"html: {paths.html}\nxlsx: {paths.xlsx}")

    @app.command("demo-history")
    def demo_history(day: Optional[str] = typer.Option(None, "--date", help="the demo day, YYYY-MM-DD (default: "
                                                       "yesterday in prefect.timezone, as `callqc demo`)"),
                     show: bool = typer.Option(False, "--show", help="print what the manager's view shows and how "
                                                                     "to open it, change nothing")) -> None:
        """Demo only: a clearly labelled synthetic 12-week history with planted causes for the demo agencies, and
        the sample complaint export (samples/complaints) dated to the demo day and imported."""
        from datetime import datetime, timedelta
        from zoneinfo import ZoneInfo

        factory, settings = _factory()
        last_day = parse_day(day, "--date") if day else (
            datetime.now(ZoneInfo(settings.prefect.timezone)) - timedelta(days=1)).date()
        if show:
            _show_manager_view(factory, settings, last_day)
            return
        from callqc import db
        from callqc.attribution import demo_history_calls, write_demo_history
        from callqc.complaints import import_complaints
        from qc.attribution import demo

        db.upgrade(settings.database_url)
        existing = demo_history_calls(factory)
        if existing:
            typer.echo(f"synthetic demo history: kept the {existing:,} synthetic calls already in the database")
        else:
            agencies = tuple(code for code in settings.agencies if settings.language_for(code) == settings.asr.language)
            counts = write_demo_history(factory, last_day, agencies, settings.qc.timezone)
            typer.echo(f"synthetic demo history (labelled SYN-, bucket 'synthetic'): {counts['recordings']:,} calls, "
                       f"{counts['findings']:,} findings, {counts['complaints']:,} complaints for "
                       f"{', '.join(agencies)}, {last_day - timedelta(days=7 * demo.HISTORY_WEEKS - 1)} – {last_day}")
        target = settings.work_path / "complaints" / f"complaints_{last_day:%Y%m%d}.csv"
        demo.redate_export(demo.SAMPLE_EXPORT, target, last_day, settings.qc.timezone)
        report = import_complaints(factory, target, tz=settings.qc.timezone)
        typer.echo(f"sample complaint export {target} ({report.encoding}, header row {report.header_row}): "
                   f"{report.loaded} loaded ({report.inserted} new), {report.bad_rows} bad rows, "
                   f"{len(report.skipped)} title/total rows skipped")

    @rectify.command("list")
    def rectify_list(status: Optional[str] = typer.Option(None, help="only items with this status")) -> None:
        """List rectification items with their status, due date and measured effect."""
        from callqc.db import session_scope
        from callqc.rectification import items_table

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
        from callqc.rectification import RectificationError, create_item
        from qc.attribution.config import load_attribution_config

        factory, _ = _factory()
        try:
            with session_scope(factory) as session:
                item = create_item(session, agency, title, parse_day(due, "--due") if due else None, owner, description,
                                   load_attribution_config())
                typer.echo(f"created #{item.id} due {item.due_date}")
        except RectificationError as exc:
            _error(str(exc))
            raise typer.Exit(2) from None

    @rectify.command("update")
    def rectify_update(item_id: int = typer.Argument(...), status: Optional[str] = typer.Option(None),
                       owner: Optional[str] = typer.Option(None), due: Optional[str] = typer.Option(None),
                       action: Optional[str] = typer.Option(None, "--action", help="accountability action (问责)")
                       ) -> None:
        """Move an item's status (open|in_progress|done|closed), owner, due date or accountability action."""
        from callqc.db import session_scope
        from callqc.rectification import RectificationError, update_item

        factory, _ = _factory()
        try:
            with session_scope(factory) as session:
                item = update_item(session, item_id, status=status, owner=owner,
                                   due_date=parse_day(due, "--due") if due else None, accountability_action=action)
                typer.echo(f"#{item.id} [{item.status}] due {item.due_date}")
        except RectificationError as exc:
            _error(str(exc))
            raise typer.Exit(2) from None
