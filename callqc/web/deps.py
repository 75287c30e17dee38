"""Request dependencies: the database session, the signed-in user, permission checks, page rendering."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterator

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from callqc.settings import Settings
from callqc.web.auth import CurrentUser, Permission
from callqc.web.security import SESSION_COOKIE
from callqc.web.sessions import ActiveSession, load_session


class NotAuthenticated(Exception):
    """No valid session: pages redirect to the login form, other requests get 401."""


class Forbidden(Exception):
    """Signed in, but the role lacks the permission."""


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def now(request: Request) -> datetime:
    """The app's clock (UTC); tests move it forward to expire sessions."""
    return request.app.state.clock()


def get_db(request: Request) -> Iterator[Session]:
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


def active_session(request: Request, db: Session) -> ActiveSession | None:
    """The request's live server-side session (looked up once per request), or None."""
    if not hasattr(request.state, "web_session"):
        request.state.web_session = load_session(db, request.app.state.settings,
                                                 request.cookies.get(SESSION_COOKIE), now(request))
    return request.state.web_session


def current_user(request: Request, db: Session = Depends(get_db)) -> CurrentUser:
    """The session's user, checked on every request: a revoked, expired or disabled session is refused at once."""
    session = active_session(request, db)
    if session is None:
        raise NotAuthenticated()
    return session.user


def require(permission: Permission) -> Callable[..., CurrentUser]:
    def check(user: CurrentUser = Depends(current_user)) -> CurrentUser:
        if not user.can(permission):
            raise Forbidden()
        return user

    return check


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    templates = request.app.state.templates
    return templates.TemplateResponse(request, template, context, status_code=status_code)
