"""Reports: HTML (inline SVG, Chinese labels) + Excel with the same tables; a real chromium screenshot."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from qc.attribution import Frames, analyse
from qc.attribution.synthetic import PopulationSpec, generate_population, write_population
from qc.reports import render_report, write_report
from qc.reports.tables import build_tables

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SPEC = PopulationSpec(n_calls=20_000, n_agents=100, target_complaints=900, seed=5)


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
        assert rows[1][: len(table.frame.columns)] == tuple(str(c) for c in table.frame.columns), table.sheet
        assert len(rows) - 2 == len(table.frame), table.sheet
    causes = list(workbook["根因排序"].iter_rows(min_row=3, values_only=True))
    assert causes[0][1] in {"违规: 威胁恐吓", "违规: 向第三人披露"}


def test_write_report_from_the_database(db_session_factory, tmp_path):
    population = generate_population(PopulationSpec(n_calls=3_000, n_agents=30, target_complaints=300, weeks=10))
    write_population(db_session_factory, population)
    paths = write_report(db_session_factory, population.spec.start, population.end - timedelta(days=1), tmp_path)
    assert paths.html.exists() and paths.xlsx.exists()
    assert "机构 × 违规类别" in paths.html.read_text(encoding="utf-8")


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
    write_population(db.session_factory(db.make_engine(sqlite_url)), population)
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
