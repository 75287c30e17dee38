"""Accounts, roles and permissions of the review app; argon2 password hashes.

Roles: reviewer (decides findings), manager (also unmasks numbers, resolves appeals, reads the dashboard),
admin (everything), agency_viewer (sees the calls of one agency only and may appeal confirmed findings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from callqc.db.models import User, utcnow
from callqc.settings import Settings

ROLES = ("reviewer", "manager", "admin", "agency_viewer")
MIN_PASSWORD_LENGTH = 12  # ASVS 2.1.1
BOOTSTRAP_ADMIN_ENV = "CALLQC_ADMIN_PASSWORD"
BOOTSTRAP_ADMIN_USERNAME = "admin"

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~70 ms a hash on the 2-core CI machine,
# where argon2-cffi's default (64 MiB, 3 passes, 4 lanes) takes ~600 ms a sign-in. Older hashes still verify and
# are rehashed at the next sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the username is unknown, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


class Permission(str, Enum):
    VIEW_QUEUE = "view_queue"
    DECIDE = "decide"            # confirm / reject / add findings, write notes
    UNMASK = "unmask"            # show phone, ID and card numbers in clear (audited)
    APPEAL = "appeal"            # appeal a confirmed finding of one's own agency
    RESOLVE_APPEAL = "resolve_appeal"
    DASHBOARD = "dashboard"


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "reviewer": frozenset({Permission.VIEW_QUEUE, Permission.DECIDE}),
    "manager": frozenset({Permission.VIEW_QUEUE, Permission.DECIDE, Permission.UNMASK,
                          Permission.RESOLVE_APPEAL, Permission.DASHBOARD}),
    "admin": frozenset(Permission),
    "agency_viewer": frozenset({Permission.VIEW_QUEUE, Permission.APPEAL}),
}


class AccountError(ValueError):
    """A user cannot be created or changed; the message says which field and why."""


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in user as the request handlers see it."""

    id: int
    username: str
    role: str
    agency: str | None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())

    @property
    def agency_scoped(self) -> bool:
        return self.role == "agency_viewer"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password: must have at least {MIN_PASSWORD_LENGTH} characters")


def add_user(session: Session, settings: Settings, username: str, password: str, role: str,
             agency: str | None = None) -> User:
    """Create an account. An agency_viewer needs a configured agency (code or display name; the code is stored)."""
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError("username: must be 1–64 characters")
    if role not in ROLES:
        raise AccountError(f"role: '{role}' is not one of {', '.join(ROLES)}")
    if role == "agency_viewer":
        if not agency:
            raise AccountError("agency: an agency_viewer must be given --agency")
        code = settings.agency_code(agency)
        if code is None:
            raise AccountError(f"agency: '{agency}' is not a configured agency ({', '.join(settings.agencies)})")
        agency = code
    elif agency:
        raise AccountError(f"agency: only an agency_viewer is scoped to an agency, not a {role}")
    check_password_strength(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"username: '{username}' already exists")
    user = User(username=username, password_hash=hash_password(password), role=role, agency=agency)
    session.add(user)
    session.flush()
    return user


def disable_user(session: Session, username: str) -> User:
    """Disable an account and end its open sessions at once."""
    from callqc.web.sessions import revoke_user_sessions  # sessions builds CurrentUser from this module

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"username: no user '{username}'")
    user.disabled = True
    revoke_user_sessions(session, user.id, utcnow())
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The enabled user with this password, or None. Rehashes when argon2's parameters changed."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or user.disabled:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def ensure_bootstrap_admin(session: Session, settings: Settings, environ: dict[str, str] | None = None) -> bool:
    """Dev/demo only: create user 'admin' from CALLQC_ADMIN_PASSWORD when no admin exists yet.

    Production never creates an account by itself (no default password): use `callqc users add`.
    Returns True when the account was created.
    """
    environ = os.environ if environ is None else environ
    password = environ.get(BOOTSTRAP_ADMIN_ENV)
    if settings.web.production or not password:
        return False
    if session.scalar(select(User.id).where(User.role == "admin")) is not None:
        return False
    add_user(session, settings, BOOTSTRAP_ADMIN_USERNAME, password, "admin")
    return True


def agency_names(settings: Settings, code: str | None) -> tuple[str, ...]:
    """The spellings a recording's `agency` column may hold for an agency: its code and display name."""
    if not code:
        return ()
    agency = settings.agencies.get(code)
    return (code, agency.name) if agency else (code,)
