"""The review web app: `create_app(settings)` builds the FastAPI application; `callqc serve` runs it."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.sessions import SessionMiddleware

from callqc.settings import Settings
from callqc.storage import RecordingStore
from callqc.web.auth import Permission, ensure_bootstrap_admin
from callqc.web.dashboard import PanelCache
from callqc.web.deps import Forbidden, NotAuthenticated, render
from callqc.web.routes import post_router, router
from callqc.web.security import SECURITY_HEADERS, LoginRateLimiter, csrf_token, session_secret

WEB_DIR = Path(__file__).resolve().parent
SESSION_COOKIE = "callqc_session"
SESSION_MAX_AGE_S = 8 * 3600  # one working day

log = logging.getLogger(__name__)


def _format_clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = int(seconds)
    return f"{whole // 60:d}:{whole % 60:02d}.{int((seconds - whole) * 10)}"


def _local_time(settings: Settings):
    """Stored times are UTC (SQLite returns them naive); pages show them in the QC timezone."""
    zone = ZoneInfo(settings.qc.timezone)

    def format_datetime(value: datetime | None) -> str:
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return format_datetime


def _templates(settings: Settings) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))  # autoescapes .html
    templates.env.globals["csrf_token"] = csrf_token
    templates.env.globals["Permission"] = Permission
    templates.env.filters["clock"] = _format_clock
    templates.env.filters["datetime"] = _local_time(settings)
    return templates


def _refresh_sqlite_statistics(session: Session) -> None:
    """SQLite plans the queue query from table statistics; without any it walks call_scores through the
    `flagged` index (random reads) and the queue page takes ~2x as long at 10k flagged calls. A sampled ANALYZE
    (analysis_limit) costs tens of milliseconds at any database size. PostgreSQL's autovacuum does this itself."""
    if session.bind.dialect.name == "sqlite":
        session.execute(text("PRAGMA analysis_limit=1000"))
        session.execute(text("ANALYZE"))


def create_app(settings: Settings, session_factory: sessionmaker[Session] | None = None,
               store: RecordingStore | None = None) -> FastAPI:
    """The app over a database (default: settings.database_url) and a recording store (default: lazily made)."""
    from callqc import db

    if session_factory is None:
        session_factory = db.session_factory(db.make_engine(settings.database_url))
    app = FastAPI(title="CallQC review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.store = store
    app.state.templates = _templates(settings)
    app.state.login_limiter = LoginRateLimiter()
    app.state.filter_choices = None
    app.state.dashboard_cache = PanelCache()

    with db.session_scope(session_factory) as session:
        _refresh_sqlite_statistics(session)
        if ensure_bootstrap_admin(session, settings):
            log.warning("created the bootstrap user 'admin' from CALLQC_ADMIN_PASSWORD (dev/demo mode only)")

    @app.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:  # noqa: ANN001
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    # Added last so it runs first: the session exists before the header middleware and the routes.
    app.add_middleware(SessionMiddleware, secret_key=session_secret(settings.web.production),
                       session_cookie=SESSION_COOKIE, max_age=SESSION_MAX_AGE_S, same_site="lax",
                       https_only=settings.web.production)

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, _exc: NotAuthenticated) -> Response:
        wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if wants_page:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return PlainTextResponse("sign in first", status_code=401)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _exc: Forbidden) -> Response:
        return render(request, "error.html", status_code=403, user=None, title="Not allowed",
                      message="Your role does not allow this.", back="/queue")

    app.include_router(router)
    app.include_router(post_router)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")
    return app
