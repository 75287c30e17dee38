"""Request-level protections: CSRF tokens, login throttling, the client address, security headers, the secret.

CSRF tokens are derived, not stored: HMAC(secret, session token) for a signed-in browser, HMAC(secret, pre-session
token) before sign-in (the pre-session cookie is a random value that carries nothing). Either way the token is
unknown to another site, which cannot read our cookies.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from ipaddress import ip_address, ip_network
from typing import Callable, Iterable
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

SECRET_KEY_ENV = "CALLQC_WEB_SECRET_KEY"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_COOKIE = "callqc_session"
PRE_SESSION_COOKIE = "callqc_pre"  # a random id of a browser that has not signed in: the sign-in form's CSRF token

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
HSTS = "max-age=31536000; includeSubDomains"  # production only: the app is served over https there

log = logging.getLogger(__name__)


class WebConfigError(RuntimeError):
    """The web app cannot start with these settings (e.g. production without a session secret)."""


def session_secret(production: bool, environ: dict[str, str] | None = None) -> str:
    """The key CSRF tokens are derived with: CALLQC_WEB_SECRET_KEY; required in production, random otherwise."""
    environ = os.environ if environ is None else environ
    secret = environ.get(SECRET_KEY_ENV, "")
    if production and len(secret) < 32:
        raise WebConfigError(f"{SECRET_KEY_ENV} must be set to a random string of at least 32 characters "
                             "in production (web.production: true)")
    return secret or secrets.token_urlsafe(32)


# ---- security headers on every response, errors included -------------------------------------------------

class SecurityHeadersMiddleware:
    """Adds the security headers (and HSTS in production) to every response; answers an unhandled error with a
    plain 500 that carries them too (Starlette's own error page would go out without them)."""

    def __init__(self, app, production: bool) -> None:  # noqa: ANN001
        self.app = app
        self.headers = {**SECURITY_HEADERS, **({"Strict-Transport-Security": HSTS} if production else {})}

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message) -> None:  # noqa: ANN001
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name.lower().encode(), value.encode()) for name, value in self.headers.items()
                         if name.lower().encode() not in present]
                if static:
                    extra = [(n, v) for n, v in extra if n != b"cache-control"] + [
                        (b"cache-control", b"public, max-age=3600")]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await send_with_headers({"type": "http.response.start", "status": 500,
                                     "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
            await send_with_headers({"type": "http.response.body", "body": b"internal error"})


class PreSessionCookieMiddleware:
    """Sets the pre-session cookie when a page made one (a sign-in form's CSRF token is derived from it)."""

    def __init__(self, app, production: bool) -> None:  # noqa: ANN001
        self.app = app
        self.secure = "; Secure" if production else ""

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message) -> None:  # noqa: ANN001
            token = scope.get("state", {}).get("new_pre_session")
            if message["type"] == "http.response.start" and token:
                cookie = f"{PRE_SESSION_COOKIE}={token}; HttpOnly; Path=/; SameSite=lax{self.secure}"
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


# ---- the client's address --------------------------------------------------------------------------------

def parse_networks(values: Iterable[str]):
    return tuple(ip_network(value, strict=False) for value in values)


def _ip(value: str):
    try:
        return ip_address(value.strip())
    except ValueError:
        return None


def client_ip(request: Request) -> str | None:
    """The connection's address; behind a trusted proxy (web.trusted_proxies), the address X-Forwarded-For
    names, read from the right: the first one that is not itself a trusted proxy. Anyone else's header is
    ignored, so a client cannot choose the address its failed sign-ins are counted under."""
    peer = request.client.host if request.client else None
    trusted = getattr(request.app.state, "trusted_proxies", ())
    peer_ip = _ip(peer) if peer else None
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded or peer_ip is None or not any(peer_ip in net for net in trusted):
        return peer
    for hop in reversed([part.strip() for part in forwarded.split(",")]):
        hop_ip = _ip(hop)
        if hop_ip is None:
            return peer  # a malformed header: fall back to the proxy itself
        if not any(hop_ip in net for net in trusted):
            return str(hop_ip)
    return peer


# ---- CSRF: a token per session, echoed by every form (hidden field) or fetch (header) ---------------------

def _derive(secret: str, purpose: str, token: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}:{token}".encode(), hashlib.sha256).hexdigest()


def pre_session_token(request: Request) -> str:
    """The browser's pre-session id (made now, and set as a cookie by the app's middleware, when it has none)."""
    token = request.cookies.get(PRE_SESSION_COOKIE) or getattr(request.state, "new_pre_session", None)
    if not token or len(token) > 128:
        token = secrets.token_urlsafe(32)
        request.state.new_pre_session = token
    return token


def csrf_token(request: Request) -> str:
    """The CSRF token forms on this page must send back."""
    secret = request.app.state.secret
    session = getattr(request.state, "web_session", None)
    if session is not None:
        return _derive(secret, "session", session.token)
    return _derive(secret, "pre", pre_session_token(request))


def _expected_tokens(request: Request) -> list[str]:
    secret = request.app.state.secret
    tokens = []
    session_token = request.cookies.get(SESSION_COOKIE)
    if session_token:
        tokens.append(_derive(secret, "session", session_token))
    pre = request.cookies.get(PRE_SESSION_COOKIE)
    if pre:
        tokens.append(_derive(secret, "pre", pre))
    return tokens


def _same_origin(request: Request) -> bool:
    """A browser's Origin (or Referer) header, when sent, must name this host."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def require_csrf(request: Request) -> None:
    """Dependency of every POST route: 403 unless this browser's token came back and the origin is ours."""
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    if not supplied or not any(hmac.compare_digest(expected, supplied) for expected in _expected_tokens(request)):
        raise HTTPException(status_code=403, detail="CSRF token missing or invalid; reload the page and retry")
    if not _same_origin(request):
        raise HTTPException(status_code=403, detail="cross-origin request refused")


# ---- login throttling ------------------------------------------------------------------------------------

@dataclass
class LoginRateLimiter:
    """Failed sign-ins per key within `window_s`; a key with `max_failures` of them waits until they age out."""

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

    def failures(self, key: str) -> int:
        with self._lock:
            return len(self._recent(key, self.clock()))

    def retry_after(self, *keys: str) -> float:
        """Seconds until a login attempt is allowed again for these keys (0 when allowed now)."""
        now = self.clock()
        with self._lock:
            waits = [self.window_s - (now - events[-self.max_failures]) for key in keys
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

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


@dataclass
class LoginThrottle:
    """Sign-in throttling that an attacker cannot turn against the account's owner.

    - (username, client address): 5 failures lock that pair for 5 minutes — the guesser, not the owner elsewhere;
    - client address: 50 failures over any usernames (password spraying) lock the address;
    - username: from the 10th failure in 5 minutes, from any address, each further attempt on it waits
      0.5 s more (at most 3 s) before the password is checked — slower guessing, but the owner still gets in.
    """

    pairs: LoginRateLimiter = field(default_factory=lambda: LoginRateLimiter(max_failures=5))
    clients: LoginRateLimiter = field(default_factory=lambda: LoginRateLimiter(max_failures=50))
    usernames: LoginRateLimiter = field(default_factory=lambda: LoginRateLimiter(max_failures=10**9))
    slowdown_after: int = 10
    slowdown_step_s: float = 0.5
    max_delay_s: float = 3.0
    sleep: Callable[[float], None] = time.sleep

    @staticmethod
    def _keys(username: str, client: str | None) -> tuple[str, str, str]:
        user = username.strip().lower()[:128]
        return f"{user}\x00{client}", f"{client}", user

    def retry_after(self, username: str, client: str | None) -> float:
        pair, address, _ = self._keys(username, client)
        return max(self.pairs.retry_after(pair), self.clients.retry_after(address))

    def delay_s(self, username: str) -> float:
        failures = self.usernames.failures(self._keys(username, None)[2])
        if failures < self.slowdown_after:
            return 0.0
        return min(self.max_delay_s, self.slowdown_step_s * (failures - self.slowdown_after + 1))

    def slow_down(self, username: str) -> None:
        delay = self.delay_s(username)
        if delay:
            self.sleep(delay)

    def failed(self, username: str, client: str | None) -> None:
        pair, address, user = self._keys(username, client)
        self.pairs.failed(pair)
        self.clients.failed(address)
        self.usernames.failed(user)

    def succeeded(self, username: str, client: str | None) -> None:
        pair, _, user = self._keys(username, client)
        self.pairs.succeeded(pair)
        self.usernames.succeeded(user)
