"""The review app's reads: the queue, one call with everything its page shows, the dashboard counts.

Each page is a fixed number of queries whatever the number of rows (no per-row lazy loads): the queue is one
ordered page query, one grouped count and one grouped category query for the rows of the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, desc, exists, func, select
from sqlalchemy.orm import Session, aliased

from callqc.db.models import (
    SEVERITY_RANK,
    Appeal,
    CallScoreRow,
    FindingRow,
    PipelineRun,
    RectificationItem,
    Recording,
    Review,
    SegmentRow,
    TranscriptRow,
)
from callqc.settings import Settings
from callqc.web.auth import CurrentUser, agency_names

SEVERITIES = tuple(SEVERITY_RANK)  # info, minor, major, critical
# A distressed customer (possible vulnerability) is reviewed before an angry one, both before a calm one.
EMOTION_RANK = {"distressed": 2, "angry": 1}
REVIEW_STATUSES = ("pending", "in_review", "done")
PAGE_SIZE = 50


@dataclass(frozen=True)
class QueueFilters:
    date_from: date | None = None
    date_to: date | None = None
    agency: str = ""
    agent: str = ""
    rule: str = ""
    category: str = ""
    status: str = ""
    page: int = 1

    def query_args(self, **changes: Any) -> dict[str, str]:
        """The non-empty filters as URL query arguments (for pagination links)."""
        values = {"date_from": self.date_from or "", "date_to": self.date_to or "", "agency": self.agency,
                  "agent": self.agent, "rule": self.rule, "category": self.category, "status": self.status,
                  "page": self.page}
        values.update(changes)
        return {key: str(value) for key, value in values.items() if value not in ("", None)}


@dataclass(frozen=True)
class QueueRow:
    score_id: int
    recording_id: int
    call_id: str
    agency: str
    agent_id: str
    started_at: datetime | None
    started_at_offset_min: int | None  # the callee's UTC offset: times are shown in the callee's local time
    pack: str
    duration_s: float | None
    score: float
    fatal: bool
    severity: str
    customer_emotion: str
    review_priority: float
    review_status: str
    findings: int
    open_findings: int
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int                      # matching calls over all pages
    status_counts: dict[str, int]   # matching calls per review status, before the status filter
    page: int
    pages: int


def _day_bounds(settings: Settings, day: date) -> datetime:
    """Midnight of `day` in the QC timezone (days are the reviewers' local days), in UTC like the stored times."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.qc.timezone)).astimezone(timezone.utc)


def _latest_score_only():
    """Only each recording's newest score (a re-scored call appears once in the queue or a count)."""
    other = aliased(CallScoreRow)
    return CallScoreRow.id.in_(select(func.max(other.id)).group_by(other.recording_id))


_NEWER = aliased(CallScoreRow, name="newer_score")
# The same condition checked row by row, for the queue: the database reads call_scores in queue order through
# ix_call_scores_queue_order and stops at the end of the page, and counts per review status from
# ix_call_scores_queue_counts alone (at 10k flagged calls: first page ~0.2 ms, page 50 ~4 ms, counts ~4 ms,
# against ~12 and ~8 ms with the one-pass form above). Built once: it is the same on every request.
NO_NEWER_SCORE = ~exists().where(_NEWER.recording_id == CallScoreRow.recording_id, _NEWER.id > CallScoreRow.id)
QUEUE_ORDER = (desc(CallScoreRow.fatal), desc(CallScoreRow.severity_rank), CallScoreRow.score,
               desc(case(EMOTION_RANK, value=CallScoreRow.customer_emotion, else_=0)),
               desc(CallScoreRow.review_priority), desc(CallScoreRow.id))


def scope_condition(settings: Settings, user: CurrentUser):
    """The recordings a user may see: all, or an agency_viewer's own agency (by code or display name)."""
    if not user.agency_scoped:
        return None
    return Recording.agency.in_(agency_names(settings, user.agency) or ("\x00no-agency",))


def _queue_conditions(settings: Settings, user: CurrentUser, filters: QueueFilters, *,
                      with_status: bool) -> tuple[list, bool]:
    """The WHERE conditions, and whether they need the recordings table joined."""
    conditions = [CallScoreRow.flagged.is_(True), NO_NEWER_SCORE]
    on_recording = []
    scope = scope_condition(settings, user)
    if scope is not None:
        on_recording.append(scope)
    if filters.date_from:
        on_recording.append(Recording.started_at >= _day_bounds(settings, filters.date_from))
    if filters.date_to:
        on_recording.append(Recording.started_at < _day_bounds(settings, filters.date_to + timedelta(days=1)))
    if filters.agency:
        code = settings.agency_code(filters.agency) or filters.agency
        on_recording.append(Recording.agency.in_(agency_names(settings, code)))
    if filters.agent:
        on_recording.append(Recording.agent_id == filters.agent)
    if filters.rule or filters.category:  # one pass over findings, not one lookup per flagged call
        matching = select(FindingRow.call_score_id)
        if filters.rule:
            matching = matching.where(FindingRow.rule_id == filters.rule)
        if filters.category:
            matching = matching.where(FindingRow.category == filters.category)
        conditions.append(CallScoreRow.id.in_(matching))
    if with_status and filters.status:
        conditions.append(CallScoreRow.review_status == filters.status)
    return conditions + on_recording, bool(on_recording)


def _filtered(query, settings: Settings, user: CurrentUser, filters: QueueFilters, *, with_status: bool):
    conditions, needs_recording = _queue_conditions(settings, user, filters, with_status=with_status)
    if needs_recording:
        query = query.join(Recording, Recording.id == CallScoreRow.recording_id)
    return query.where(*conditions)


def queue_page(session: Session, settings: Settings, user: CurrentUser, filters: QueueFilters) -> QueuePage:
    """Flagged calls, most urgent first: fatal, worst severity, lowest score; then customer emotion, priority.

    The worst severity is stored with the score (call_scores.severity_rank), so ordering by columns of
    call_scores alone keeps the page from aggregating every flagged call's findings on each request.
    Three queries: counts per review status, the ids of one page in queue order, then those rows' details.
    """
    counts_query = _filtered(select(CallScoreRow.review_status, func.count()), settings, user, filters,
                             with_status=False).group_by(CallScoreRow.review_status)
    status_counts = {status: 0 for status in REVIEW_STATUSES}
    status_counts.update({status: count for status, count in session.execute(counts_query)})
    total = status_counts.get(filters.status, 0) if filters.status else sum(status_counts.values())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, filters.page), pages)

    ids_query = (_filtered(select(CallScoreRow.id), settings, user, filters, with_status=True)
                 .order_by(*QUEUE_ORDER).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
    ids = list(session.scalars(ids_query))
    return QueuePage(rows=_queue_rows(session, ids), total=total, status_counts=status_counts, page=page,
                     pages=pages)


def _queue_rows(session: Session, score_ids: list[int]) -> list[QueueRow]:
    """The rows of one page, in the order of `score_ids`, with their findings summarised."""
    if not score_ids:
        return []
    summary: dict[int, dict[str, Any]] = {i: {"findings": 0, "open": 0, "categories": set()} for i in score_ids}
    per_kind = (select(FindingRow.call_score_id, FindingRow.category, FindingRow.status, func.count())
                .where(FindingRow.call_score_id.in_(score_ids))
                .group_by(FindingRow.call_score_id, FindingRow.category, FindingRow.status))
    for score_id, category, status, count in session.execute(per_kind):
        item = summary[score_id]
        item["findings"] += count
        item["open"] += count if status == "open" else 0
        item["categories"].add(category)
    details = session.execute(
        select(CallScoreRow.id, CallScoreRow.recording_id, Recording.call_id, Recording.agency, Recording.agent_id,
               Recording.started_at, Recording.started_at_offset_min, CallScoreRow.pack, CallScoreRow.severity_rank,
               Recording.duration_s, CallScoreRow.score, CallScoreRow.fatal,
               CallScoreRow.customer_emotion, CallScoreRow.review_priority, CallScoreRow.review_status)
        .join(Recording, Recording.id == CallScoreRow.recording_id)
        .where(CallScoreRow.id.in_(score_ids)))
    by_id = {row.id: row for row in details}
    rows = []
    for score_id in score_ids:
        row, item = by_id[score_id], summary[score_id]
        rows.append(QueueRow(
            score_id=row.id, recording_id=row.recording_id, call_id=row.call_id or f"#{row.recording_id}",
            agency=row.agency or "", agent_id=row.agent_id or "", started_at=row.started_at,
            started_at_offset_min=row.started_at_offset_min, pack=row.pack,
            duration_s=row.duration_s, score=row.score, fatal=row.fatal,
            severity=SEVERITIES[row.severity_rank - 1] if 1 <= row.severity_rank <= len(SEVERITIES) else "",
            customer_emotion=row.customer_emotion or "", review_priority=row.review_priority,
            review_status=row.review_status, findings=item["findings"], open_findings=item["open"],
            categories=tuple(sorted(item["categories"]))))
    return rows


@dataclass(frozen=True)
class FilterChoices:
    agencies: tuple[str, ...]
    rules: tuple[str, ...]
    categories: tuple[str, ...]


def filter_choices(session: Session, settings: Settings, user: CurrentUser) -> FilterChoices:
    """Values offered in the queue's filter drop-downs (cached by the caller: they change nightly).

    An agency viewer is offered only what its own agency's calls hold: no other agency, and no rule id or
    category that appears only on other agencies' calls."""
    rules = select(FindingRow.rule_id).distinct().order_by(FindingRow.rule_id)
    categories = select(FindingRow.category).distinct().order_by(FindingRow.category)
    scope = scope_condition(settings, user)
    if scope is not None:
        rules = rules.join(Recording, Recording.id == FindingRow.recording_id).where(scope)
        categories = categories.join(Recording, Recording.id == FindingRow.recording_id).where(scope)
    agencies = (user.agency,) if user.agency_scoped and user.agency else () if user.agency_scoped else tuple(
        settings.agencies)
    return FilterChoices(agencies=agencies, rules=tuple(session.scalars(rules)),
                         categories=tuple(session.scalars(categories)))


# ---- one call ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CallDetail:
    recording: Recording
    score: CallScoreRow | None
    transcript: TranscriptRow | None
    segments: list[SegmentRow]
    findings: list[FindingRow]
    reviews: list[Review]
    appeals: dict[int, list[Appeal]] = field(default_factory=dict)  # finding id -> appeals, oldest first


def visible_recording(session: Session, settings: Settings, user: CurrentUser, recording_id: int) -> Recording | None:
    """The recording if this user may see it; None both when it does not exist and when it is out of scope."""
    query = select(Recording).where(Recording.id == recording_id)
    scope = scope_condition(settings, user)
    if scope is not None:
        query = query.where(scope)
    return session.scalar(query)


def call_detail(session: Session, settings: Settings, user: CurrentUser, recording_id: int) -> CallDetail | None:
    recording = visible_recording(session, settings, user, recording_id)
    if recording is None:
        return None
    score = session.scalar(select(CallScoreRow).where(CallScoreRow.recording_id == recording.id)
                           .order_by(desc(CallScoreRow.id)).limit(1))
    transcript = None
    if score is not None and score.transcript_id is not None:
        transcript = session.get(TranscriptRow, score.transcript_id)
    if transcript is None:
        transcript = session.scalar(select(TranscriptRow).where(TranscriptRow.recording_id == recording.id)
                                    .order_by(desc(TranscriptRow.id)).limit(1))
    segments = [] if transcript is None else list(session.scalars(
        select(SegmentRow).where(SegmentRow.transcript_id == transcript.id).order_by(SegmentRow.idx)))
    finding_query = select(FindingRow).where(FindingRow.recording_id == recording.id)
    if score is not None:  # this score's findings plus reviewer-added ones; not those of superseded scores
        finding_query = finding_query.where((FindingRow.call_score_id == score.id) | (FindingRow.source == "reviewer"))
    findings = list(session.scalars(finding_query.order_by(FindingRow.start_s, FindingRow.id)))
    reviews = list(session.scalars(select(Review).where(Review.recording_id == recording.id)
                                   .order_by(Review.created_at, Review.id)))
    appeals: dict[int, list[Appeal]] = {}
    if findings:
        for appeal in session.scalars(select(Appeal).where(Appeal.finding_id.in_([f.id for f in findings]))
                                      .order_by(Appeal.created_at, Appeal.id)):
            appeals.setdefault(appeal.finding_id, []).append(appeal)
    return CallDetail(recording=recording, score=score, transcript=transcript, segments=segments,
                      findings=findings, reviews=reviews, appeals=appeals)


# ---- dashboard ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dashboard:
    agencies: list[str]
    categories: list[str]
    counts: dict[tuple[str, str], int]   # (agency code, category) -> findings not rejected
    agency_totals: dict[str, int]
    flagged_calls: dict[str, int]        # agency -> flagged calls
    open_appeals: int
    rectification: list[RectificationItem]
    warnings: list[str]


def dashboard(session: Session, settings: Settings, date_from: date | None = None,
              date_to: date | None = None) -> Dashboard:
    """Counts per agency x category of findings that stand (open or confirmed), and the open work items.

    The complaint attribution (heat maps, trend, early warnings, root causes) is callqc/web/dashboard.py's.
    """
    period = []
    if date_from:
        period.append(Recording.started_at >= _day_bounds(settings, date_from))
    if date_to:
        period.append(Recording.started_at < _day_bounds(settings, date_to + timedelta(days=1)))
    per_cell = (select(Recording.agency, FindingRow.category, func.count(FindingRow.id))
                .join(Recording, Recording.id == FindingRow.recording_id)
                .where(FindingRow.status != "rejected", *period)
                .group_by(Recording.agency, FindingRow.category))
    counts: dict[tuple[str, str], int] = {}
    for agency, category, count in session.execute(per_cell):
        code = settings.agency_code(agency or "") or (agency or "?")
        counts[(code, category)] = counts.get((code, category), 0) + count
    flagged: dict[str, int] = {}
    per_agency = (select(Recording.agency, func.count(CallScoreRow.id))
                  .join(Recording, Recording.id == CallScoreRow.recording_id)
                  .where(CallScoreRow.flagged.is_(True), _latest_score_only(), *period)
                  .group_by(Recording.agency))
    for agency, count in session.execute(per_agency):
        code = settings.agency_code(agency or "") or (agency or "?")
        flagged[code] = flagged.get(code, 0) + count
    agencies = sorted({a for a, _ in counts} | set(flagged) | set(settings.agencies))
    categories = sorted({c for _, c in counts})
    totals = {a: sum(n for (ag, _), n in counts.items() if ag == a) for a in agencies}
    open_appeals = session.scalar(select(func.count(Appeal.id)).where(Appeal.status == "open")) or 0
    rectification = list(session.scalars(
        select(RectificationItem).where(RectificationItem.status.in_(("open", "in_progress")))
        .order_by(RectificationItem.due_date, RectificationItem.id).limit(100)))
    warnings: list[str] = []
    for run in session.scalars(select(PipelineRun).order_by(desc(PipelineRun.id)).limit(5)):
        if run.status == "failed":
            warnings.append(f"{run.kind} run #{run.id} failed")
        warnings.extend(f"{run.kind} run #{run.id}: {w}" for w in (run.warnings or [])[:20])
    return Dashboard(agencies=agencies, categories=categories, counts=counts, agency_totals=totals,
                     flagged_calls=flagged, open_appeals=open_appeals, rectification=rectification,
                     warnings=warnings)

