"""The review web app: `create_app(settings)` builds the FastAPI application; `callqc serve` runs it."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from callqc.settings import Settings
from callqc.storage import RecordingStore
from callqc.web.auth import Permission, ensure_bootstrap_admin
from callqc.web.dashboard import PanelCache
from callqc.web.deps import Forbidden, NotAuthenticated, render
from callqc.web.labels import Labels
from callqc.web.routes import post_router, router
from callqc.web.security import (
    SESSION_COOKIE,
    LoginThrottle,
    PreSessionCookieMiddleware,
    SecurityHeadersMiddleware,
    csrf_token,
    parse_networks,
    session_secret,
)
from qc.pii import mask_pii

WEB_DIR = Path(__file__).resolve().parent

log = logging.getLogger(__name__)


def _format_clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = int(seconds)
    return f"{whole // 60:d}:{whole % 60:02d}.{int((seconds - whole) * 10)}"


def _templates(labels: Labels) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))  # autoescapes .html
    templates.env.globals.update(csrf_token=csrf_token, Permission=Permission, t=labels.t, labels=labels,
                                 ui_language=labels.language)
    templates.env.filters["clock"] = _format_clock
    templates.env.filters["local_time"] = labels.local_time
    return templates


def _refresh_sqlite_statistics(session: Session) -> None:
    """SQLite plans the queue query from table statistics; without any it walks call_scores through the
    `flagged` index (random reads) and the queue page takes ~2x as long at 10k flagged calls. A sampled ANALYZE
    (analysis_limit) costs tens of milliseconds at any database size. PostgreSQL's autovacuum does this itself."""
    if session.bind.dialect.name == "sqlite":
        session.execute(text("PRAGMA analysis_limit=1000"))
        session.execute(text("ANALYZE"))


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def create_app(settings: Settings, session_factory: sessionmaker[Session] | None = None,
               store: RecordingStore | None = None, clock: Callable[[], datetime] = _utcnow) -> FastAPI:
    """The app over a database (default: settings.database_url) and a recording store (default: lazily made).

    `clock` gives the current UTC time (sessions' idle and absolute timeouts); tests pass one they can move."""
    from callqc import db

    if session_factory is None:
        session_factory = db.sessions_for(settings.database_url)
    app = FastAPI(title="CallQC review", docs_url=None, redoc_url=None, openapi_url=None)
    labels = Labels(settings)
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.store = store
    app.state.clock = clock
    app.state.secret = session_secret(settings.web.production)
    app.state.trusted_proxies = parse_networks(settings.web.trusted_proxies)
    app.state.labels = labels
    app.state.templates = _templates(labels)
    app.state.login_throttle = LoginThrottle()
    app.state.filter_choices = {}
    app.state.dashboard_cache = PanelCache()

    with db.session_scope(session_factory) as session:
        _refresh_sqlite_statistics(session)
        if ensure_bootstrap_admin(session, settings):
            log.warning("created the bootstrap user 'admin' from CALLQC_ADMIN_PASSWORD (dev/demo mode only)")

    app.add_middleware(PreSessionCookieMiddleware, production=settings.web.production)
    # Added last so it runs first: every response, errors included, gets the security headers.
    app.add_middleware(SecurityHeadersMiddleware, production=settings.web.production)

    def _error_page(request: Request, status: int, title: str, message: str) -> Response:
        session = getattr(request.state, "web_session", None)
        return render(request, "error.html", status_code=status, user=session.user if session else None,
                      title=labels.t(title), message=mask_pii(message), back="/queue")

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, _exc: NotAuthenticated) -> Response:
        wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if wants_page:
            response: Response = RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        else:
            response = PlainTextResponse("sign in first", status_code=401)
        if request.cookies.get(SESSION_COOKIE):
            response.delete_cookie(SESSION_COOKIE)
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _exc: Forbidden) -> Response:
        return _error_page(request, 403, "Not allowed", labels.t("Your role does not allow this."))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}"
                             for e in exc.errors()[:5])
        return _error_page(request, 400, "Bad request", problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _error_page(request, 404, "Not found", labels.t("No such call, or not one you may see."))
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=exc.headers)

    app.include_router(router)
    app.include_router(post_router)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")
    return app
