"""The `callqc` command line. Each area registers its commands from callqc/commands/<area>.py.

The orchestration layer's commands (`nightly`, `deploy`, `worker`, `demo`) live in flows/commands.py and join
through the `callqc.commands` entry point (pyproject.toml): flows/ depends on callqc/, never the other way.
Heavy libraries (torch, whisper, prefect) are imported inside the commands, so `callqc --help` stays fast.
"""

from __future__ import annotations

import sys

import typer

from callqc.commands import asr, attribution, foundation, models, rules, web

app = typer.Typer(
    name="callqc",
    help="Quality inspection of debt-collection calls: ingest, transcribe, score, review, attribute complaints.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help and errors: no boxes padded to the terminal width, no rich import
)

for area in (foundation, asr, rules, models, attribution, web):
    area.register(app)


def _register_plugins() -> None:
    """Commands of the layers above callqc/ (flows/), declared as `callqc.commands` entry points."""
    from importlib.metadata import entry_points

    for entry in sorted(entry_points(group="callqc.commands"), key=lambda e: e.name):
        entry.load()(app)


_register_plugins()


def _runtime_environment() -> None:
    """Defaults every command shares: no telemetry, caches and Prefect's home under the work dir."""
    import os

    from callqc.settings import get_settings

    work = get_settings().work_path
    os.environ.setdefault("NUMBA_CACHE_DIR", str(work / "numba-cache"))
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect-home"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def main() -> None:
    from callqc.settings import SettingsError

    try:
        _runtime_environment()
        app()
    except SettingsError as exc:
        typer.secho(f"settings error: {exc}", fg="red", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
