"""refresh_attribution against real databases (SQLite and PostgreSQL): links, categories, closed loop."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from callqc.db import session_scope
from callqc.db.models import ComplaintCallLink, ComplaintRow, FindingRow, Recording, RectificationItem
from callqc.attribution import refresh_attribution, write_population
from callqc.rectification import RectificationError, create_item, measure_effects, update_item
from qc.attribution.config import load_attribution_config
from qc.attribution.synthetic import PopulationSpec, generate_population

CONFIG = load_attribution_config()
SMALL = PopulationSpec(n_calls=4_000, n_agents=40, target_complaints=400, weeks=12, rise_factor=5.0, seed=11)

TZ = "Asia/Shanghai"  # the callee time zone of the test data (settings qc.timezone in the app)


def test_refresh_stores_links_and_opens_items_once(db_session_factory):
    population = generate_population(SMALL)
    write_population(db_session_factory, population, TZ)
    with session_scope(db_session_factory) as session:  # a reviewer confirmed one threat finding
        finding_id = session.scalars(select(FindingRow.id).where(FindingRow.category == "threat").limit(1)).one()
        session.execute(update(FindingRow).where(FindingRow.id == finding_id).values(status="confirmed"))
    day_to = population.end - timedelta(days=1)

    result = refresh_attribution(db_session_factory, population.spec.start, day_to, tz=TZ)
    assert result.n_calls == len(population.calls) and result.n_complaints == len(population.complaints)
    with session_scope(db_session_factory) as session:
        links = session.execute(select(func.count(ComplaintCallLink.id))).scalar_one()
        unclassified = session.execute(select(func.count()).where(ComplaintRow.category.is_(None))).scalar_one()
        items = session.scalars(select(RectificationItem).order_by(RectificationItem.id)).all()
        stored = session.execute(select(ComplaintRow.complaint_no, Recording.call_id)
                                 .join(ComplaintCallLink, ComplaintCallLink.complaint_id == ComplaintRow.id)
                                 .join(Recording, Recording.id == ComplaintCallLink.recording_id)).all()
    assert links == len(result.links.links) > 0 and unclassified == 0
    # every planted complaint is linked to the call that caused it
    caused_by = dict(zip(population.complaints["complaint_no"],
                         population.complaints["source_recording_id"].map(
                             dict(zip(population.calls["recording_id"], population.calls["call_id"])))))
    linked_pairs = set(stored)
    planted_pairs = {(no, call) for no, call in caused_by.items() if isinstance(call, str)}
    assert planted_pairs <= linked_pairs
    sources = [item.source for item in items]
    assert sources.count("finding") == 1 and sources.count("warning") == len(result.warnings) >= 1
    assert all(item.due_date and item.agency for item in items)
    assert any(population.spec.rising_line in item.title for item in items)
    assert len(result.rectification) == len(items)

    again = refresh_attribution(db_session_factory, population.spec.start, day_to, tz=TZ)
    with session_scope(db_session_factory) as session:
        assert session.execute(select(func.count(RectificationItem.id))).scalar_one() == len(items)
        assert session.execute(select(func.count(ComplaintCallLink.id))).scalar_one() == links
    assert len(again.rectification) == len(items)


def _add_calls(session, agency: str, start: datetime, days: int, per_day: int) -> None:
    for d in range(days):
        for k in range(per_day):
            session.add(Recording(bucket="t", key=f"{agency}/{d}/{k}", etag="e", call_id=f"{agency}-{d}-{k}",
                                  agency=agency, account_id=f"{agency}-{d}-{k}", status="scored",
                                  started_at=start + timedelta(days=d, hours=2)))


def test_effect_measure_compares_rates_before_and_after(db_session_factory):
    action = date(2026, 5, 1)
    start = datetime(2026, 4, 1, tzinfo=timezone.utc)
    with session_scope(db_session_factory) as session:
        _add_calls(session, "恒信资产", start, 60, 10)  # 300 calls before 1 May, 300 in the 30 days after
        for n in range(30):  # 30 complaints before, 6 after
            when = start + timedelta(days=n % 29, hours=5) if n < 24 else start + timedelta(days=1 + n % 29, hours=5)
            session.add(ComplaintRow(complaint_no=f"B{n}", account_id="x", received_at=when, channel="12378",
                                     agency="恒信资产"))
        for n in range(6):
            session.add(ComplaintRow(complaint_no=f"A{n}", account_id="x", channel="12378", agency="恒信资产",
                                     received_at=datetime(2026, 5, 3 + n, 5, tzinfo=timezone.utc)))
        item = create_item(session, "恒信资产", "威胁恐吓专项整改", due_date=date(2026, 5, 31), config=CONFIG)
        item.created_at = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)  # a manual item acts from its creation day
        session.flush()
        assert measure_effects(session, CONFIG, TZ, today=date(2026, 6, 30)) == 1
        assert item.effect_rate_before == pytest.approx(1000 * 30 / 300)
        assert item.effect_rate_after == pytest.approx(1000 * 6 / 300)
        assert item.effect_measured_at is not None


def test_rectification_updates_are_validated(db_session_factory):
    with session_scope(db_session_factory) as session:
        item = create_item(session, "联众催收", "第三方披露整改", config=CONFIG)
        assert item.due_date == date.today() + timedelta(days=CONFIG.closed_loop.due_days)
        with pytest.raises(RectificationError, match="field 'status'"):
            update_item(session, item.id, status="finished")
        with pytest.raises(RectificationError, match="accountability_action"):
            update_item(session, item.id, status="closed")
        update_item(session, item.id, status="closed", accountability_action="扣减服务费 5%，涉事坐席停岗培训")
        assert item.status == "closed" and item.closed_at is not None
        with pytest.raises(RectificationError, match="not found"):
            update_item(session, 99999, status="open")


def test_a_period_without_calls_gives_an_empty_result_not_an_error(sqlite_url, tmp_path):
    from callqc.db import make_engine, session_factory
    from qc.attribution import markdown_summary
    from qc.reports import render_report

    result = refresh_attribution(session_factory(make_engine(sqlite_url)), date(2026, 1, 1), date(2026, 3, 1), tz=TZ)
    assert result.model.n_calls == 0 and result.model.terms.empty
    assert "无显著根因" in markdown_summary(result)
    paths = render_report(result, tmp_path)
    assert paths.html.exists() and paths.xlsx.exists()
