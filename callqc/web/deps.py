"""Request dependencies: the database session, the signed-in user, permission checks, page rendering."""

from __future__ import annotations

from typing import Any, Callable, Iterator

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from callqc.db.models import User
from callqc.settings import Settings
from callqc.web.auth import CurrentUser, Permission


class NotAuthenticated(Exception):
    """No valid session: pages redirect to the login form, other requests get 401."""


class Forbidden(Exception):
    """Signed in, but the role lacks the permission."""


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


def current_user(request: Request, db: Session = Depends(get_db)) -> CurrentUser:
    """The session's user, re-read on every request so a disabled account is locked out at once."""
    user_id = request.session.get("uid")
    if not isinstance(user_id, int):
        raise NotAuthenticated()
    row = db.execute(select(User.id, User.username, User.role, User.agency, User.disabled)
                     .where(User.id == user_id)).first()
    if row is None or row.disabled or row.username != request.session.get("username"):
        request.session.clear()
        raise NotAuthenticated()
    return CurrentUser(id=row.id, username=row.username, role=row.role, agency=row.agency)


def require(permission: Permission) -> Callable[..., CurrentUser]:
    def check(user: CurrentUser = Depends(current_user)) -> CurrentUser:
        if not user.can(permission):
            raise Forbidden()
        return user

    return check


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    templates = request.app.state.templates
    return templates.TemplateResponse(request, template, context, status_code=status_code)
