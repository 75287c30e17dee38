"""Security of the review app (TestClient over a real SQLite database): sessions, agency isolation, CSRF,
injection payloads, masking, login throttling, cookie flags, production mode — and one test per probe of
issue 15: replayed cookie after logout, idle and absolute timeouts, cross-agency filter options, number
formats masked, odd input answering 400/404 with the security headers, lockout abuse, X-Forwarded-For
from untrusted peers, HSTS, password length."""

from __future__ import annotations

import hashlib
import re

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from callqc import db
from callqc.db.models import Appeal, AuditLog, FindingRow, Recording, Review, SegmentRow, TranscriptRow, User, WebSession
from callqc.web import create_app
from callqc.web.auth import AccountError, add_user, disable_user, ensure_bootstrap_admin
from callqc.web.routes import post_router, router
from callqc.web.security import SESSION_COOKIE, LoginRateLimiter, LoginThrottle, WebConfigError, session_secret
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


PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/"), ("GET", "/favicon.ico")}


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
    assert reviewer.get("/queue", params={"page": payload}).status_code == 400  # pages are our own links
    for name in ("agent", "rule", "category", "agency", "status", "date_from"):
        response = reviewer.get("/queue", params={name: payload})
        assert response.status_code == 200, name
        shown = int(re.search(r'id="total">(\d+)<', response.text).group(1))
        # status and dates are validated (and ignored when invalid); the rest match no call
        assert shown == (2 if name in ("status", "date_from") else 0), name
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


def test_login_is_rate_limited_per_user_and_address(web):
    client = web.client(address="192.0.2.10")
    for _ in range(5):
        assert sign_in(client, "rita", "wrong password!").status_code == 401
    blocked = sign_in(client, "rita", PASSWORD)  # from this address even the right password waits now
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert sign_in(client, "max", PASSWORD).status_code == 303  # another user from the same address is not


def test_lockout_cannot_lock_the_owner_out(web):
    """Probe: 5 wrong passwords for a user from one address used to block the right password everywhere."""
    attacker = web.client(address="198.51.100.7")
    for _ in range(5):
        assert sign_in(attacker, "rita", "guess guess guess").status_code == 401
    assert sign_in(attacker, "rita", PASSWORD).status_code == 429
    owner = web.client(address="192.0.2.44")
    assert sign_in(owner, "rita", PASSWORD).status_code == 303


def test_many_failures_on_a_username_slow_it_down_without_locking():
    now, slept = [0.0], []
    clock = lambda: now[0]  # noqa: E731
    throttle = LoginThrottle(pairs=LoginRateLimiter(max_failures=5, clock=clock),
                             clients=LoginRateLimiter(max_failures=50, clock=clock),
                             usernames=LoginRateLimiter(max_failures=10**9, clock=clock), sleep=slept.append)
    for i in range(12):  # a botnet: 12 addresses, one guess each
        throttle.failed("rita", f"203.0.113.{i}")
    assert throttle.retry_after("rita", "192.0.2.1") == 0  # nobody is locked out ...
    throttle.slow_down("rita")
    assert slept == [pytest.approx(1.5)]  # ... but each further try on rita waits (3 failures past 10: 1.5 s)
    for i in range(30):
        throttle.failed("rita", f"203.0.114.{i}")
    assert throttle.delay_s("rita") == throttle.max_delay_s  # capped
    now[0] = 301
    assert throttle.delay_s("rita") == 0


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


def test_users_disable_revokes_the_sessions(web):
    client = web.client("rita")
    with web.factory() as session:
        disable_user(session, "rita")
        session.commit()
        assert all(s.revoked_at is not None for s in session.scalars(select(WebSession)
                                                                     .join(User).where(User.username == "rita")))
    assert client.get("/queue", follow_redirects=False).status_code == 401


def test_replayed_cookie_after_logout_is_refused(web):
    """Probe: a cookie copied before logout used to read the queue and unmask a call for up to 8 h."""
    manager = web.client("max")
    stolen = manager.cookies.get(SESSION_COOKIE)
    call = web.calls["hengxin"]
    token = page_csrf(manager, f"/calls/{call.recording_id}")
    assert manager.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    replay = web.client()
    replay.cookies.set(SESSION_COOKIE, stolen)
    assert replay.get("/queue", follow_redirects=False).status_code == 401
    answer = replay.post(f"/calls/{call.recording_id}/unmask", headers={"x-csrf-token": token},
                         data={"reason": "replay"}, follow_redirects=False)
    assert answer.status_code == 401
    with web.factory() as session:
        assert session.scalars(select(AuditLog).where(AuditLog.action == "unmask")).all() == []


def test_cookie_holds_only_a_random_session_id(web):
    client = web.client("rita")
    token = client.cookies.get(SESSION_COOKIE)
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token) and "rita" not in token
    with web.factory() as session:
        (row,) = session.scalars(select(WebSession)).all()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and row.token_hash != token
        assert row.revoked_at is None and row.client_ip == "testclient"


def test_idle_timeout(web):
    """Probe: there was no idle timeout (default 30 minutes, web.session_idle_minutes)."""
    client = web.client("rita")
    web.clock.advance(minutes=29)
    assert client.get("/queue", follow_redirects=False).status_code == 200  # and this request counts as activity
    web.clock.advance(minutes=29)
    assert client.get("/queue", follow_redirects=False).status_code == 200
    web.clock.advance(minutes=31)
    assert client.get("/queue", follow_redirects=False).status_code == 401
    web.clock.advance(minutes=-60)  # the session stays ended: it was revoked when found idle
    assert client.get("/queue", follow_redirects=False).status_code == 401


def test_absolute_lifetime_is_not_extended_by_activity(web):
    """Probe: any POST used to restart the 8 hours."""
    client = web.client("rita")
    call = web.calls["hengxin"]
    for _ in range(16):  # 8 hours of activity, a note every 29 minutes
        web.clock.advance(minutes=29)
        token = page_csrf(client, f"/calls/{call.recording_id}")
        client.post(f"/calls/{call.recording_id}/notes", data={"csrf_token": token, "note": "still here"})
    web.clock.advance(minutes=29)
    assert client.get("/queue", follow_redirects=False).status_code == 401


def test_filter_options_counts_and_categories_scoped_per_agency(web):
    """Probe: the category drop-down listed every agency's categories (one typed with a phone number in it)."""
    other = web.calls["lianzhong"]
    with web.factory() as session:  # a legacy free-text category on the other agency's call
        session.add(FindingRow(call_score_id=other.score_id, recording_id=other.recording_id, rule_id="LZ-ONLY-9",
                               category=f"客户说打{PHONE}", severity="minor", source="reviewer", status="confirmed"))
        session.commit()
    viewer = web.client("hx_viewer").get("/queue").text
    for leaked in ("LZ-ONLY-9", "CN-INSULT-01", "insult", "辱骂侮辱", PHONE, "客户说打", "联众催收"):
        assert leaked not in viewer, leaked
    assert 'data-status="pending">1<' in viewer and 'id="total">1<' in viewer
    assert "CN-THREAT-02" in viewer and "威胁恐吓" in viewer
    reviewer = web.client("rita").get("/queue").text
    assert "LZ-ONLY-9" in reviewer and "客户说打138****5678" in reviewer and PHONE not in reviewer


def test_appeals_listed_only_to_their_agency(web):
    other = web.calls["lianzhong"]
    with web.factory() as session:
        session.get(FindingRow, other.finding_ids[0]).status = "confirmed"
        session.add(Appeal(finding_id=other.finding_ids[0], appellant="lz_viewer", reason="只是提醒还款"))
        session.commit()
    assert "只是提醒还款" not in web.client("hx_viewer").get("/appeals").text
    assert "只是提醒还款" in web.client("lz_viewer").get("/appeals").text
    assert "只是提醒还款" in web.client("max").get("/appeals").text


def test_favicon_is_served(web):
    """Probe: the favicon answered 404."""
    client = web.client()
    assert client.get("/favicon.ico", follow_redirects=False).headers["location"] == "/static/favicon.svg"
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_missed_finding_category_must_come_from_the_pack(web):
    reviewer = web.client("rita")
    call = web.calls["hengxin"]
    page = reviewer.get(f"/calls/{call.recording_id}").text
    options = re.findall(r'<option value="([a-z_]+)">', page.split('id="span-category"')[1].split("</select>")[0])
    assert "threat" in options and "third_party_disclosure" in options and "mini_miranda" not in options
    token = csrf_from(page)
    form = {"csrf_token": token, "severity": "major", "speaker": "agent", "start_s": "1", "end_s": "2",
            "reason": "r", "category": f"打{PHONE}"}
    refused = reviewer.post(f"/calls/{call.recording_id}/findings", data=form)
    assert refused.status_code == 400 and "category" in refused.text and PHONE not in refused.text
    assert reviewer.post(f"/calls/{call.recording_id}/findings", data={**form, "category": "pressure"},
                         follow_redirects=False).status_code == 303


NUMBER_FORMS = ["１３７００００１１１１", "137.0000.1111", "137  0000  1111", "(137)00001111", "137，0000，1111",
                "6225  8899  1234  5678", "5551234567", "123 45 6789"]


def test_every_number_format_is_masked_on_the_call_page(web):
    """Probe: full-width, dotted, double-spaced, bracketed, comma-separated, US and SSN forms were shown."""
    call = web.calls["hengxin"]
    with web.factory() as session:
        segment = session.scalar(select(SegmentRow).join(TranscriptRow)
                                 .where(TranscriptRow.recording_id == call.recording_id).order_by(SegmentRow.idx))
        segment.text = "号码：" + "；".join(NUMBER_FORMS)
        finding = session.get(FindingRow, call.finding_ids[0])
        finding.text = "证据 " + " / ".join(NUMBER_FORMS)
        session.commit()
    for username in ("rita", "hx_viewer"):
        page = web.client(username).get(f"/calls/{call.recording_id}").text
        for number in NUMBER_FORMS:
            assert number not in page, (username, number)
        assert "１３７****１１１１" in page and "137  ****  1111" in page and "*** ** 6789" in page


ODD_REQUESTS = [  # (path, headers, expected status)
    ("/queue?page=%C2%B2", {}, 400),
    ("/queue?page=" + "9" * 5000, {}, 400),
    ("/queue?page=0", {}, 400),
    ("/calls/99999999999999999999", {}, 404),
    ("/calls/9223372036854775808/audio", {}, 404),
    ("/calls/%C2%B2", {}, 404),
    ("/calls/-1", {}, 404),
    ("/calls/0", {}, 404),
    ("/appeals?x=" + "y" * 3000, {}, 200),
    ("/calls/{own}/audio", {"range": "bytes=" + "9" * 5000 + "-"}, 416),
    ("/calls/{own}/audio", {"range": "bytes=-" + "9" * 5000}, None),  # the whole object: no 500
    ("/calls/{own}/audio", {"range": "bytes=²-".encode()}, None),
    ("/no/such/page", {}, 404),
]


@pytest.mark.parametrize(("path", "headers", "status"), ODD_REQUESTS)
def test_odd_input_answers_400_or_404_with_security_headers(web, store, path, headers, status):
    """Probe: these answered 500, and 500 responses went out without the security headers."""
    call = web.calls["hengxin"]
    with web.factory() as session:
        recording = session.get(Recording, call.recording_id)
        recording.bucket, recording.size = store.bucket, 1000
        session.commit()
    store.put_bytes(recording.key, bytes(range(256)) * 4, content_type="audio/flac")
    web.app.state.store = store
    client = web.client("max")
    client.get("/queue")
    response = client.get(path.replace("{own}", str(call.recording_id)), headers=headers, follow_redirects=False)
    assert response.status_code < 500 and (status is None or response.status_code == status), response.status_code
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    with web.factory() as session:
        for finding_id in ("99999999999999999999", "²", "-3"):
            token = page_csrf(client, "/queue")
            answer = client.post(f"/findings/{finding_id}/decision",
                                 data={"csrf_token": token, "decision": "confirm", "reason": "x"})
            assert answer.status_code == 404
        assert session.scalar(select(func.count(Review.id))) == 0


def test_an_unhandled_error_is_a_500_with_security_headers(web):
    def boom() -> None:
        raise RuntimeError("a bug")

    web.app.add_api_route("/boom", boom)
    response = web.client().get("/boom")
    assert response.status_code == 500 and response.text == "internal error" and "a bug" not in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_x_forwarded_for_only_from_trusted_proxies(sqlite_url, tmp_path):
    """Probe: in production the per-address counter trusted X-Forwarded-For from loopback."""
    env = make_web_env(sqlite_url, tmp_path, web={"host": "127.0.0.1", "port": 8000, "production": False,
                                                   "trusted_proxies": ["10.0.0.0/24"]})

    def fail_five(client, forwarded: str) -> int:
        for _ in range(5):
            sign_in_with(client, forwarded, "wrong password!")
        return sign_in_with(client, forwarded, PASSWORD).status_code

    def sign_in_with(client, forwarded: str, password: str):
        form = client.get("/login", headers={"x-forwarded-for": forwarded})
        return client.post("/login", data={"username": "rita", "password": password,
                                           "csrf_token": csrf_from(form.text)},
                           headers={"x-forwarded-for": forwarded}, follow_redirects=False)

    # Through the proxy: each forwarded address is its own client.
    proxy = env.client(address="10.0.0.5")
    assert fail_five(proxy, "203.0.113.9") == 429
    assert sign_in_with(proxy, "203.0.113.77", PASSWORD).status_code == 303
    # From loopback or anywhere else the header is ignored: all attempts count against the peer itself.
    direct = env.client(address="127.0.0.1")
    assert fail_five(direct, "198.51.100.1") == 429
    assert sign_in_with(direct, "198.51.100.2", PASSWORD).status_code == 429
    with env.factory() as session:
        clients = set(session.scalars(select(WebSession.client_ip)))
    assert clients == {"203.0.113.77"}


def test_hsts_only_in_production(sqlite_url, tmp_path, monkeypatch):
    assert "strict-transport-security" not in make_web_env(sqlite_url, tmp_path).client().get("/login").headers
    monkeypatch.setenv("CALLQC_WEB_SECRET_KEY", "k" * 40)
    production_url = f"sqlite:///{tmp_path / 'production.db'}"
    db.upgrade(production_url)
    production = make_web_env(production_url, tmp_path, web={"production": True})
    for path in ("/login", "/calls/99999999999999999999", "/static/app.css"):
        headers = production.client(base_url="https://testserver").get(path).headers
        assert headers["strict-transport-security"].startswith("max-age=31536000"), path


@pytest.mark.parametrize(("password", "accepted"), [("eleven char", False), ("twelve chars", True)])
def test_passwords_need_12_characters(web, password, accepted):
    """Probe: `callqc users add` accepted a 10-character password (ASVS 2.1.1 asks for 12)."""
    with web.factory() as session:
        if accepted:
            add_user(session, web.settings, "newbie", password, "reviewer")
        else:
            with pytest.raises(AccountError, match="at least 12 characters"):
                add_user(session, web.settings, "newbie", password, "reviewer")


def test_session_cookie_flags_and_fresh_session_after_login(web):
    client = web.client()
    anonymous_token = page_csrf(client, "/login")
    response = sign_in(client, "rita")
    cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)][0].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert page_csrf(client, "/queue") != anonymous_token  # no session fixation


def test_production_mode_secure_cookie_secret_required_no_bootstrap_admin(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CALLQC_ADMIN_PASSWORD", "a-long-demo-password")
    monkeypatch.setenv("CALLQC_WEB_SECRET_KEY", "k" * 40)
    env = make_web_env(sqlite_url, tmp_path, web={"host": "127.0.0.1", "port": 8000, "production": True})
    with env.factory() as session:
        assert session.scalar(select(User).where(User.username == "admin")) is None  # no default account
    response = sign_in(env.client(base_url="https://testserver"), "rita")
    cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)][0].lower()
    assert response.status_code == 303 and "secure" in cookie
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
