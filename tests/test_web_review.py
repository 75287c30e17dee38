"""Reviewing through the app on SQLite and PostgreSQL: decisions, added findings, notes, appeals, the queue's
order, filters, pages and counts, the dashboard. Every write must leave a reviews row and an audit entry."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import event, select

from callqc.db.models import Appeal, AuditLog, CallScoreRow, FindingRow, Recording, Review
from callqc.web.auth import CurrentUser
from web_synthetic import add_synthetic_calls
from callqc.web.queries import EMOTION_RANK, PAGE_SIZE, QueueFilters, queue_page
from web_fixtures import make_web_env, page_csrf

REVIEWER = CurrentUser(id=0, username="q", role="reviewer", agency=None)


@pytest.fixture
def web(db_url, tmp_path):
    return make_web_env(db_url, tmp_path)


def _audit(web) -> list[tuple[str, str, str, dict, dict]]:
    with web.factory() as session:
        return [(a.username, a.action, a.object_type, a.before, a.after)
                for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_decide_add_note_appeal_resolve(web):
    call = web.calls["hengxin"]
    disclosure, threat = call.finding_ids
    rita = web.client("rita")
    token = page_csrf(rita, "/queue")

    def post(client, path, **form):
        return client.post(path, data={"csrf_token": token, **form}, follow_redirects=False)

    assert post(rita, f"/findings/{threat}/decision", decision="confirm", reason="").status_code == 400
    assert post(rita, f"/findings/{threat}/decision", decision="maybe", reason="x").status_code == 400
    assert post(rita, f"/findings/{threat}/decision", decision="confirm", reason="威胁上门").status_code == 303
    with web.factory() as session:
        assert session.get(CallScoreRow, call.score_id).review_status == "in_review"
    assert post(rita, f"/findings/{disclosure}/decision", decision="reject", reason="not disclosed").status_code == 303
    with web.factory() as session:
        assert session.get(CallScoreRow, call.score_id).review_status == "done"

    # A missed finding on a span: evidence is taken from the agent's lines inside it.
    bad_span = post(rita, f"/calls/{call.recording_id}/findings", category="pressure", severity="major",
                    speaker="agent", start_s="50", end_s="40", reason="r")
    assert bad_span.status_code == 400 and "span" in bad_span.text
    added = post(rita, f"/calls/{call.recording_id}/findings", category="pressure", severity="major",
                 speaker="agent", start_s="39.0", end_s="57.0", reason="今天必须还清的压力")
    assert added.status_code == 303
    assert post(rita, f"/calls/{call.recording_id}/notes", note="复核：建议培训").status_code == 303
    with web.factory() as session:
        new = session.scalar(select(FindingRow).where(FindingRow.source == "reviewer"))
        assert (new.status, new.category, new.call_score_id, new.start_s, new.end_s) == (
            "confirmed", "pressure", call.score_id, 39.0, 57.0)
        assert "下周就直接去你们公司" in new.text and "那就麻烦你了" in new.text and "你们这样搞" not in new.text
        assert [(r.finding_id, r.decision) for r in session.scalars(select(Review).order_by(Review.id))] == [
            (threat, "confirm"), (disclosure, "reject"), (new.id, "add"), (None, "note")]
        new_id = new.id

    # The agency appeals the confirmed threat; a rejected finding cannot be appealed.
    viewer = web.client("hx_viewer")
    viewer_token = page_csrf(viewer, "/queue")
    assert viewer.post(f"/findings/{disclosure}/appeal", data={"csrf_token": viewer_token, "reason": "x"}
                       ).status_code == 400
    assert viewer.post(f"/findings/{threat}/appeal", data={"csrf_token": viewer_token, "reason": "只是告知流程"},
                       follow_redirects=False).status_code == 303
    assert viewer.post(f"/findings/{threat}/appeal", data={"csrf_token": viewer_token, "reason": "again"}
                       ).status_code == 400  # one open appeal per finding
    viewer_page = viewer.get(f"/calls/{call.recording_id}").text
    assert "只是告知流程" in viewer_page and "复核：建议培训" not in viewer_page  # internal notes stay internal
    with web.factory() as session:
        appeal_id = session.scalar(select(Appeal.id))

    assert post(rita, f"/appeals/{appeal_id}/resolve", outcome="overturned", resolution="x").status_code == 403
    max_client = web.client("max")
    assert "只是告知流程" in max_client.get("/appeals").text
    max_token = page_csrf(max_client, "/appeals")
    assert max_client.post(f"/appeals/{appeal_id}/resolve",
                           data={"csrf_token": max_token, "outcome": "overturned", "resolution": "话术属于告知"},
                           follow_redirects=False).status_code == 303
    with web.factory() as session:
        appeal = session.get(Appeal, appeal_id)
        assert (appeal.status, appeal.resolver) == ("overturned", "max")
        assert session.get(FindingRow, threat).status == "rejected"
    assert max_client.post(f"/appeals/{appeal_id}/resolve",
                           data={"csrf_token": max_token, "outcome": "upheld", "resolution": "again"}
                           ).status_code == 400

    entries = _audit(web)
    assert [(user, action, kind) for user, action, kind, _, _ in entries] == [
        ("rita", "confirm", "finding"), ("rita", "reject", "finding"), ("rita", "add", "finding"),
        ("rita", "note", "recording"), ("hx_viewer", "appeal", "finding"), ("max", "resolve_appeal", "appeal")]
    assert entries[0][3:] == ({"status": "open"}, {"status": "confirmed", "reason": "威胁上门"})
    assert entries[2][4]["start_s"] == 39.0 and entries[2][3] == {}
    assert entries[5][3] == {"appeal_status": "open", "finding_status": "confirmed"}
    assert entries[5][4]["finding_status"] == "rejected"
    assert new_id in [f.id for f in _findings(web, call.recording_id)]


def _findings(web, recording_id):
    with web.factory() as session:
        return list(session.scalars(select(FindingRow).where(FindingRow.recording_id == recording_id)))


def _expected_order_key(score: CallScoreRow):
    """Fatal first, then the worst severity, then the lowest score; emotion and priority break ties."""
    return (-int(score.fatal), -score.severity_rank, score.score, -EMOTION_RANK.get(score.customer_emotion, 0),
            -score.review_priority, -score.id)


def test_queue_order_filters_pages_and_counts(web):
    with web.factory() as session:
        synthetic = add_synthetic_calls(session, web.settings, 130, seed=3)
        session.commit()
        scores = {s.id: s for s in session.scalars(select(CallScoreRow))}
        findings: dict[int, list[FindingRow]] = {}
        for finding in session.scalars(select(FindingRow)):
            findings.setdefault(finding.call_score_id, []).append(finding)
        recordings = {r.id: r for r in session.scalars(select(Recording))}
        # A re-scored call appears once, with its newest score.
        rescored = CallScoreRow(recording_id=synthetic.recording_ids[0], pack="cn_collection", pack_version="v2",
                                score=1.0, flagged=True, review_priority=0.1)
        session.add(rescored)
        session.commit()
        scores[rescored.id] = rescored
        del scores[session.scalar(select(CallScoreRow.id).where(CallScoreRow.pack_version == "synthetic")
                                  .order_by(CallScoreRow.id).limit(1))]

    expected = sorted(scores.values(), key=_expected_order_key)
    with web.factory() as session:
        first = queue_page(session, web.settings, REVIEWER, QueueFilters())
        second = queue_page(session, web.settings, REVIEWER, QueueFilters(page=2))
        last = queue_page(session, web.settings, REVIEWER, QueueFilters(page=99))
    assert first.total == 132 and first.pages == 3 and len(first.rows) == PAGE_SIZE
    assert [r.score_id for r in first.rows + second.rows + last.rows] == [s.id for s in expected]
    assert sum(first.status_counts.values()) == 132
    assert first.status_counts == {status: sum(1 for s in scores.values() if s.review_status == status)
                                   for status in ("pending", "in_review", "done")}

    def ids(**filters) -> set[int]:
        """Score ids over all pages of the filtered queue (checked against its total)."""
        found: list[int] = []
        with web.factory() as session:
            page = queue_page(session, web.settings, REVIEWER, QueueFilters(**filters))
            for number in range(1, page.pages + 1):
                found += [r.score_id for r in queue_page(session, web.settings, REVIEWER,
                                                         QueueFilters(**filters, page=number)).rows]
        assert len(found) == len(set(found)) == page.total
        return set(found)

    synthetic_scores = [s for s in scores.values() if s.pack_version == "synthetic"]
    agent = recordings[synthetic_scores[5].recording_id].agent_id
    assert ids(agent=agent) == {s.id for s in scores.values() if recordings[s.recording_id].agent_id == agent}
    lianzhong = {s.id for s in scores.values() if recordings[s.recording_id].agency in ("lianzhong", "联众催收")}
    assert ids(agency="lianzhong") == lianzhong == ids(agency="联众催收")
    with_threat = {s.id for s in synthetic_scores if any(f.rule_id == "CN-THREAT-01" for f in findings[s.id])}
    assert ids(rule="CN-THREAT-01", agency="lianzhong") == with_threat & lianzhong
    insult_done = {s.id for s in synthetic_scores if s.review_status == "done"
                   and any(f.category == "insult" for f in findings[s.id])}
    assert ids(category="insult", status="done") == insult_done
    day = date(2026, 10, 10)
    on_day = {s.id for s in scores.values() if recordings[s.recording_id].started_at
              and _local_day(recordings[s.recording_id].started_at, web.settings) == day}
    assert on_day and ids(date_from=day, date_to=day) == on_day


def _local_day(started_at, settings) -> date:
    from datetime import timezone
    from zoneinfo import ZoneInfo

    if started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=timezone.utc)
    return started_at.astimezone(ZoneInfo(settings.qc.timezone)).date()


def test_queue_and_call_pages_issue_a_fixed_number_of_queries(web):
    """No per-row queries: the statement count does not grow with the rows shown."""
    engine = web.factory.kw["bind"]
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    client = web.client("rita")

    def count(path: str) -> int:
        statements.clear()
        assert client.get(path).status_code == 200
        return len(statements)

    client.get("/queue")  # fills the filter drop-down cache
    small_queue = count("/queue")
    small_call = count(f"/calls/{web.calls['hengxin'].recording_id}")
    with web.factory() as session:
        synthetic = add_synthetic_calls(session, web.settings, 120, seed=5, segments_per_call=40)
        session.commit()
    assert count("/queue") == small_queue
    html = client.get("/queue").text
    assert len(re.findall(r'class="call-link"', html)) == PAGE_SIZE
    assert count(f"/calls/{synthetic.recording_ids[-1]}") == small_call


def _heat_cells(html: str) -> dict[tuple[str, str], int]:
    return {(agency, category): int(n) for agency, category, n in re.findall(
        r'data-agency="([^"]+)" data-category="([^"]+)">(\d+)<', html)}


def test_dashboard_counts_per_agency_and_category(web):
    max_client = web.client("max")
    cells = _heat_cells(max_client.get("/dashboard").text)
    assert cells[("hengxin", "threat")] == 1 and cells[("hengxin", "third_party_disclosure")] == 1
    assert cells[("lianzhong", "insult")] == 1  # stored under the display name 联众催收, counted under its code
    assert cells[("lianzhong", "threat")] == 0
    rita = web.client("rita")
    token = page_csrf(rita, "/queue")
    rita.post(f"/findings/{web.calls['hengxin'].finding_ids[1]}/decision",
              data={"csrf_token": token, "decision": "reject", "reason": "no threat"})
    cells = _heat_cells(max_client.get("/dashboard").text)
    assert cells.get(("hengxin", "threat"), 0) == 0 and cells[("hengxin", "third_party_disclosure")] == 1
    later = _heat_cells(max_client.get("/dashboard?date_from=2026-11-04").text)  # the insult call was on 11-03
    assert later.get(("lianzhong", "insult"), 0) == 0 and later[("hengxin", "third_party_disclosure")] == 1
    assert rita.get("/dashboard").status_code == 403


def test_severity_rank_is_stored_on_insert_and_backfilled_by_the_migration(tmp_path):
    from sqlalchemy import create_engine, text

    from callqc import db

    url = f"sqlite:///{tmp_path / 'rank.db'}"
    db.upgrade(url, "0001")  # a database from before the column: scores and findings already there
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO recordings (id, bucket, key, etag, version, answered, channel_map, "
                                "raw_metadata, status, created_at, updated_at) VALUES (1, 'b', 'k', 'e', 1, 1, '{}', "
                                "'{}', 'scored', '2026-11-01', '2026-11-01')"))
        connection.execute(text("INSERT INTO call_scores (id, recording_id, pack, pack_version, score, flagged, fatal, "
                                "review_priority, complaint_intent, review_status, created_at) VALUES "
                                "(1, 1, 'p', 'v', 50, 1, 0, 0, 0, 'pending', '2026-11-01'), "
                                "(2, 1, 'p', 'v2', 90, 0, 0, 0, 0, 'pending', '2026-11-01')"))
        for severity in ("minor", "major", "info"):
            connection.execute(text("INSERT INTO findings (call_score_id, recording_id, rule_id, category, severity, "
                                    "segment_ids, text, description, source, pack, pack_version, status, created_at) "
                                    f"VALUES (1, 1, 'R', 'c', '{severity}', '[]', '', '', 'rule', 'p', 'v', 'open', "
                                    "'2026-11-01')"))
    engine.dispose()
    db.upgrade(url)
    factory = db.session_factory(db.make_engine(url))
    with factory() as session:
        assert dict(session.execute(select(CallScoreRow.id, CallScoreRow.severity_rank)).all()) == {1: 3, 2: 0}
        # the pipeline inserts a score with its findings: the rank is set from them
        score = CallScoreRow(recording_id=1, pack="p", pack_version="v3", score=0.0, flagged=True, fatal=True,
                             findings=[FindingRow(recording_id=1, rule_id="R", category="threat", severity=severity)
                                       for severity in ("minor", "critical")])
        session.add(score)
        session.commit()
        assert score.severity_rank == 4


def test_queue_shows_display_names_and_callee_local_times(web):
    with web.factory() as session:
        add_synthetic_calls(session, web.settings, 8, seed=4)
        session.commit()
    html = web.client("rita").get("/queue").text
    assert "待复核通话" in html and "违规类别" in html and "恒信资产" in html
    rows = re.findall(r'<tr class="sev-[^"]*" data-fatal="(\d)"\s+data-severity="(\w*)" data-score="([\d.]+)">(.*?)</tr>',
                      html, re.S)
    assert len(rows) == 10
    ranks = [(-int(fatal), -("info", "minor", "major", "critical").index(severity), float(score))
             for fatal, severity, score, _ in rows]
    assert ranks == sorted(ranks)  # fatal, worst severity, then the lowest score
    cells = {re.search(r'class="call-link"[^>]*>([^<]+)<', row).group(1): row for *_, row in rows}
    assert "2026-11-05 09:36 UTC+8" in cells["callA_04"] and "威胁恐吓" in cells["callA_04"]
    us_rows = [row for row in cells.values() if "Acme Recovery LLC" in row]
    chinese_rows = [row for row in cells.values() if "Acme Recovery LLC" not in row]
    assert us_rows and all("UTC−5" in row for row in us_rows)
    assert all("UTC+8" in row for row in chinese_rows)
    table = html.split("<table")[1]
    assert "false_consequence" not in table and "third_party_disclosure" not in table and ">critical" not in table


def test_transcript_quality_flags_are_shown_on_their_line(web):
    """A line the ASR guards kept but flagged (low confidence, a loop cut) says so, so the reviewer listens before
    trusting the words; flags with no meaning for a reviewer are not shown."""
    from callqc.db.models import SegmentRow, TranscriptRow

    call = web.calls["hengxin"]
    with web.factory() as session:
        transcript = session.scalars(select(TranscriptRow).where(TranscriptRow.recording_id == call.recording_id)).one()
        first, second = session.scalars(select(SegmentRow).where(SegmentRow.transcript_id == transcript.id)
                                        .order_by(SegmentRow.idx).limit(2)).all()
        first.flags = ["low_confidence", "repetition_cut", "internal_note"]
        second.flags = []
        ids = first.id, second.id
        session.commit()
    html = web.client("rita").get(f"/calls/{call.recording_id}").text
    lines = {int(i): body for i, body in re.findall(r'<li class="seg[^"]*" id="seg-(\d+)"(.*?)</li>', html, re.S)}
    assert "识别置信度低" in lines[ids[0]] and "重复已删减" in lines[ids[0]] and "internal_note" not in lines[ids[0]]
    assert "asr-flag" not in lines[ids[1]]
