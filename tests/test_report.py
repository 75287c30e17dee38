"""Reports: HTML (inline SVG, Chinese labels) + Excel with the same tables; a real chromium screenshot."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from qc.attribution import Frames, analyse
from callqc.attribution import write_population, write_report
from qc.attribution.synthetic import PopulationSpec, generate_population
from qc.reports import render_report
from qc.reports.tables import build_tables

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SPEC = PopulationSpec(n_calls=20_000, n_agents=100, target_complaints=900, seed=5)

TZ = "Asia/Shanghai"  # the callee time zone of the test data (settings qc.timezone in the app)


@pytest.fixture(scope="module")
def result():
    population = generate_population(SPEC)
    frames = Frames(population.calls, population.findings, population.complaints.drop(columns=["cause"]))
    return analyse(frames, population.spec.start, population.end - timedelta(days=1))


@pytest.fixture(scope="module")
def report_paths(result, tmp_path_factory):
    return render_report(result, tmp_path_factory.mktemp("report"))


def test_html_is_self_contained_with_chinese_charts(report_paths):
    html = report_paths.html.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in html
    assert 'id="heatmap-agency-violation"' in html and 'id="heatmap-line-week"' in html
    assert "威胁恐吓" in html and "恒信资产" in html and "协商还款" in html and "账户管控" in html
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html


def test_excel_has_the_same_tables(result, report_paths):
    tables = build_tables(result)
    workbook = load_workbook(report_paths.xlsx, read_only=True)
    assert workbook.sheetnames == [t.sheet for t in tables]
    for table in tables:
        rows = list(workbook[table.sheet].iter_rows(values_only=True))
        if not len(table.frame):  # a one-line reason instead of a header-only table
            assert rows[1][0] == table.empty and table.empty, table.sheet
            continue
        assert rows[1][: len(table.frame.columns)] == tuple(str(c) for c in table.frame.columns), table.sheet
        assert len(rows) - 2 == len(table.frame), table.sheet
    causes = list(workbook["根因排序"].iter_rows(min_row=3, values_only=True))
    assert causes[0][1] == "行为" and causes[0][2] in {"行为: 威胁恐吓", "行为: 向第三人披露"}


def test_write_report_from_the_database(db_session_factory, tmp_path):
    population = generate_population(PopulationSpec(n_calls=3_000, n_agents=30, target_complaints=300, weeks=10))
    write_population(db_session_factory, population, TZ)
    paths = write_report(db_session_factory, population.spec.start, population.end - timedelta(days=1), tmp_path,
                         tz=TZ)
    assert paths.html.exists() and paths.xlsx.exists()
    assert "机构 × 违规类别" in paths.html.read_text(encoding="utf-8")


# ---- correctness: thin cells, gaps, one language, empty tables, the day a call belongs to ---------------------

def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", html, flags=re.S)


@pytest.fixture(scope="module")
def gappy(tmp_path_factory):
    """A period that starts two weeks before the first call: empty weeks, thin cells."""
    population = generate_population(PopulationSpec(n_calls=6_000, n_agents=40, target_complaints=300, weeks=10,
                                                    seed=9))
    frames = Frames(population.calls, population.findings, population.complaints.drop(columns=["cause"]))
    result = analyse(frames, population.spec.start - timedelta(days=14), population.end - timedelta(days=1))
    return result, render_report(result, tmp_path_factory.mktemp("gappy"))


def test_no_nan_in_any_chart_and_thin_cells_say_insufficient_data(gappy):
    result, paths = gappy
    html = paths.html.read_text(encoding="utf-8")
    svgs = _svgs(html)
    assert len(svgs) >= 3
    for chart in svgs:
        assert "nan" not in chart.lower(), chart[:200]
    heat = next(c for c in svgs if 'id="heatmap-line-week"' in c)
    assert heat.count(">数据不足</text>") >= 2 * len(result.heatmap_line_week)  # two weeks without calls per line
    assert "数据不足（通话少于 30 通）" in heat
    agency_heat = result.heatmap_agency_violation
    thin = result.heatmap_agency_violation_calls < 30
    assert agency_heat.isna().equals(thin.reindex_like(agency_heat)), "thin cells must be blank, others rates"


def test_relative_risks_are_withheld_where_complaints_are_too_few(gappy):
    result, _paths = gappy
    tables = {t.key: t for t in build_tables(result)}
    violations = tables["violations"].frame.set_index("违规类别")
    for row in result.violations.itertuples(index=False):
        shown = violations.loc[row.label, "相对风险RR"]
        if row.complaints_with < 5 or row.complaints_without < 5:
            assert str(shown).startswith("数据不足（投诉"), shown
            assert pd_isna(violations.loc[row.label, "95%CI下限"])
        else:
            assert isinstance(shown, float)


def pd_isna(value) -> bool:
    return value is None or value != value


def test_one_language_per_report(tmp_path):
    from dataclasses import replace

    from qc.attribution.config import load_attribution_config
    from qc.attribution.texts import EN, ZH

    population = generate_population(PopulationSpec(n_calls=4_000, n_agents=30, target_complaints=200, weeks=8))
    frames = Frames(population.calls, population.findings, population.complaints.drop(columns=["cause"]))
    day_to = population.end - timedelta(days=1)
    config = load_attribution_config()
    pages = {language: render_report(analyse(frames, population.spec.start, day_to, replace(config, language=language)),
                                     tmp_path / language).html.read_text(encoding="utf-8")
             for language in ("zh-CN", "en")}

    def fragments(catalogue, min_length):
        for value in catalogue.values():
            for part in re.split(r"\{[^}]*\}", value):
                part = part.strip(" :：（）()，,；;。.")
                if len(part) >= min_length and not (catalogue is ZH and part.isascii()):
                    yield part

    leaks = {part for part in fragments(ZH, 4) if part in pages["en"]}
    assert not leaks, f"Chinese report text in the English report: {sorted(leaks)[:5]}"
    leaks = {part for part in fragments(EN, 10) if part in pages["zh-CN"]}
    assert not leaks, f"English report text in the Chinese report: {sorted(leaks)[:5]}"
    assert '<html lang="en">' in pages["en"] and "Root causes" in pages["en"]
    assert '<html lang="zh-CN">' in pages["zh-CN"] and "根因排序" in pages["zh-CN"]


def test_a_period_without_complaints_explains_its_empty_sections(tmp_path):
    population = generate_population(PopulationSpec(n_calls=2_000, n_agents=20, target_complaints=100, weeks=6))
    frames = Frames(population.calls, population.findings, population.complaints.iloc[0:0].drop(columns=["cause"]))
    html = render_report(analyse(frames, population.spec.start, population.end - timedelta(days=1)),
                         tmp_path).html.read_text(encoding="utf-8")
    assert "<tbody></tbody>" not in html
    assert "未拟合：本期通话没有归因到任何投诉" in html and "not fitted" not in html
    assert "无显著根因" in html and "本期没有投诉。" in html


def test_the_report_counts_a_call_on_the_callees_local_day(sqlite_url):
    """Three calls made in New York on the evening of 2026-11-03 (-05:00) are already 4 November in Shanghai: the
    run files them under 2026-11-03, and so must the report."""
    from datetime import datetime, timezone

    from sqlalchemy import insert

    from callqc import db
    from callqc.db import session_scope
    from callqc.db.models import Recording
    from callqc.attribution import load_frames

    factory = db.session_factory(db.make_engine(sqlite_url))
    rows = [{"bucket": "recordings", "key": f"acme/2026-11-03/us{k}.flac", "etag": "e", "call_id": f"us{k}",
             "agency": "acme", "account_id": f"AC{k}", "status": "scored", "started_at_offset_min": -300,
             "started_at": datetime(2026, 11, 3, 19 + k, 5, tzinfo=timezone.utc)} for k in range(3)]
    rows += [{"bucket": "recordings", "key": f"hx/2026-11-03/cn{k}.flac", "etag": "e", "call_id": f"cn{k}",
              "agency": "hx", "account_id": f"CN{k}", "status": "scored", "started_at_offset_min": 480,
              "started_at": datetime(2026, 11, 3, 1 + k, 0, tzinfo=timezone.utc)} for k in range(3)]
    with session_scope(factory) as session:
        session.execute(insert(Recording), rows)
    with session_scope(factory) as session:
        frames = load_frames(session, date(2026, 11, 3), date(2026, 11, 3), 0, TZ)
        after = load_frames(session, date(2026, 11, 4), date(2026, 11, 4), 0, TZ)
    assert sorted(frames.calls["call_id"]) == ["cn0", "cn1", "cn2", "us0", "us1", "us2"]
    assert after.calls.empty
    result = analyse(Frames(frames.calls, frames.findings, frames.complaints), date(2026, 11, 3), date(2026, 11, 3))
    assert result.n_calls == 6


def _chromium_or_fail() -> None:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install -y chromium fonts-noto-cjk)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.mark.browser
def test_browser_renders_heatmap_and_chinese_labels(report_paths, artifacts_dir):
    _chromium_or_fail()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(report_paths.html.as_uri())
            heatmap = page.locator("#heatmap-agency-violation")
            box = heatmap.bounding_box()
            assert box and box["width"] > 200 and box["height"] > 100
            labels = heatmap.locator("text.row-label").all_text_contents()
            assert "恒信资产" in labels
            assert "威胁恐吓" in heatmap.locator("text.col-label").all_text_contents()
            label_box = heatmap.locator("text.row-label", has_text="恒信资产").bounding_box()
            assert label_box and label_box["width"] > 30  # four glyphs laid out, not collapsed
            assert page.evaluate("document.fonts.check('13px \"Noto Sans CJK SC\"', '恒信资产')")
            assert page.locator("#heatmap-line-week").bounding_box()["height"] > 100
            heatmap.scroll_into_view_if_needed()
            heatmap.screenshot(path=str(artifacts_dir / "attribution_heatmap.png"))
            page.screenshot(path=str(artifacts_dir / "attribution_report.png"), full_page=False)
        finally:
            browser.close()
    assert (artifacts_dir / "attribution_heatmap.png").stat().st_size > 5_000


def test_cli_report_and_rectification_commands(sqlite_url, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from callqc import db
    from callqc.cli import app
    from callqc.settings import get_settings

    population = generate_population(PopulationSpec(n_calls=3_000, n_agents=30, target_complaints=300, weeks=10))
    write_population(db.session_factory(db.make_engine(sqlite_url)), population, TZ)
    monkeypatch.setenv("CALLQC_DATABASE__URL", sqlite_url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        day_to = population.end - timedelta(days=1)
        result = runner.invoke(app, ["report", "--from", str(population.spec.start), "--to", str(day_to),
                                     "--out", str(tmp_path / "out")])
        assert result.exit_code == 0, result.output
        assert sorted(p.suffix for p in (tmp_path / "out").iterdir()) == [".html", ".xlsx"]
        assert runner.invoke(app, ["report", "--from", "2026-13-01", "--to", "2026-01-01"]).exit_code == 2
        created = runner.invoke(app, ["rectify", "create", "--agency", "恒信资产", "--title", "威胁恐吓专项整改",
                                      "--due", "2026-12-31"])
        assert created.exit_code == 0 and "due 2026-12-31" in created.output, created.output
        item_id = created.output.split("#")[1].split()[0]
        refused = runner.invoke(app, ["rectify", "update", item_id, "--status", "closed"])
        assert refused.exit_code == 2 and "accountability_action" in refused.output
        closed = runner.invoke(app, ["rectify", "update", item_id, "--status", "closed", "--action", "约谈并扣减服务费"])
        assert closed.exit_code == 0 and "[closed]" in closed.output
        listed = runner.invoke(app, ["rectify", "list", "--status", "closed"])
        assert f"#{item_id} [closed] 恒信资产" in listed.output
    finally:
        get_settings.cache_clear()
