"""Browser tests: Debian's chromium (Playwright) against the app served by uvicorn, a real S3 bucket and SQLite.

A reviewer signs in, opens the queue and a call, seeks the audio by clicking a finding and a transcript line,
confirms one finding and rejects the other; the database must show both decisions and their audit entries.
The queue and call pages read in Chinese (zh-CN labels, the callee's local time with its zone) and list calls
in priority order; a session ends in the browser after the idle timeout and at logout. Screenshots of the
queue and a call page go to test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from callqc import db
from callqc.db.models import AuditLog, CallScoreRow, FindingRow, Review
from callqc.settings import load_settings
from callqc.web import create_app
from conftest import IN_CI
from web_synthetic import add_synthetic_calls
from web_fixtures import CALLEE, CALLS_DIR, ID_NUMBER, PASSWORD, PHONE, Clock, seed_two_agencies

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CALLQC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
AUDIO_FILE = CALLS_DIR / "callA_04.flac"


def _require_chromium() -> None:
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return
    message = f"chromium not found at {CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def live_app(bucket_settings, store, tmp_path, clock):
    """The app on a free loopback port in a uvicorn thread; the hengxin call's audio is in the bucket."""
    import uvicorn

    key = "hengxin/2026-11-05/callA_04.flac"
    store.put_file(key, AUDIO_FILE, content_type="audio/flac")
    url = f"sqlite:///{tmp_path / 'web.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    factory = db.session_factory(engine)
    with db.session_scope(factory) as session:
        seeded = seed_two_agencies(session, bucket_settings, bucket=store.bucket, hengxin_key=key)
    app = create_app(bucket_settings, factory, store, clock=clock)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", seeded, factory
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture
def page():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def _wait_seeked_to(page, seconds: float) -> float:
    """Wait until the audio element has finished seeking near `seconds`; returns its currentTime."""
    page.wait_for_function(
        "([t]) => { const a = document.getElementById('player');"
        " return !a.seeking && a.currentTime >= t - 0.05 && a.currentTime < t + 2; }", arg=[seconds])
    return page.evaluate("document.getElementById('player').currentTime")


def test_review_call_in_browser(live_app, page, artifacts_dir):
    base, seeded, factory = live_app
    call = seeded["hengxin"]
    audio_statuses: list[int] = []
    page.on("response", lambda r: audio_statuses.append(r.status) if r.url.endswith("/audio") else None)

    page.goto(f"{base}/queue")
    assert page.url.startswith(f"{base}/login")  # no session: sent to sign in
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/queue")
    assert page.inner_text("#total") == "2"
    first_row = page.locator("table.queue tbody tr").first
    assert "callA_04" in first_row.inner_text()  # the critical finding sorts first

    first_row.locator("a.call-link").click()
    page.wait_for_url(f"{base}/calls/{call.recording_id}")
    page.wait_for_function("document.getElementById('player').readyState >= 1")  # metadata came through the app
    duration = page.evaluate("document.getElementById('player').duration")
    assert 58 < duration < 60  # callA_04 is 59.1 s

    # Clicking a finding seeks the audio to its start; so does clicking a transcript line.
    threat_id, threat_start = call.finding_ids[1], call.finding_starts[1]
    page.click(f"#finding-{threat_id} button.seek")
    assert threat_start <= _wait_seeked_to(page, threat_start) < threat_start + 2
    line = page.locator("#transcript .seg").nth(2)
    line_start = float(line.get_attribute("data-start"))
    line.locator(".time").click()
    assert line_start <= _wait_seeked_to(page, line_start) < line_start + 2
    page.evaluate("document.getElementById('player').pause()")
    assert 206 in audio_statuses, f"no partial content answer for the audio: {audio_statuses}"

    text = page.inner_text("body")
    assert PHONE not in text and ID_NUMBER not in text and CALLEE not in text
    assert "138****5678" in text

    page.screenshot(path=str(artifacts_dir / "web_call_page.png"), full_page=True)

    disclosure_id = call.finding_ids[0]
    page.fill(f"#finding-{disclosure_id} input[name=reason]", "告诉同事欠款金额，属实")
    page.click(f"#finding-{disclosure_id} button.confirm")
    page.wait_for_selector(f"#finding-{disclosure_id} .status[data-status=confirmed]")
    page.fill(f"#finding-{threat_id} input[name=reason]", "only a reminder of the visit policy")
    page.click(f"#finding-{threat_id} button.reject")
    page.wait_for_selector(f"#finding-{threat_id} .status[data-status=rejected]")
    assert page.get_attribute("#review-status", "data-status") == "done"
    assert page.inner_text("#review-status") == "已完成"

    # A missed finding: drag-select from the 7th transcript line into the 8th; the span fills in.
    lines = page.locator("#transcript .seg .text")
    start_box, end_box = lines.nth(6).bounding_box(), lines.nth(7).bounding_box()
    page.mouse.move(start_box["x"] + 2, start_box["y"] + 5)
    page.mouse.down()
    page.mouse.move(end_box["x"] + 60, end_box["y"] + 5, steps=8)
    page.mouse.up()
    segments = page.locator("#transcript .seg")
    assert page.input_value("#span-start") == segments.nth(6).get_attribute("data-start")
    assert page.input_value("#span-end") == segments.nth(7).get_attribute("data-end")
    assert page.input_value("#span-speaker") == "any"  # agent and customer lines
    evidence = page.input_value("#span-text")
    assert evidence.startswith("没什么不合适的") and "这个事。你们这样" in evidence and "客户" not in evidence
    page.select_option("#span-category", "pressure")  # the pack's categories, shown by their Chinese names
    page.fill("#add-finding input[name=reason]", "施压：下周去公司")
    page.click("#add-finding button[type=submit]")
    page.wait_for_selector(".finding.status-confirmed >> text=施压逼迫")
    page.screenshot(path=str(artifacts_dir / "web_call_page_decided.png"), full_page=True)

    with factory() as session:
        statuses = dict(session.execute(select(FindingRow.id, FindingRow.status)
                                        .where(FindingRow.source == "rule")).all())
        assert statuses == {disclosure_id: "confirmed", threat_id: "rejected", seeded["lianzhong"].finding_ids[0]: "open"}
        added = session.scalar(select(FindingRow).where(FindingRow.source == "reviewer"))
        assert (added.category, added.speaker, added.status) == ("pressure", "any", "confirmed")
        assert (added.start_s, added.end_s) == (39.54, 53.234)  # lines 7 and 8 of callA_04.segments.tsv
        reviews = session.scalars(select(Review).where(Review.recording_id == call.recording_id)
                                  .order_by(Review.id)).all()
        assert [(r.finding_id, r.decision, r.reviewer) for r in reviews] == [
            (disclosure_id, "confirm", "rita"), (threat_id, "reject", "rita"), (added.id, "add", "rita")]
        assert reviews[0].reason == "告诉同事欠款金额，属实"
        audit = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        assert [(a.action, a.object_id, a.before, a.after["status"]) for a in audit] == [
            ("confirm", str(disclosure_id), {"status": "open"}, "confirmed"),
            ("reject", str(threat_id), {"status": "open"}, "rejected"),
            ("add", str(added.id), {}, "confirmed")]
        assert session.get(CallScoreRow, call.score_id).review_status == "done"


def _sign_in(page, base: str, username: str = "rita") -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/queue")


def test_queue_and_call_page_in_chinese_in_priority_order(live_app, page, artifacts_dir):
    base, seeded, factory = live_app
    with factory() as session:
        add_synthetic_calls(session, load_settings(environ={}), 60, seed=9)  # the configured agencies, US too
        session.commit()
    _sign_in(page, base)
    assert page.inner_text("h1").startswith("待复核通话")
    headers = page.locator("table.queue thead th").all_inner_texts()
    assert headers[:5] == ["通话", "催收机构", "坐席", "通话时间", "严重程度"]
    rows = page.locator("table.queue tbody tr")
    assert rows.count() == 50
    keys = [(-int(r.get_attribute("data-fatal")),
             -("", "info", "minor", "major", "critical").index(r.get_attribute("data-severity")),
             float(r.get_attribute("data-score"))) for r in rows.all()]
    assert keys == sorted(keys) and keys[0][0] == -1  # fatal calls first, then by worst severity, then score
    table = page.inner_text("table.queue")
    for code in ("false_consequence", "third_party_disclosure", "critical", "hengxin", "pending"):
        assert code not in table, code
    assert "威胁恐吓" in table and "恒信资产" in table and "UTC+8" in table
    for row in rows.all():  # US calls: English category names, the callee's Eastern time
        text = row.inner_text()
        if "Acme Recovery LLC" in text:
            assert "UTC−5" in text and "UTC+8" not in text
            assert any(name in text for name in ("Threat", "Insult", "Impersonation", "False consequence",
                                                 "Third-party disclosure", "No self-identification", "Pressure",
                                                 "Calling hours"))
    assert "favicon" in page.evaluate("document.querySelector('link[rel=icon]').href")
    page.screenshot(path=str(artifacts_dir / "web_queue_zh.png"), full_page=False)

    page.goto(f"{base}/calls/{seeded['hengxin'].recording_id}")
    assert page.inner_text("#started") == "2026-11-05 09:36:19 UTC+8"
    assert page.inner_text("#agency") == "恒信资产"
    categories = page.locator(".finding .category").all_inner_texts()
    assert categories == ["向第三人披露", "威胁恐吓"]
    assert page.locator(".finding .severity").all_inner_texts() == ["严重", "致命"]
    options = page.locator("#span-category option").all_inner_texts()
    assert "威胁恐吓" in options and "施压逼迫" in options
    text = page.inner_text("body")
    assert PHONE not in text and ID_NUMBER not in text and CALLEE not in text
    page.screenshot(path=str(artifacts_dir / "web_call_zh.png"), full_page=True)


def test_session_ends_after_idle_timeout_and_at_logout(live_app, page, clock):
    base, seeded, _ = live_app
    _sign_in(page, base)
    clock.advance(minutes=20)
    page.goto(f"{base}/calls/{seeded['hengxin'].recording_id}")
    assert page.url.endswith(f"/calls/{seeded['hengxin'].recording_id}")
    clock.advance(minutes=31)  # longer than web.session_idle_minutes (30) without a request
    page.goto(f"{base}/queue")
    assert page.url.startswith(f"{base}/login")
    _sign_in(page, base)
    cookie = [c for c in page.context.cookies() if c["name"] == "callqc_session"][0]
    page.click("header form.who button[type=submit]")  # 退出
    page.wait_for_url(f"{base}/login")
    page.context.add_cookies([cookie])  # the pre-logout cookie, replayed
    page.goto(f"{base}/queue")
    assert page.url.startswith(f"{base}/login")
