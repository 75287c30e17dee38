"""The closed loop 问题-督导-整改-问责-效果: warnings and confirmed fatal findings become rectification items.

An item is raised against an owner agency with a due date; staff move its status and record the accountability
action; its effect — the complaint rate per 1,000 calls of the item's scope in the `effect_window_days` after its
action date against the same span before — is measured automatically on every refresh.

Scope and action date are read from source_ref:
  warning:<dimension>=<value>@<week start>   scope = that business line / agency, action date = week end
  finding:<finding id>@<call date>           scope = the owner agency, action date = call date
  manual items (source_ref empty)            scope = the owner agency, action date = creation date
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
from sqlalchemy import func, select

from callqc.db.models import ComplaintRow, FindingRow, Recording, RectificationItem
from qc.attribution.config import AttributionConfig
from qc.attribution.days import QUERY_MARGIN, call_day, day_start_utc

STATUSES = ("open", "in_progress", "done", "closed")
SOURCES = ("warning", "finding", "manual")


class RectificationError(ValueError):
    """An invalid rectification change; the message names the item and the field."""


def _existing_refs(session, refs: list[str]) -> set[str]:
    if not refs:
        return set()
    rows = session.execute(select(RectificationItem.source_ref).where(RectificationItem.source_ref.in_(refs)))
    return {r[0] for r in rows}


def open_items_for_warnings(session, warnings, result, config: AttributionConfig) -> list[RectificationItem]:
    """One item per warning not seen before (source_ref is the warning's key, so re-runs add nothing)."""
    existing = _existing_refs(session, [w.key for w in warnings])
    created = []
    for warning in warnings:
        if warning.key in existing:
            continue
        agency = warning.value if warning.dimension == "agency" else _top_agency(result, warning)
        week_end = warning.week_start + timedelta(days=7)
        item = RectificationItem(
            source="warning", source_ref=warning.key, agency=agency or "(未知)",
            title=f"预警: {'业务线' if warning.dimension == 'business_line' else '机构'} {warning.value} "
                  f"{warning.week_start} 当周投诉率 {warning.rate_per_1000:.2f}‰ 超控制上限 {warning.ucl_per_1000:.2f}‰",
            description=f"{warning.complaints} 件投诉 / {warning.calls} 通通话；中心线 {warning.centre_per_1000:.2f}‰",
            owner=agency, due_date=week_end + timedelta(days=config.closed_loop.due_days), status="open")
        session.add(item)
        created.append(item)
    session.flush()
    return created


def _top_agency(result, warning) -> str | None:
    """The agency whose calls drew most of the cell's complaints that week (the owner of a business-line issue)."""
    complaints = result.complaints
    week = pd.Timestamp(warning.week_start)
    in_cell = complaints[(complaints["business_line"] == warning.value) & (complaints["received_at"] >= week)
                         & (complaints["received_at"] < week + pd.Timedelta(days=7))]
    counts = in_cell["attributed_agency"].dropna().value_counts()
    return str(counts.index[0]) if len(counts) else None


def open_items_for_fatal_findings(session, day_from: date, day_to: date, config: AttributionConfig,
                                  tz: str) -> list[RectificationItem]:
    """One item per confirmed critical finding on a call in the period."""
    lo, hi = _utc(day_from, tz), _utc(day_to + timedelta(days=1), tz)
    rows = session.execute(
        select(FindingRow.id, FindingRow.category, Recording.agency, Recording.call_id, Recording.started_at,
               Recording.started_at_offset_min)
        .join(Recording, Recording.id == FindingRow.recording_id)
        .where(FindingRow.status == "confirmed", FindingRow.severity == "critical",
               Recording.started_at >= lo - QUERY_MARGIN, Recording.started_at < hi + QUERY_MARGIN)).all()
    rows = [row for row in rows if day_from <= call_day(row.started_at, row.started_at_offset_min, tz) <= day_to]
    refs = {row.id: f"finding:{row.id}@{call_day(row.started_at, row.started_at_offset_min, tz)}" for row in rows}
    existing = _existing_refs(session, list(refs.values()))
    created = []
    for row in rows:
        if refs[row.id] in existing:
            continue
        day = call_day(row.started_at, row.started_at_offset_min, tz)
        item = RectificationItem(
            source="finding", source_ref=refs[row.id], agency=row.agency or "(未知)",
            title=f"致命违规确认: {config.finding_label(row.category)} (通话 {row.call_id})",
            owner=row.agency, due_date=day + timedelta(days=config.closed_loop.due_days), status="open")
        session.add(item)
        created.append(item)
    session.flush()
    return created


def create_item(session, agency: str, title: str, due_date: date | None = None, owner: str | None = None,
                description: str = "", config: AttributionConfig | None = None) -> RectificationItem:
    if not agency.strip() or not title.strip():
        raise RectificationError("a rectification item needs an agency and a title")
    if due_date is None and config is not None:
        due_date = date.today() + timedelta(days=config.closed_loop.due_days)
    item = RectificationItem(source="manual", agency=agency.strip(), title=title.strip(), description=description,
                             owner=owner or agency.strip(), due_date=due_date, status="open")
    session.add(item)
    session.flush()
    return item


def update_item(session, item_id: int, *, status: str | None = None, owner: str | None = None,
                due_date: date | None = None, accountability_action: str | None = None) -> RectificationItem:
    item = session.get(RectificationItem, item_id)
    if item is None:
        raise RectificationError(f"rectification item {item_id}: not found")
    if status is not None:
        if status not in STATUSES:
            raise RectificationError(f"rectification item {item_id}: field 'status': '{status}' is not one of "
                                     f"{', '.join(STATUSES)}")
        if status == "closed" and not (accountability_action or item.accountability_action):
            raise RectificationError(f"rectification item {item_id}: field 'accountability_action': "
                                     "record the accountability action (问责) before closing")
        item.status = status
        item.closed_at = datetime.now(timezone.utc) if status == "closed" else None
    if owner is not None:
        item.owner = owner
    if due_date is not None:
        item.due_date = due_date
    if accountability_action is not None:
        item.accountability_action = accountability_action
    session.flush()
    return item


def action_date(item: RectificationItem) -> date:
    ref = item.source_ref or ""
    if "@" in ref:
        day = date.fromisoformat(ref.rsplit("@", 1)[1])
        return day + timedelta(days=7) if ref.startswith("warning:") else day
    created = item.created_at or datetime.now(timezone.utc)
    return created.date()


def _scope(item: RectificationItem) -> tuple[str, str]:
    ref = item.source_ref or ""
    if ref.startswith("warning:") and "=" in ref:
        dimension, value = ref[len("warning:"):].rsplit("@", 1)[0].split("=", 1)
        return dimension, value
    return "agency", item.agency


def _utc(day: date, tz: str) -> datetime:
    return day_start_utc(day, tz)


def complaint_rate(session, dimension: str, value: str, day_from: date, day_to_exclusive: date,
                   config: AttributionConfig, tz: str) -> float | None:
    """Complaints per 1,000 calls of a scope in [day_from, day_to_exclusive); None without calls."""
    lo, hi = _utc(day_from, tz), _utc(day_to_exclusive, tz)
    calls = select(func.count(Recording.id)).where(Recording.started_at >= lo, Recording.started_at < hi,
                                                    Recording.status != "rejected")
    complaints = select(func.count(ComplaintRow.id)).where(ComplaintRow.received_at >= lo, ComplaintRow.received_at < hi)
    if dimension == "agency":
        calls = calls.where(Recording.agency == value)
        complaints = complaints.where(ComplaintRow.agency == value)
    elif dimension == "business_line":
        aliases = [value, *config.business_lines.get(value, ())]
        complaints = complaints.where(ComplaintRow.business_type.in_(aliases))
    n_calls = session.execute(calls).scalar_one()
    if not n_calls:
        return None
    return 1000.0 * session.execute(complaints).scalar_one() / n_calls


def measure_effects(session, config: AttributionConfig, tz: str, today: date | None = None) -> int:
    """Complaint rate before vs after each item's action date; items whose after-window has not begun wait."""
    today = today or date.today()
    window = timedelta(days=config.closed_loop.effect_window_days)
    measured = 0
    for item in session.scalars(select(RectificationItem)):
        start = action_date(item)
        if start > today:
            continue
        dimension, value = _scope(item)
        item.effect_rate_before = complaint_rate(session, dimension, value, start - window, start, config, tz)
        item.effect_rate_after = complaint_rate(session, dimension, value, start,
                                                min(start + window, today + timedelta(days=1)), config, tz)
        item.effect_measured_at = datetime.now(timezone.utc)
        measured += 1
    session.flush()
    return measured


def items_table(session) -> pd.DataFrame:
    columns = ["id", "source", "source_ref", "agency", "title", "owner", "due_date", "status",
               "accountability_action", "effect_rate_before", "effect_rate_after", "effect_measured_at"]
    rows = session.execute(select(*[getattr(RectificationItem, c) for c in columns])
                           .order_by(RectificationItem.id)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)
