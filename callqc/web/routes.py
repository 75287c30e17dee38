"""Pages and form actions of the review app. Every route but the login form needs a session; every POST a CSRF token."""

from __future__ import annotations

import time
from datetime import date
from typing import Callable

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import desc, select
from sqlalchemy.orm import Session

from callqc.db.models import Appeal, FindingRow, Recording
from callqc.settings import Settings
from callqc.storage import RecordingStore
from callqc.web import decisions
from callqc.web.audio import audio_response
from callqc.web.auth import CurrentUser, Permission, authenticate
from callqc.web.dashboard import PanelCache, attribution_panel, choose_period, latest_data_day
from callqc.web.deps import Forbidden, client_ip, current_user, get_db, get_settings, render, require
from callqc.web.masking import mask_phone, mask_pii
from callqc.web.queries import (
    REVIEW_STATUSES,
    SEVERITIES,
    QueueFilters,
    call_detail,
    dashboard,
    filter_choices,
    queue_page,
    scope_condition,
    visible_recording,
)
from callqc.web.security import csrf_token, require_csrf

router = APIRouter()
post_router = APIRouter(dependencies=[Depends(require_csrf)])

FILTER_CHOICES_TTL_S = 60.0
MAX_UNMASKED_CALLS = 20  # per session; the oldest unmask lapses first


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _bad_request(request: Request, user: CurrentUser | None, message: str, back: str) -> Response:
    return render(request, "error.html", status_code=400, user=user, title="Not saved", message=message, back=back)


def _save(request: Request, user: CurrentUser, db: Session, change: Callable[[], object], back: str,
          done: str | None = None) -> Response:
    """Apply one decision: 400 naming the bad field (nothing saved), else commit and go to `done` or `back`."""
    try:
        change()
    except decisions.DecisionError as exc:
        db.rollback()
        return _bad_request(request, user, str(exc), back)
    db.commit()
    return _redirect(done or back)


def _not_found(request: Request, user: CurrentUser) -> Response:
    # Same answer for "does not exist" and "not yours": an agency learns nothing about other agencies' calls.
    return render(request, "error.html", status_code=404, user=user, title="Not found",
                  message="No such call, or not one you may see.", back="/queue")


# ---- sign in / out -----------------------------------------------------------------------------------------

def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/queue"


@router.get("/")
def home() -> Response:
    return _redirect("/queue")


@router.get("/login")
def login_form(request: Request, next: str = "/queue") -> Response:  # noqa: A002 - the conventional name
    if isinstance(request.session.get("uid"), int):
        return _redirect(_safe_next(next))
    csrf_token(request)
    return render(request, "login.html", user=None, next=_safe_next(next), error=None)


@post_router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/queue"),  # noqa: A002
          db: Session = Depends(get_db)) -> Response:
    limiter = request.app.state.login_limiter
    keys = (f"user:{username.strip().lower()}", f"ip:{client_ip(request)}")
    wait = limiter.retry_after(*keys)
    if wait > 0:
        response = render(request, "login.html", status_code=429, user=None, next=_safe_next(next),
                          error=f"Too many failed sign-ins. Try again in {int(wait) + 1} s.")
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    user = authenticate(db, username.strip(), password)
    if user is None:
        limiter.failed(*keys)
        return render(request, "login.html", status_code=401, user=None, next=_safe_next(next),
                      error="Wrong username or password, or the account is disabled.")
    db.commit()
    limiter.succeeded(keys[0])
    request.session.clear()  # a fresh session (and CSRF token) after sign-in: no session fixation
    request.session.update({"uid": user.id, "username": user.username})
    csrf_token(request)
    return _redirect(_safe_next(next))


@post_router.post("/logout")
def logout(request: Request) -> Response:
    request.session.clear()
    return _redirect("/login")


# ---- queue -------------------------------------------------------------------------------------------------

def _parse_date(value: str, name: str, errors: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"{name}: '{value}' is not a date (YYYY-MM-DD); ignored")
        return None


def _cached_choices(request: Request, db: Session, settings: Settings):
    cached = request.app.state.filter_choices
    now = time.monotonic()
    if cached is None or now - cached[0] > FILTER_CHOICES_TTL_S:
        cached = (now, filter_choices(db, settings))
        request.app.state.filter_choices = cached
    return cached[1]


@router.get("/queue")
def queue(request: Request, date_from: str = "", date_to: str = "", agency: str = "", agent: str = "",
          rule: str = "", category: str = "", status: str = "", page: str = "1",
          user: CurrentUser = Depends(require(Permission.VIEW_QUEUE)), db: Session = Depends(get_db),
          settings: Settings = Depends(get_settings)) -> Response:
    errors: list[str] = []
    if status and status not in REVIEW_STATUSES:
        errors.append(f"status: '{status}' is not one of {', '.join(REVIEW_STATUSES)}; ignored")
        status = ""
    filters = QueueFilters(
        date_from=_parse_date(date_from, "date_from", errors), date_to=_parse_date(date_to, "date_to", errors),
        agency=agency.strip()[:64], agent=agent.strip()[:64], rule=rule.strip()[:64],
        category=category.strip()[:64], status=status, page=int(page) if page.isdigit() else 1)
    result = queue_page(db, settings, user, filters)
    return render(request, "queue.html", user=user, filters=filters, result=result, errors=errors,
                  choices=_cached_choices(request, db, settings), statuses=REVIEW_STATUSES, mask=mask_pii)


# ---- one call ----------------------------------------------------------------------------------------------

def _unmasked_ids(request: Request) -> list[int]:
    value = request.session.get("unmasked", [])
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


@router.get("/calls/{recording_id}")
def call_page(request: Request, recording_id: int, user: CurrentUser = Depends(current_user),
              db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> Response:
    detail = call_detail(db, settings, user, recording_id)
    if detail is None:
        return _not_found(request, user)
    unmasked = user.can(Permission.UNMASK) and recording_id in _unmasked_ids(request)
    recording = detail.recording
    duration = recording.duration_s or (detail.transcript.duration_s if detail.transcript else None) or max(
        [s.end_s for s in detail.segments] + [f.end_s or 0 for f in detail.findings] + [1.0])
    return render(
        request, "call.html", user=user, detail=detail, recording=recording, duration=duration, unmasked=unmasked,
        pii=(lambda text: text or "") if unmasked else mask_pii,
        callee_number=(recording.callee_number or "") if unmasked else mask_phone(recording.callee_number),
        severities=SEVERITIES, speakers=decisions.SPEAKERS, can=user.can)


def _store_for(request: Request, recording: Recording) -> RecordingStore:
    store: RecordingStore | None = request.app.state.store
    if store is None:
        store = RecordingStore(request.app.state.settings)
        request.app.state.store = store
    if recording.bucket and recording.bucket != store.bucket:
        return RecordingStore(store.settings, client=store.client, bucket=recording.bucket)
    return store


@router.get("/calls/{recording_id}/audio")
def call_audio(request: Request, recording_id: int, user: CurrentUser = Depends(current_user),
               db: Session = Depends(get_db)) -> Response:
    recording = visible_recording(db, request.app.state.settings, user, recording_id)
    if recording is None:
        return Response("not found", status_code=404, media_type="text/plain")
    store = _store_for(request, recording)
    size = recording.size
    if not size:
        info = store.stat(recording.key)
        if info is None:
            return Response("recording missing from storage", status_code=404, media_type="text/plain")
        size = info.size
    db.close()  # the transfer may take a while; do not hold a pooled connection for it
    return audio_response(store, recording.key, size, request.headers.get("range"))


def _finding_in_scope(db: Session, request: Request, user: CurrentUser, finding_id: int) -> FindingRow | None:
    finding = db.get(FindingRow, finding_id)
    if finding is None or visible_recording(db, request.app.state.settings, user, finding.recording_id) is None:
        return None
    return finding


@post_router.post("/findings/{finding_id}/decision")
def decide(request: Request, finding_id: int, decision: str = Form(""), reason: str = Form(""),
           user: CurrentUser = Depends(require(Permission.DECIDE)), db: Session = Depends(get_db)) -> Response:
    finding = _finding_in_scope(db, request, user, finding_id)
    if finding is None:
        return _not_found(request, user)
    return _save(request, user, db, lambda: decisions.decide_finding(db, user, finding, decision, reason,
                                                                     client_ip(request)),
                 back=f"/calls/{finding.recording_id}#finding-{finding.id}")


def _float(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise decisions.DecisionError(f"{name}: '{value}' is not a number of seconds") from None


@post_router.post("/calls/{recording_id}/findings")
def add_finding(request: Request, recording_id: int, category: str = Form(""), severity: str = Form(""),
                speaker: str = Form("any"), start_s: str = Form(""), end_s: str = Form(""), text: str = Form(""),
                reason: str = Form(""), user: CurrentUser = Depends(require(Permission.DECIDE)),
                db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> Response:
    detail = call_detail(db, settings, user, recording_id)
    if detail is None:
        return _not_found(request, user)
    back = f"/calls/{recording_id}"
    try:
        finding = decisions.add_finding(
            db, user, detail.recording, detail.score.id if detail.score else None, detail.segments,
            category=category, severity=severity, speaker=speaker, start_s=_float(start_s, "start_s"),
            end_s=_float(end_s, "end_s"), reason=reason, text=text, client_ip=client_ip(request))
    except decisions.DecisionError as exc:
        return _bad_request(request, user, str(exc), back)
    db.commit()
    return _redirect(f"{back}#finding-{finding.id}")


@post_router.post("/calls/{recording_id}/notes")
def add_note(request: Request, recording_id: int, note: str = Form(""),
             user: CurrentUser = Depends(require(Permission.DECIDE)), db: Session = Depends(get_db),
             settings: Settings = Depends(get_settings)) -> Response:
    recording = visible_recording(db, settings, user, recording_id)
    if recording is None:
        return _not_found(request, user)
    return _save(request, user, db, lambda: decisions.add_note(db, user, recording, note, client_ip(request)),
                 back=f"/calls/{recording_id}", done=f"/calls/{recording_id}#history")


@post_router.post("/calls/{recording_id}/unmask")
def unmask(request: Request, recording_id: int, reason: str = Form(""),
           user: CurrentUser = Depends(require(Permission.UNMASK)), db: Session = Depends(get_db),
           settings: Settings = Depends(get_settings)) -> Response:
    recording = visible_recording(db, settings, user, recording_id)
    if recording is None:
        return _not_found(request, user)
    response = _save(request, user, db, lambda: decisions.record_unmask(db, user, recording, reason,
                                                                        client_ip(request)),
                     back=f"/calls/{recording_id}")
    if response.status_code == 303:
        ids = [i for i in _unmasked_ids(request) if i != recording_id] + [recording_id]
        request.session["unmasked"] = ids[-MAX_UNMASKED_CALLS:]
    return response


@post_router.post("/calls/{recording_id}/mask")
def mask_again(request: Request, recording_id: int, user: CurrentUser = Depends(current_user)) -> Response:
    request.session["unmasked"] = [i for i in _unmasked_ids(request) if i != recording_id]
    return _redirect(f"/calls/{recording_id}")


# ---- appeals -----------------------------------------------------------------------------------------------

@post_router.post("/findings/{finding_id}/appeal")
def appeal(request: Request, finding_id: int, reason: str = Form(""),
           user: CurrentUser = Depends(require(Permission.APPEAL)), db: Session = Depends(get_db)) -> Response:
    finding = _finding_in_scope(db, request, user, finding_id)
    if finding is None:
        return _not_found(request, user)
    return _save(request, user, db, lambda: decisions.file_appeal(db, user, finding, reason, client_ip(request)),
                 back=f"/calls/{finding.recording_id}#finding-{finding.id}")


@router.get("/appeals")
def appeals(request: Request, user: CurrentUser = Depends(current_user), db: Session = Depends(get_db),
            settings: Settings = Depends(get_settings)) -> Response:
    if not (user.can(Permission.RESOLVE_APPEAL) or user.can(Permission.APPEAL)):
        raise Forbidden()
    query = (select(Appeal, FindingRow, Recording)
             .join(FindingRow, FindingRow.id == Appeal.finding_id)
             .join(Recording, Recording.id == FindingRow.recording_id)
             .order_by(Appeal.status != "open", desc(Appeal.created_at), desc(Appeal.id)).limit(200))
    scope = scope_condition(settings, user)
    if scope is not None:
        query = query.where(scope)
    rows = db.execute(query).all()
    return render(request, "appeals.html", user=user, rows=rows, mask=mask_pii, can=user.can)


@post_router.post("/appeals/{appeal_id}/resolve")
def resolve(request: Request, appeal_id: int, outcome: str = Form(""), resolution: str = Form(""),
            user: CurrentUser = Depends(require(Permission.RESOLVE_APPEAL)), db: Session = Depends(get_db)) -> Response:
    row = db.get(Appeal, appeal_id)
    if row is None:
        return _not_found(request, user)
    return _save(request, user, db, lambda: decisions.resolve_appeal(db, user, row, outcome, resolution,
                                                                     client_ip(request)),
                 back="/appeals")


# ---- dashboard ---------------------------------------------------------------------------------------------

@router.get("/dashboard")
def manager_dashboard(request: Request, date_from: str = "", date_to: str = "",
                      user: CurrentUser = Depends(require(Permission.DASHBOARD)), db: Session = Depends(get_db),
                      settings: Settings = Depends(get_settings)) -> Response:
    """Attribution for a period (default: the 12 weeks up to the latest data), finding counts, open work."""
    errors: list[str] = []
    cache: PanelCache = request.app.state.dashboard_cache
    last_day = cache.get("latest data day", lambda: latest_data_day(db, settings))
    period = choose_period(_parse_date(date_from, "date_from", errors), _parse_date(date_to, "date_to", errors),
                           last_day, errors)
    panel = cache.get(period, lambda: attribution_panel(db, settings, period)) if period else None
    data = dashboard(db, settings, period.day_from if period else None, period.day_to if period else None)
    peak = max(data.counts.values(), default=0)
    return render(request, "dashboard.html", user=user, data=data, peak=peak, errors=errors, mask=mask_pii,
                  period=period, panel=panel,
                  agency_names={c: a.name for c, a in settings.agencies.items()})
