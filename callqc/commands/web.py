"""CLI of the review web app: `callqc serve`, `callqc users add`, `callqc users disable`."""

from __future__ import annotations

import os

import typer

NEW_USER_PASSWORD_ENV = "CALLQC_NEW_USER_PASSWORD"

users_app = typer.Typer(help="Accounts of the review web app.", no_args_is_help=True)


def serve(host: str = typer.Option(None, help="Address to bind (default: web.host, 127.0.0.1)."),
          port: int = typer.Option(None, help="Port (default: web.port, 8000).")) -> None:
    """Run the QC review web app."""
    import uvicorn

    from callqc.settings import load_settings
    from callqc.web import create_app
    from callqc.web.security import WebConfigError

    settings = load_settings()
    try:
        app = create_app(settings)
    except WebConfigError as exc:
        typer.secho(f"cannot start: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    # proxy_headers off: uvicorn would believe X-Forwarded-For from any loopback peer; the app reads it itself,
    # and only from the proxies listed in web.trusted_proxies (callqc/web/security.py: client_ip).
    uvicorn.run(app, host=host or settings.web.host, port=port or settings.web.port,
                proxy_headers=False, server_header=False)


def _session_factory():
    from callqc import db
    from callqc.settings import load_settings

    settings = load_settings()
    return settings, db.sessions_for(settings.database_url)


@users_app.command("add")
def users_add(username: str = typer.Argument(..., help="Login name."),
              role: str = typer.Option(..., help="reviewer | manager | admin | agency_viewer"),
              agency: str = typer.Option(None, help="Agency code or name (agency_viewer only).")) -> None:
    """Create an account. The password comes from CALLQC_NEW_USER_PASSWORD or a prompt (never an argument)."""
    from callqc import db
    from callqc.web.auth import AccountError, add_user

    password = os.environ.get(NEW_USER_PASSWORD_ENV) or typer.prompt(
        f"Password for {username}", hide_input=True, confirmation_prompt=True)
    settings, factory = _session_factory()
    try:
        with db.session_scope(factory) as session:
            add_user(session, settings, username, password, role, agency)
    except AccountError as exc:
        typer.secho(f"user not added: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"added {role} '{username}'" + (f" for agency {agency}" if agency else ""))


@users_app.command("disable")
def users_disable(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Disable an account and end its open sessions at once."""
    from callqc import db
    from callqc.web.auth import AccountError, disable_user

    _, factory = _session_factory()
    try:
        with db.session_scope(factory) as session:
            disable_user(session, username)
    except AccountError as exc:
        typer.secho(f"user not disabled: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"disabled '{username}'")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
