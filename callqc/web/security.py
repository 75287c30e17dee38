"""Request-level protections: CSRF tokens, login rate limiting, security headers, the session secret."""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

SECRET_KEY_ENV = "CALLQC_WEB_SECRET_KEY"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

SECURITY_HEADERS = {
    # Scripts and styles come only from /static: an injected <script> or inline handler does not run.
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages carry personal data
}


class WebConfigError(RuntimeError):
    """The web app cannot start with these settings (e.g. production without a session secret)."""


def session_secret(production: bool, environ: dict[str, str] | None = None) -> str:
    """The cookie-signing key: CALLQC_WEB_SECRET_KEY; required in production, random per process otherwise."""
    environ = os.environ if environ is None else environ
    secret = environ.get(SECRET_KEY_ENV, "")
    if production and len(secret) < 32:
        raise WebConfigError(f"{SECRET_KEY_ENV} must be set to a random string of at least 32 characters "
                             "in production (web.production: true)")
    return secret or secrets.token_urlsafe(32)


# ---- CSRF: a random token per session, echoed by every form (hidden field) or fetch (header) -----------------

def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def _same_origin(request: Request) -> bool:
    """A browser's Origin (or Referer) header, when sent, must name this host."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def require_csrf(request: Request) -> None:
    """Dependency of every POST route: 403 unless the session's token came back and the origin is ours."""
    expected = request.session.get("csrf")
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    if not expected or not supplied or not hmac.compare_digest(expected, supplied):
        raise HTTPException(status_code=403, detail="CSRF token missing or invalid; reload the page and retry")
    if not _same_origin(request):
        raise HTTPException(status_code=403, detail="cross-origin request refused")


# ---- login rate limiting -----------------------------------------------------------------------------------

@dataclass
class LoginRateLimiter:
    """At most `max_failures` failed logins per key (username, and client address) within `window_s`."""

    max_failures: int = 5
    window_s: float = 300.0
    max_tracked_keys: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._failures.setdefault(key, deque())
        while events and now - events[0] > self.window_s:
            events.popleft()
        return events

    def retry_after(self, *keys: str) -> float:
        """Seconds until a login attempt is allowed again for these keys (0 when allowed now)."""
        now = self.clock()
        with self._lock:
            waits = [self.window_s - (now - events[0]) for key in keys
                     if len(events := self._recent(key, now)) >= self.max_failures]
        return max(waits, default=0.0)

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > self.max_tracked_keys:  # many made-up usernames: forget the expired ones
                for key in [k for k in self._failures if not self._recent(k, now)]:
                    del self._failures[key]

    def succeeded(self, username_key: str) -> None:
        with self._lock:
            self._failures.pop(username_key, None)
