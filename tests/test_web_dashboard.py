"""The manager dashboard's complaint attribution, on SQLite and PostgreSQL, with a planted synthetic population.

qc/attribution/synthetic.py plants the causes: the first agency (恒信资产) threatens often and threats triple
complaint odds, third-party disclosure doubles them, and 协商还款's complaints rise in the last weeks. The
dashboard must show the heat maps with the Chinese labels, rank the planted cause first with links to its
evidence calls, and show the warning for the rise; agency viewers get none of it; an empty database renders.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest
from sqlalchemy import event, select

from callqc import db
from callqc.db.models import Recording
from callqc.web import create_app
from callqc.web.dashboard import PanelCache, choose_period, default_period
from conftest import make_settings
from callqc.attribution import write_population
from qc.attribution.synthetic import AGENCIES, PopulationSpec, generate_population
from test_web_browser import page  # noqa: F401 - the chromium page fixture
from web_fixtures import WebEnv, seed_users

# 12 weeks, as the dashboard's default period; a stronger rise than the attribution tests' default so that the
# small population (≈1 s to analyse) still fires the warning.
SPEC = PopulationSpec(n_calls=4_000, n_agents=40, target_complaints=400, weeks=12, rise_factor=5.0, seed=11)
CATEGORY_LABELS = ("威胁恐吓", "向第三人披露", "辱骂侮辱", "无违规")
HOT_AGENCY, OTHER_AGENCIES = AGENCIES[0], AGENCIES[1:]

TZ = "Asia/Shanghai"  # the callee time zone of the test data (settings qc.timezone in the app)


def _env(url: str, work_dir) -> WebEnv:
    settings = make_settings(work_dir)
    factory = db.session_factory(db.make_engine(url))
    with db.session_scope(factory) as session:
        seed_users(session, settings)
    return WebEnv(app=create_app(settings, factory), factory=factory, settings=settings, calls={})


@pytest.fixture
def planted(db_url, tmp_path):
    env = _env(db_url, tmp_path)
    population = generate_population(SPEC)
    write_population(env.factory, population, TZ)
    return env, population


def _svg(html: str, element_id: str) -> str:
    match = re.search(rf'<svg id="{element_id}".*?</svg>', html, re.S)
    assert match, f"no <svg id={element_id}> on the page"
    return unescape(match.group(0))


def _causes(html: str) -> list[tuple[int, str, list[int]]]:
    """(rank, label, evidence recording ids) per root-cause row, in page order."""
    rows = re.findall(r'<tr class="cause" data-rank="(\d+)" data-level="[^"]+">.*?class="cause-label">([^<]+)<.*?'
                      r'<td class="evidence">(.*?)</td>', html, re.S)
    return [(int(rank), unescape(label), [int(i) for i in re.findall(r'href="/calls/(\d+)"', evidence)])
            for rank, label, evidence in rows]


def _warnings(html: str) -> list[tuple[str, date]]:
    return [(unescape(value), date.fromisoformat(week))
            for value, week in re.findall(r'class="warning-row" data-value="([^"]+)" data-week="([^"]+)"', html)]


def test_manager_sees_the_planted_attribution(planted):
    env, population = planted
    html = env.client("max").get("/dashboard").text

    # The default period: the 12 weeks up to the latest data, i.e. the whole population.
    last_day = population.end - timedelta(days=1)
    assert f'name="date_from" value="{SPEC.start}"' in html and f'name="date_to" value="{last_day}"' in html
    heat = _svg(html, "heatmap-agency-violation")
    assert all(name in heat for name in AGENCIES) and all(label in heat for label in CATEGORY_LABELS)
    line_week = _svg(html, "heatmap-line-week")
    assert "协商还款" in line_week and "账户管控" in line_week
    assert [f"{w:%m-%d}" in line_week for w in population.rise_week_starts] == [True] * SPEC.rise_weeks
    _svg(html, "chart-complaint-trend")

    causes = _causes(html)
    assert [rank for rank, _, _ in causes] == list(range(1, len(causes) + 1))
    rank, label, evidence = causes[0]
    assert label == "行为: 威胁恐吓" and evidence
    assert '<td class="cause-level">行为</td>' in html
    for chart in re.findall(r"<svg.*?</svg>", html, re.S):  # weeks without calls are gaps, never NaN
        assert "nan" not in chart.lower()
    with env.factory() as session:  # the links lead to calls with the planted cause that drew a complaint
        linked = session.execute(select(Recording.id, Recording.call_id).where(Recording.id.in_(evidence))).all()
    threatened = set(population.findings.loc[population.findings["category"] == "threat", "recording_id"])
    complained = set(population.complaints["source_recording_id"])
    call_to_population_id = dict(zip(population.calls["call_id"], population.calls["recording_id"]))
    assert len(linked) == len(evidence)
    assert all(call_to_population_id[call_id] in threatened & complained for _, call_id in linked)

    warnings = _warnings(html)
    assert warnings, "no early warning for the planted rise"
    assert all(value == SPEC.rising_line and week in population.rise_week_starts for value, week in warnings)
    assert _svg(html, "control-chart-0").count(SPEC.rising_line) >= 1


def test_period_selection_and_evidence_calls_stay_scoped(planted):
    env, population = planted
    manager = env.client("max")
    before_rise = population.rise_week_starts[0] - timedelta(days=1)
    html = manager.get("/dashboard", params={"date_from": str(SPEC.start), "date_to": str(before_rise)}).text
    assert f'name="date_to" value="{before_rise}"' in html and f"{SPEC.start} – {before_rise}" in html
    assert _warnings(html) == []
    assert not any(f"{w:%m-%d}" in _svg(html, "heatmap-line-week") for w in population.rise_week_starts)

    # The evidence links open for the manager; an agency viewer opens only its own agency's calls.
    evidence = {i for _, _, ids in _causes(manager.get("/dashboard").text) for i in ids}
    with env.factory() as session:
        agency_of = dict(session.execute(select(Recording.id, Recording.agency).where(Recording.id.in_(evidence))).all())
    own = [i for i, agency in agency_of.items() if agency == HOT_AGENCY]  # hx_viewer's agency hengxin = 恒信资产
    other = [i for i, agency in agency_of.items() if agency != HOT_AGENCY]
    assert own and other
    viewer = env.client("hx_viewer")
    assert manager.get(f"/calls/{other[0]}").status_code == 200
    assert viewer.get(f"/calls/{own[0]}").status_code == 200
    assert viewer.get(f"/calls/{other[0]}").status_code == 404


@pytest.mark.parametrize("query", ["", "?date_from=2026-06-01&date_to=2026-08-23"])
def test_agency_viewer_gets_no_dashboard(planted, query):
    """Agency viewers lack the dashboard permission: refused, with nothing of any agency on the page."""
    env, _ = planted
    viewer = env.client("hx_viewer")
    response = viewer.get(f"/dashboard{query}")
    assert response.status_code == 403
    # the page header names the viewer's own agency; nothing of the others' appears
    assert not any(name in response.text for name in OTHER_AGENCIES)
    assert "<svg" not in response.text and "warning-row" not in response.text and "/calls/" not in response.text
    assert 'href="/dashboard"' not in viewer.get("/queue").text


def test_empty_database_renders_a_message(sqlite_url, tmp_path):
    env = _env(sqlite_url, tmp_path)
    manager = env.client("max")
    page = manager.get("/dashboard")
    assert page.status_code == 200
    assert 'id="attribution-empty"' in page.text and "数据库中还没有通话或投诉" in page.text
    assert "<svg" not in page.text
    page = manager.get("/dashboard?date_from=2026-06-01&date_to=2026-06-30")
    assert page.status_code == 200 and "2026-06-01 至 2026-06-30 没有带账户的通话" in page.text
    bad = manager.get("/dashboard?date_from=2026-07-01&date_to=2026-06-01")
    assert bad.status_code == 200 and "is after date_to" in bad.text


def test_a_period_is_analysed_once_then_served_from_the_cache(planted):
    env, _ = planted
    engine = env.factory.kw["bind"]
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    manager = env.client("ada")
    statements.clear()
    first = manager.get("/dashboard").text
    loads = [s for s in statements if "FROM complaints" in s]
    statements.clear()
    second = manager.get("/dashboard").text
    assert loads and not [s for s in statements if "FROM complaints" in s]
    assert _causes(first) == _causes(second) and _warnings(first) == _warnings(second)
    env.app.state.dashboard_cache.clear()
    statements.clear()
    manager.get("/dashboard")
    assert [s for s in statements if "FROM complaints" in s]


def test_cache_expires_and_keeps_a_bounded_number_of_periods():
    cache = PanelCache(ttl_s=0.0, max_entries=2)
    calls: list[str] = []
    for key in ("a", "a", "b", "c"):
        cache.get(key, lambda key=key: calls.append(key))
    assert calls == ["a", "a", "b", "c"]  # ttl 0: every get recomputes
    cache = PanelCache(ttl_s=60.0, max_entries=2)
    for key in ("a", "b", "a", "c", "a", "b"):
        cache.get(key, lambda key=key: calls.append(key) or key)
    assert calls[4:] == ["a", "b", "c", "a", "b"]  # a was cached once, evicted by c (oldest), then b by a


def test_period_defaults_to_twelve_whole_weeks_up_to_the_latest_data():
    errors: list[str] = []
    sunday = date(2026, 8, 23)
    assert default_period(sunday) == choose_period(None, None, sunday, errors)
    assert default_period(sunday).day_from == date(2026, 6, 1)  # a Monday, 12 weeks back
    wednesday = date(2026, 8, 26)
    assert choose_period(None, None, wednesday, errors).day_from == date(2026, 6, 8)
    assert choose_period(date(2026, 7, 1), None, sunday, errors).day_to == sunday
    assert choose_period(None, date(2026, 7, 5), sunday, errors).day_from == date(2026, 4, 13)
    assert choose_period(None, None, None, errors) is None and not errors


@pytest.mark.browser
def test_dashboard_in_chromium(sqlite_url, tmp_path, page, artifacts_dir):
    """Debian's chromium renders the dashboard (the app answers through Playwright's request routing, with the
    manager's session): heat maps with Chinese labels in a CJK font, the warning, the causes, the items."""
    from callqc.attribution import refresh_attribution

    env = _env(sqlite_url, tmp_path)
    population = generate_population(SPEC)
    write_population(env.factory, population, TZ)
    refresh_attribution(env.factory, SPEC.start, population.end - timedelta(days=1), tz=TZ)  # opens rectification items
    manager = env.client("max")

    def answer(route) -> None:
        request = route.request
        if request.url.endswith("/audio"):  # synthetic calls have no recordings in object storage
            route.abort()
            return
        response = manager.request(request.method, request.url, headers=request.headers,
                                   content=request.post_data_buffer)
        route.fulfill(status=response.status_code, headers=dict(response.headers), body=response.content)

    page.route("http://testserver/**", answer)
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.goto("http://testserver/dashboard")
    assert page.evaluate("[...document.querySelectorAll('svg circle')].filter(c => isNaN(parseFloat("
                         "c.getAttribute('cy')))).length") == 0
    assert not [e for e in console_errors if "attribute" in e], console_errors  # e.g. <circle> cy: Expected length
    heatmap = page.locator("#heatmap-agency-violation")
    box = heatmap.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 150
    assert sorted(heatmap.locator("text.row-label").all_text_contents()) == sorted(AGENCIES)
    assert "威胁恐吓" in heatmap.locator("text.col-label").all_text_contents()
    label_box = heatmap.locator("text.row-label", has_text=HOT_AGENCY).bounding_box()
    assert label_box and label_box["width"] > 30  # four glyphs laid out, not collapsed
    assert page.evaluate("document.fonts.check('13px \"Noto Sans CJK SC\"', '恒信资产')")
    assert page.locator("#heatmap-line-week").bounding_box()["height"] > 150
    assert page.locator("tr.cause").first.locator(".cause-label").inner_text() == "行为: 威胁恐吓"
    assert SPEC.rising_line in page.locator("tr.warning-row").first.inner_text()
    assert SPEC.rising_line in page.locator("#rectification").inner_text()
    assert page.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor") == "rgb(255, 255, 255)"
    page.screenshot(path=str(artifacts_dir / "web_dashboard.png"), full_page=True)
    page.locator("tr.cause").first.locator(".evidence a").first.click()
    page.wait_for_url(re.compile(r"http://testserver/calls/\d+$"))
    assert page.locator("h1").inner_text().startswith(("通话 ", "Call "))


def test_english_setting_gives_an_english_dashboard(sqlite_url, tmp_path):
    """web.language: en — the attribution panel in English only (data values such as agency names aside)."""
    from qc.attribution.texts import ZH

    settings = make_settings(tmp_path, web__language="en")
    factory = db.session_factory(db.make_engine(sqlite_url))
    with db.session_scope(factory) as session:
        seed_users(session, settings)
    write_population(factory, generate_population(SPEC), TZ)
    env = WebEnv(app=create_app(settings, factory), factory=factory, settings=settings, calls={})
    html = env.client("max").get("/dashboard").text
    assert "Root causes (multivariable logistic regression" in html and "Behaviour: threat" in html
    assert "insufficient data" in html  # thin heat-map cells
    for value in ZH.values():
        fragment = value.split("{")[0].strip(" :：（）")
        if len(fragment) >= 4 and not fragment.isascii():
            assert fragment not in html, fragment
