"""Security of the review app (TestClient over a real SQLite database): sessions, agency isolation, CSRF,
injection payloads, masking, login rate limiting, cookie flags, production mode."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from callqc.db.models import AuditLog, FindingRow, Review, User
from callqc.web import create_app
from callqc.web.auth import ensure_bootstrap_admin
from callqc.web.routes import post_router, router
from callqc.web.security import LoginRateLimiter, WebConfigError, session_secret
from web_fixtures import CALLEE, CARD, ID_NUMBER, PASSWORD, PHONE, csrf_from, make_web_env, page_csrf, sign_in

SECRET_NUMBERS = (PHONE, ID_NUMBER, CARD, CALLEE)


@pytest.fixture
def web(sqlite_url, tmp_path):
    return make_web_env(sqlite_url, tmp_path)


def _concrete_paths(web) -> list[tuple[str, str]]:
    """(method, path) of every route of the app, with real ids in the path parameters."""
    call = web.calls["hengxin"]
    ids = {"recording_id": call.recording_id, "finding_id": call.finding_ids[0], "appeal_id": 1}
    routes = []
    for route in [*router.routes, *post_router.routes]:
        if not isinstance(route, APIRoute):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), route.path)
        routes.extend((method, path) for method in route.methods)
    return routes


PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/")}


def test_every_page_and_action_refused_without_session(web):
    routes = _concrete_paths(web)
    assert len(routes) >= 14
    anonymous = web.client()
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        if method == "GET":
            page = anonymous.get(path, headers={"accept": "text/html"}, follow_redirects=False)
            assert page.status_code == 303 and page.headers["location"].startswith("/login"), (path, page.status_code)
            api = anonymous.get(path, follow_redirects=False)
            assert api.status_code == 401, (path, api.status_code)
        else:
            no_token = anonymous.post(path, data={}, follow_redirects=False)
            assert no_token.status_code == 403, (path, no_token.status_code)
            anonymous_csrf = page_csrf(anonymous, "/login")  # an anonymous session with a valid token
            with_token = anonymous.post(path, data={"csrf_token": anonymous_csrf}, follow_redirects=False)
            assert with_token.status_code == 401 or path == "/logout", (path, with_token.status_code)
    with web.factory() as session:
        assert session.scalar(select(func.count(Review.id))) == 0


def test_agency_viewer_sees_only_own_agency(web):
    viewer = web.client("hx_viewer")
    own, other = web.calls["hengxin"], web.calls["lianzhong"]
    queue = viewer.get("/queue").text
    assert f"/calls/{own.recording_id}" in queue and f"/calls/{other.recording_id}" not in queue
    assert viewer.get(f"/calls/{own.recording_id}").status_code == 200
    assert viewer.get(f"/calls/{other.recording_id}").status_code == 404
    assert viewer.get(f"/calls/{other.recording_id}/audio", headers={"range": "bytes=0-99"}).status_code == 404
    assert viewer.get("/calls/999999").status_code == 404  # same answer as another agency's call
    token = page_csrf(viewer, "/queue")
    # Nor may it appeal, decide or note on another agency's call, nor decide on its own.
    assert viewer.post(f"/findings/{other.finding_ids[0]}/appeal", data={"csrf_token": token, "reason": "x"},
                       follow_redirects=False).status_code == 404
    assert viewer.post(f"/findings/{own.finding_ids[0]}/decision",
                       data={"csrf_token": token, "decision": "reject", "reason": "x"}).status_code == 403
    assert viewer.post(f"/calls/{own.recording_id}/notes", data={"csrf_token": token, "note": "x"}).status_code == 403
    assert viewer.get("/dashboard").status_code == 403
    # The lianzhong viewer sees its call although the recording stores the agency's display name.
    lz = web.client("lz_viewer")
    assert lz.get(f"/calls/{other.recording_id}").status_code == 200
    assert lz.get(f"/calls/{own.recording_id}").status_code == 404
    with web.factory() as session:
        assert session.scalar(select(func.count(Review.id))) == 0
        assert {f.status for f in session.scalars(select(FindingRow))} == {"open"}


def test_post_without_or_with_wrong_csrf_token_refused(web):
    reviewer = web.client("rita")
    finding_id = web.calls["hengxin"].finding_ids[0]
    form = {"decision": "confirm", "reason": "real"}
    assert reviewer.post(f"/findings/{finding_id}/decision", data=form).status_code == 403
    assert reviewer.post(f"/findings/{finding_id}/decision", data={**form, "csrf_token": "forged"}).status_code == 403
    other_session_token = page_csrf(web.client("max"), "/queue")
    assert reviewer.post(f"/findings/{finding_id}/decision",
                         data={**form, "csrf_token": other_session_token}).status_code == 403
    token = page_csrf(reviewer, "/queue")
    cross_site = reviewer.post(f"/findings/{finding_id}/decision", data={**form, "csrf_token": token},
                               headers={"origin": "http://evil.example"})
    assert cross_site.status_code == 403
    with web.factory() as session:
        assert session.get(FindingRow, finding_id).status == "open"
    accepted = reviewer.post(f"/findings/{finding_id}/decision", data={**form, "csrf_token": token},
                             headers={"origin": "http://testserver"}, follow_redirects=False)
    assert accepted.status_code == 303
    with web.factory() as session:
        assert session.get(FindingRow, finding_id).status == "confirmed"


SQL_PAYLOADS = ["' OR '1'='1", "x'; DROP TABLE findings; --", "1 UNION SELECT password_hash FROM users --",
                "%' OR 1=1 --"]


@pytest.mark.parametrize("payload", SQL_PAYLOADS)
def test_sql_injection_in_filters_is_inert(web, payload):
    reviewer = web.client("rita")
    for name in ("agent", "rule", "category", "agency", "status", "date_from", "page"):
        response = reviewer.get("/queue", params={name: payload})
        assert response.status_code == 200, name
        shown = int(re.search(r'id="total">(\d+)<', response.text).group(1))
        # status and dates are validated (and ignored when invalid); the rest match no call
        assert shown == (2 if name in ("status", "date_from", "page") else 0), name
        assert "$argon2" not in response.text
    with web.factory() as session:
        assert session.scalar(select(func.count(FindingRow.id))) == 3
        assert session.scalar(select(func.count(User.id))) == 5


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_xss_in_filters_notes_and_reasons_is_escaped(web):
    reviewer = web.client("rita")
    call = web.calls["hengxin"]
    token = page_csrf(reviewer, "/queue")
    assert reviewer.post(f"/calls/{call.recording_id}/notes", data={"csrf_token": token, "note": XSS},
                         follow_redirects=False).status_code == 303
    assert reviewer.post(f"/findings/{call.finding_ids[0]}/decision",
                         data={"csrf_token": token, "decision": "reject", "reason": XSS}).status_code == 200
    for html in (reviewer.get(f"/calls/{call.recording_id}").text, reviewer.get("/queue", params={"agent": XSS}).text):
        assert "<script>alert" not in html and "<img src=x" not in html
    page = reviewer.get(f"/calls/{call.recording_id}")
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    with web.factory() as session:  # stored as typed, escaped only on output
        assert session.scalar(select(Review.reason).where(Review.decision == "note")) == XSS


@pytest.mark.parametrize("username", ["rita", "hx_viewer", "max", "ada"])
def test_numbers_masked_for_every_role_until_an_audited_unmask(web, username):
    client = web.client(username)
    call = web.calls["hengxin"]
    for path in (f"/calls/{call.recording_id}", "/queue", "/appeals", "/dashboard"):
        html = client.get(path).text
        assert not any(number in html for number in SECRET_NUMBERS), (username, path)
    page = client.get(f"/calls/{call.recording_id}").text
    assert "138****5678" in page and "131****6630" in page
    token = csrf_from(page)
    unmask = client.post(f"/calls/{call.recording_id}/unmask", data={"csrf_token": token, "reason": "complaint 42"},
                         follow_redirects=False)
    page = client.get(f"/calls/{call.recording_id}").text
    with web.factory() as session:
        entries = session.scalars(select(AuditLog).where(AuditLog.action == "unmask")).all()
    if username in ("max", "ada"):
        assert unmask.status_code == 303
        assert PHONE in page and ID_NUMBER in page and CARD in page and CALLEE in page
        assert [(e.username, e.object_id, e.before, e.after) for e in entries] == [
            (username, str(call.recording_id), {"masked": True}, {"masked": False, "reason": "complaint 42"})]
        client.post(f"/calls/{call.recording_id}/mask", data={"csrf_token": token})
        assert PHONE not in client.get(f"/calls/{call.recording_id}").text
    else:
        assert unmask.status_code == 403
        assert not any(number in page for number in SECRET_NUMBERS)
        assert entries == []


def test_unmask_without_reason_is_refused_and_not_audited(web):
    manager = web.client("max")
    call = web.calls["hengxin"]
    response = manager.post(f"/calls/{call.recording_id}/unmask",
                            data={"csrf_token": page_csrf(manager, "/queue"), "reason": " "})
    assert response.status_code == 400 and "reason: required" in response.text
    assert PHONE not in manager.get(f"/calls/{call.recording_id}").text


def test_login_is_rate_limited(web):
    client = web.client()
    for _ in range(5):
        assert sign_in(client, "rita", "wrong password!").status_code == 401
    blocked = sign_in(client, "rita", PASSWORD)  # even the right password waits now
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert sign_in(client, "max", PASSWORD).status_code == 429  # and the same client address


def test_rate_limiter_window_passes():
    now = [0.0]
    limiter = LoginRateLimiter(max_failures=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        limiter.failed("user:a", "ip:1")
    assert limiter.retry_after("user:a") == pytest.approx(60)
    assert limiter.retry_after("user:b") == 0
    now[0] = 61
    assert limiter.retry_after("user:a", "ip:1") == 0


def test_disabled_user_is_locked_out_at_next_request(web):
    client = web.client("rita")
    assert client.get("/queue").status_code == 200
    with web.factory() as session:
        session.scalar(select(User).where(User.username == "rita")).disabled = True
        session.commit()
    assert client.get("/queue", follow_redirects=False).status_code == 401
    assert sign_in(web.client(), "rita").status_code == 401


def test_session_cookie_flags_and_fresh_session_after_login(web):
    client = web.client()
    anonymous_token = page_csrf(client, "/login")
    response = sign_in(client, "rita")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert page_csrf(client, "/queue") != anonymous_token  # no session fixation


def test_production_mode_secure_cookie_secret_required_no_bootstrap_admin(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CALLQC_ADMIN_PASSWORD", "a-long-demo-password")
    monkeypatch.setenv("CALLQC_WEB_SECRET_KEY", "k" * 40)
    env = make_web_env(sqlite_url, tmp_path, web={"host": "127.0.0.1", "port": 8000, "production": True})
    with env.factory() as session:
        assert session.scalar(select(User).where(User.username == "admin")) is None  # no default account
    response = sign_in(env.client(base_url="https://testserver"), "rita")
    assert response.status_code == 303 and "secure" in response.headers["set-cookie"].lower()
    monkeypatch.delenv("CALLQC_WEB_SECRET_KEY")
    with pytest.raises(WebConfigError, match="CALLQC_WEB_SECRET_KEY"):
        create_app(env.settings, env.factory)


def test_bootstrap_admin_only_in_dev_and_only_from_env(sqlite_url, tmp_path):
    env = make_web_env(sqlite_url, tmp_path)
    with env.factory() as session:
        session.execute(User.__table__.delete().where(User.role == "admin"))
        assert not ensure_bootstrap_admin(session, env.settings, environ={})
        assert ensure_bootstrap_admin(session, env.settings, environ={"CALLQC_ADMIN_PASSWORD": "demo-password-1"})
        assert not ensure_bootstrap_admin(session, env.settings, environ={"CALLQC_ADMIN_PASSWORD": "other-pass-2"})
        session.commit()
    assert sign_in(env.client(), "admin", "demo-password-1").status_code == 303
    assert session_secret(False, environ={}) != session_secret(False, environ={})  # random per process in dev
