"""One module per area; each exposes register(app) adding its commands to the `callqc` Typer app."""

from __future__ import annotations

from datetime import date

import typer


def parse_day(value: str | None, option: str) -> date | None:
    """A command-line date (YYYY-MM-DD), None when not given; a clear error naming the option otherwise."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=option) from None
