"""The review app's writes: decisions on findings, added findings, notes, unmasking, appeals.

Each function validates its input (DecisionError names the field), changes the rows, adds the reviews row
the retraining reads, and writes an audit_log entry with the state before and after. The caller commits.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callqc.db.models import Appeal, AuditLog, CallScoreRow, FindingRow, Recording, Review, SegmentRow, utcnow
from callqc.web.auth import CurrentUser
from callqc.web.queries import SEVERITIES

MAX_TEXT = 4000
SPEAKERS = ("agent", "customer", "any")


class DecisionError(ValueError):
    """Invalid input for a decision; the message names the field."""


def _required_text(value: str | None, name: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DecisionError(f"{name}: required")
    if len(value) > MAX_TEXT:
        raise DecisionError(f"{name}: at most {MAX_TEXT} characters")
    return value


def audit(session: Session, user: CurrentUser, action: str, object_type: str, object_id: int | str,
          before: dict, after: dict, client_ip: str | None) -> None:
    session.add(AuditLog(username=user.username, action=action, object_type=object_type, object_id=str(object_id),
                         before=before, after=after, client_ip=client_ip))


def _refresh_review_status(session: Session, call_score_id: int | None) -> None:
    """A call is done when none of its findings is open any more, in review once one is decided."""
    if call_score_id is None:
        return
    score = session.get(CallScoreRow, call_score_id)
    if score is None:
        return
    session.flush()
    still_open = session.scalar(select(func.count(FindingRow.id)).where(
        FindingRow.call_score_id == call_score_id, FindingRow.status == "open")) or 0
    score.review_status = "in_review" if still_open else "done"


def decide_finding(session: Session, user: CurrentUser, finding: FindingRow, decision: str, reason: str,
                   client_ip: str | None = None) -> Review:
    """Confirm or reject a finding (a later decision replaces an earlier one; both stay in the history)."""
    if decision not in ("confirm", "reject"):
        raise DecisionError(f"decision: '{decision}' is not confirm or reject")
    reason = _required_text(reason, "reason")
    before = {"status": finding.status}
    finding.status = "confirmed" if decision == "confirm" else "rejected"
    review = Review(recording_id=finding.recording_id, finding_id=finding.id, decision=decision,
                    reviewer=user.username, reason=reason, label=finding.category)
    session.add(review)
    audit(session, user, decision, "finding", finding.id, before, {"status": finding.status, "reason": reason},
          client_ip)
    _refresh_review_status(session, finding.call_score_id)
    return review


def add_finding(session: Session, user: CurrentUser, recording: Recording, call_score_id: int | None,
                segments: list[SegmentRow], *, category: str, severity: str, speaker: str, start_s: float,
                end_s: float, reason: str, text: str = "", client_ip: str | None = None) -> FindingRow:
    """A finding the rules and models missed, on a span the reviewer selected; it is confirmed at once."""
    category = _required_text(category, "category")[:64]
    if severity not in SEVERITIES:
        raise DecisionError(f"severity: '{severity}' is not one of {', '.join(SEVERITIES)}")
    if speaker not in SPEAKERS:
        raise DecisionError(f"speaker: '{speaker}' is not one of {', '.join(SPEAKERS)}")
    limit = (recording.duration_s or float("inf")) + 1.0
    if not (0 <= start_s < end_s <= limit):
        raise DecisionError(f"span: need 0 <= start ({start_s}) < end ({end_s}) <= the call's length")
    reason = _required_text(reason, "reason")
    covered = [s for s in segments if s.end_s > start_s and s.start_s < end_s
               and (speaker == "any" or s.speaker == speaker)]
    evidence = (text or "").strip()[:MAX_TEXT] or " ".join(s.text for s in covered)
    finding = FindingRow(call_score_id=call_score_id, recording_id=recording.id, rule_id="reviewer",
                         category=category, severity=severity, speaker=speaker, start_s=start_s, end_s=end_s,
                         segment_ids=[s.id for s in covered], text=evidence, description=reason,
                         source="reviewer", status="confirmed")
    session.add(finding)
    session.flush()
    session.add(Review(recording_id=recording.id, finding_id=finding.id, decision="add", reviewer=user.username,
                       reason=reason, label=category))
    audit(session, user, "add", "finding", finding.id, {}, {
        "category": category, "severity": severity, "speaker": speaker, "start_s": start_s, "end_s": end_s,
        "status": "confirmed", "reason": reason}, client_ip)
    _refresh_review_status(session, call_score_id)
    return finding


def add_note(session: Session, user: CurrentUser, recording: Recording, note: str,
             client_ip: str | None = None) -> Review:
    note = _required_text(note, "note")
    review = Review(recording_id=recording.id, decision="note", reviewer=user.username, reason=note)
    session.add(review)
    session.flush()
    audit(session, user, "note", "recording", recording.id, {}, {"review_id": review.id, "note": note}, client_ip)
    return review


def record_unmask(session: Session, user: CurrentUser, recording: Recording, reason: str,
                  client_ip: str | None = None) -> None:
    reason = _required_text(reason, "reason")
    audit(session, user, "unmask", "recording", recording.id, {"masked": True},
          {"masked": False, "reason": reason}, client_ip)


def file_appeal(session: Session, user: CurrentUser, finding: FindingRow, reason: str,
                client_ip: str | None = None) -> Appeal:
    """An agency's appeal against a confirmed finding; one open appeal per finding."""
    reason = _required_text(reason, "reason")
    if finding.status != "confirmed":
        raise DecisionError(f"finding: only a confirmed finding can be appealed (this one is {finding.status})")
    if session.scalar(select(Appeal.id).where(Appeal.finding_id == finding.id, Appeal.status == "open")):
        raise DecisionError("finding: an appeal against this finding is already open")
    appeal = Appeal(finding_id=finding.id, appellant=user.username, reason=reason)
    session.add(appeal)
    session.flush()
    audit(session, user, "appeal", "finding", finding.id, {"appeal": None},
          {"appeal": appeal.id, "reason": reason}, client_ip)
    return appeal


def resolve_appeal(session: Session, user: CurrentUser, appeal: Appeal, outcome: str, resolution: str,
                   client_ip: str | None = None) -> None:
    """upheld: the finding stands; overturned: the finding is rejected (recorded as the manager's decision)."""
    if outcome not in ("upheld", "overturned"):
        raise DecisionError(f"outcome: '{outcome}' is not upheld or overturned")
    if appeal.status != "open":
        raise DecisionError(f"appeal: #{appeal.id} is already {appeal.status}")
    resolution = _required_text(resolution, "resolution")
    finding = session.get(FindingRow, appeal.finding_id)
    before = {"appeal_status": appeal.status, "finding_status": finding.status if finding else None}
    appeal.status, appeal.resolver, appeal.resolution, appeal.resolved_at = outcome, user.username, resolution, utcnow()
    if finding is not None and outcome == "overturned":
        finding.status = "rejected"
        session.add(Review(recording_id=finding.recording_id, finding_id=finding.id, decision="reject",
                           reviewer=user.username, reason=f"appeal #{appeal.id} overturned: {resolution}",
                           label=finding.category))
    audit(session, user, "resolve_appeal", "appeal", appeal.id, before,
          {"appeal_status": outcome, "finding_status": finding.status if finding else None,
           "resolution": resolution}, client_ip)
