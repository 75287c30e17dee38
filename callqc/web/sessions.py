"""Server-side sessions of the review app (table web_sessions).

Signing in makes a random token: the browser's cookie holds the token and nothing else; the database holds
its SHA-256, the user, the client, when it was made and last used, and whether it was revoked. A session ends
at logout or `callqc users disable` (revoked), after web.session_idle_minutes without a request, or
web.session_max_hours after sign-in — a copied cookie is worthless after any of these.

last_seen_at is written at most once a minute (TOUCH_EVERY), so a busy reviewer's page views do not each cost
a database write; the idle timeout is therefore exact to within that minute.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callqc.db.models import User, WebSession
from callqc.settings import Settings
from callqc.web.auth import CurrentUser

TOUCH_EVERY = timedelta(seconds=60)
MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class ActiveSession:
    id: int
    token: str
    user: CurrentUser
    unmasked: tuple[int, ...]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def start_session(db: Session, user: User, now: datetime, client_ip: str | None, user_agent: str | None) -> str:
    """A new session for `user`; returns the token for the cookie. The caller commits."""
    token = secrets.token_urlsafe(32)
    db.add(WebSession(token_hash=token_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
                      client_ip=client_ip, user_agent=(user_agent or "")[:256] or None, unmasked=[]))
    return token


def load_session(db: Session, settings: Settings, token: str | None, now: datetime) -> ActiveSession | None:
    """The live session of this token, or None (unknown, revoked, idle too long, too old, user disabled).

    An expired session is revoked on the way, so it stays dead even if the settings change. Commits a touch."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = db.execute(select(WebSession, User).join(User, User.id == WebSession.user_id)
                     .where(WebSession.token_hash == token_hash(token))).first()
    if row is None:
        return None
    session, user = row
    if session.revoked_at is not None:
        return None
    idle = now - _aware(session.last_seen_at)
    age = now - _aware(session.created_at)
    if (user.disabled or idle > timedelta(minutes=settings.web.session_idle_minutes)
            or age > timedelta(hours=settings.web.session_max_hours)):
        session.revoked_at = now
        db.commit()
        return None
    if idle > TOUCH_EVERY:
        session.last_seen_at = now
        db.commit()
    unmasked = tuple(i for i in (session.unmasked or []) if isinstance(i, int))
    return ActiveSession(id=session.id, token=token,
                         user=CurrentUser(id=user.id, username=user.username, role=user.role, agency=user.agency),
                         unmasked=unmasked)


def revoke(db: Session, token: str | None, now: datetime) -> None:
    """End the session of this token (logout). The caller commits."""
    if token and len(token) <= MAX_TOKEN_LENGTH:
        db.execute(update(WebSession).where(WebSession.token_hash == token_hash(token),
                                            WebSession.revoked_at.is_(None)).values(revoked_at=now))


def revoke_user_sessions(db: Session, user_id: int, now: datetime) -> int:
    """End every open session of a user (`users disable`); returns how many. The caller commits."""
    result = db.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
                        .values(revoked_at=now))
    return result.rowcount or 0


def set_unmasked(db: Session, session_id: int, recording_ids: list[int]) -> None:
    """The calls this session shows numbers of in clear. The caller commits."""
    db.execute(update(WebSession).where(WebSession.id == session_id).values(unmasked=recording_ids))
