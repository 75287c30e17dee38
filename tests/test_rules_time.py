"""Calling hours and frequency across timezones, US DST and midnight (beyond the pack tables)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from qc.domain import Call, CallAttempt, Segment, Transcript
from qc.rules import load_pack
from qc.scoring import score_call

NEW_YORK = ZoneInfo("America/New_York")
TRANSCRIPT_EN = Transcript(segments=(Segment(0, 0.0, 3.0, "agent", "This is a debt collector."),), language="en", duration=3.0)
TRANSCRIPT_ZH = Transcript(segments=(Segment(0, 0.0, 3.0, "agent", "您好，这边是恒信资产管理公司，工号四七一二"),), language="zh", duration=3.0)


def _rule_fired(pack_name, rule_id, call, history=()):
    transcript = TRANSCRIPT_EN if pack_name == "us_fdcpa" else TRANSCRIPT_ZH
    result = score_call(call, transcript, load_pack(pack_name), history=history)
    return any(f.rule_id == rule_id for f in result.findings)


def _call(started_at, **extra):
    return Call(call_id="c", agency="a", agent_id="x", account_id="ACC", started_at=started_at,
                callee_number="555****0001", **extra)


@pytest.mark.parametrize("utc_time,fired", [
    ("2026-03-08T06:30:00+00:00", True),   # 01:30 EST, before the switch
    ("2026-03-08T12:00:00+00:00", False),  # 08:00 EDT: allowed (12:00Z would be 07:00 EST)
    ("2026-03-08T11:59:00+00:00", True),   # 07:59 EDT
    ("2026-11-01T12:59:00+00:00", True),   # 07:59 EST after the fall-back
    ("2026-11-01T13:00:00+00:00", False),  # 08:00 EST
    ("2026-11-02T02:00:00+00:00", False),  # 21:00 EST: the end of the window is allowed
    ("2026-11-02T02:01:00+00:00", True),   # 21:01 EST
])
def test_us_calling_hours_follow_dst_through_callee_timezone(utc_time, fired):
    call = _call(datetime.fromisoformat(utc_time), callee_timezone="America/New_York")
    assert _rule_fired("us_fdcpa", "US-01", call) is fired


def test_same_instant_is_inside_hours_for_one_callee_and_outside_for_another():
    instant = datetime(2026, 11, 3, 13, 30, tzinfo=timezone.utc)  # 08:30 New York, 05:30 Los Angeles
    assert not _rule_fired("us_fdcpa", "US-01", _call(instant, callee_timezone="America/New_York"))
    assert _rule_fired("us_fdcpa", "US-01", _call(instant, callee_timezone="America/Los_Angeles"))


def test_cn_day_count_resets_at_local_midnight_not_utc_midnight():
    local = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 11, 4, 9, 0, tzinfo=local)
    # three answered calls 4 Nov 00:10–00:30 local = 3 Nov 16:10–16:30 UTC: same local day as `now`
    same_day = [CallAttempt(f"h{i}", "ACC", datetime(2026, 11, 3, 16, 10 + 10 * i, tzinfo=timezone.utc)) for i in range(3)]
    assert _rule_fired("cn_collection", "CN-02-answered", _call(now), same_day)
    # the same three calls an hour earlier are on 3 Nov local: the day before
    previous_day = [CallAttempt(a.call_id, "ACC", a.started_at - timedelta(hours=1)) for a in same_day]
    assert not _rule_fired("cn_collection", "CN-02-answered", _call(now), previous_day)


def test_seven_in_seven_counts_calendar_days_across_dst_start():
    now = datetime(2026, 3, 14, 9, 0, tzinfo=NEW_YORK)  # EDT
    # 7 earlier attempts from 8 March 09:30 (EDT) to 13 March: 8 in the 7 days 8–14 March
    history = [CallAttempt(f"h{i}", "ACC", datetime(2026, 3, 8, 9, 30, tzinfo=NEW_YORK) + timedelta(days=i)) for i in range(6)]
    history.append(CallAttempt("h6", "ACC", datetime(2026, 3, 13, 20, 0, tzinfo=NEW_YORK)))
    call = _call(now, callee_timezone="America/New_York")
    assert _rule_fired("us_fdcpa", "US-05-7in7", call, history)
    # moving the first attempt to 7 March (outside the 7 consecutive days) leaves exactly 7
    history[0] = CallAttempt("h0", "ACC", datetime(2026, 3, 7, 23, 30, tzinfo=NEW_YORK))
    assert not _rule_fired("us_fdcpa", "US-05-7in7", call, history)


def test_the_call_itself_in_history_is_not_counted_twice():
    now = datetime(2026, 11, 3, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    history = [CallAttempt(f"h{i}", "ACC", now - timedelta(hours=i + 1)) for i in range(2)] + [CallAttempt("c", "ACC", now)]
    assert not _rule_fired("cn_collection", "CN-02-answered", _call(now), history)
