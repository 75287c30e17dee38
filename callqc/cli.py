"""The `callqc` command line. Each area registers its commands from callqc/commands/<area>.py.

Heavy libraries (torch, whisper, prefect) are imported inside the commands, so `callqc --help` stays fast.
"""

from __future__ import annotations

import sys

import typer

from callqc.commands import asr, attribution, flows, foundation, models, rules, web

app = typer.Typer(
    name="callqc",
    help="Quality inspection of debt-collection calls: ingest, transcribe, score, review, attribute complaints.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for area in (foundation, asr, rules, models, flows, attribution, web):
    area.register(app)


def main() -> None:
    from callqc.settings import SettingsError

    try:
        app()
    except SettingsError as exc:
        typer.secho(f"settings error: {exc}", fg="red", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
