"""Pages and form actions of the review app. Every route but the login form needs a session; every POST a CSRF token.

Ids in paths are checked before any query: anything but a positive integer that fits the database's column
answers 404, like an id that does not exist (and like another agency's call).
"""

from __future__ import annotations

import re
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
from callqc.web.dashboard import PanelCache, attribution_panel, choose_period, dashboard_texts, latest_data_day
from callqc.web.deps import Forbidden, active_session, current_user, get_db, get_settings, now, render, require
from callqc.web.queries import (
    REVIEW_STATUSES,
    SEVERITIES,
    FilterChoices,
    QueueFilters,
    call_detail,
    dashboard,
    filter_choices,
    queue_page,
    scope_condition,
    visible_recording,
)
from callqc.web.security import SESSION_COOKIE, client_ip, require_csrf
from callqc.web.sessions import revoke, set_unmasked, start_session
from qc.pii import mask_phone_field, mask_pii

router = APIRouter()
post_router = APIRouter(dependencies=[Depends(require_csrf)])

FILTER_CHOICES_TTL_S = 60.0
MAX_UNMASKED_CALLS = 20  # per session; the oldest unmask lapses first
MAX_ID = 2**31 - 1       # ids are INTEGER columns
MAX_PAGE = 10**6
_ID = re.compile(r"[0-9]{1,10}")


def _id(value: str) -> int | None:
    """A path id as an int, or None for anything that cannot be a row id (404, never a database error)."""
    if not _ID.fullmatch(value):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _t(request: Request, text: str, **values: object) -> str:
    return request.app.state.labels.t(text, **values)


def _bad_request(request: Request, user: CurrentUser | None, message: str, back: str) -> Response:
    """400 naming the bad field; the message may quote what was typed, so its numbers are masked too."""
    return render(request, "error.html", status_code=400, user=user, title=_t(request, "Not saved"),
                  message=mask_pii(message), back=back)


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
    return render(request, "error.html", status_code=404, user=user, title=_t(request, "Not found"),
                  message=_t(request, "No such call, or not one you may see."), back="/queue")


# ---- sign in / out -----------------------------------------------------------------------------------------

def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target[:2000]
    return "/queue"


@router.get("/")
def home() -> Response:
    return _redirect("/queue")


@router.get("/favicon.ico")
def favicon() -> Response:
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/login")
def login_form(request: Request, next: str = "/queue", db: Session = Depends(get_db)) -> Response:  # noqa: A002
    if active_session(request, db) is not None:
        return _redirect(_safe_next(next))
    return render(request, "login.html", user=None, next=_safe_next(next), error=None)


@post_router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/queue"),  # noqa: A002
          db: Session = Depends(get_db)) -> Response:
    throttle = request.app.state.login_throttle
    client = client_ip(request)
    username = username.strip()[:128]
    wait = throttle.retry_after(username, client)
    if wait > 0:
        response = render(request, "login.html", status_code=429, user=None, next=_safe_next(next),
                          error=_t(request, "Too many failed sign-ins. Try again in {seconds} s.",
                                   seconds=int(wait) + 1))
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    throttle.slow_down(username)  # many failures on this username from anywhere: each try waits a little
    user = authenticate(db, username, password[:1024])
    if user is None:
        throttle.failed(username, client)
        return render(request, "login.html", status_code=401, user=None, next=_safe_next(next),
                      error=_t(request, "Wrong username or password, or the account is disabled."))
    throttle.succeeded(username, client)
    revoke(db, request.cookies.get(SESSION_COOKIE), now(request))  # a fresh session: no session fixation
    token = start_session(db, user, now(request), client, request.headers.get("user-agent"))
    db.commit()
    response = _redirect(_safe_next(next))
    web = request.app.state.settings.web
    response.set_cookie(SESSION_COOKIE, token, max_age=int(web.session_max_hours * 3600), httponly=True,
                        samesite="lax", secure=web.production)
    return response


@post_router.post("/logout")
def logout(request: Request, db: Session = Depends(get_db)) -> Response:
    """Ends the session on the server: the cookie, even copied elsewhere, opens nothing any more."""
    revoke(db, request.cookies.get(SESSION_COOKIE), now(request))
    db.commit()
    response = _redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


# ---- queue -------------------------------------------------------------------------------------------------

def _parse_date(value: str, name: str, errors: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:32])
    except ValueError:
        errors.append(f"{name}: '{value[:32]}' is not a date (YYYY-MM-DD); ignored")
        return None


def _cached_choices(request: Request, db: Session, settings: Settings, user: CurrentUser) -> FilterChoices:
    """The filter drop-downs' values, per scope: an agency viewer's come from its own agency's calls only."""
    key = user.agency if user.agency_scoped else None
    cache: dict = request.app.state.filter_choices
    cached = cache.get(key)
    moment = time.monotonic()
    if cached is None or moment - cached[0] > FILTER_CHOICES_TTL_S:
        cached = (moment, filter_choices(db, settings, user))
        cache[key] = cached
    return cached[1]


@router.get("/queue")
def queue(request: Request, date_from: str = "", date_to: str = "", agency: str = "", agent: str = "",
          rule: str = "", category: str = "", status: str = "", page: str = "1",
          user: CurrentUser = Depends(require(Permission.VIEW_QUEUE)), db: Session = Depends(get_db),
          settings: Settings = Depends(get_settings)) -> Response:
    if not re.fullmatch(r"[0-9]{1,7}", page) or not 1 <= int(page) <= MAX_PAGE:
        return _bad_request(request, user, f"page: '{page[:20]}' is not a page number (1–{MAX_PAGE})", "/queue")
    errors: list[str] = []
    if status and status not in REVIEW_STATUSES:
        errors.append(f"status: '{status[:32]}' is not one of {', '.join(REVIEW_STATUSES)}; ignored")
        status = ""
    filters = QueueFilters(
        date_from=_parse_date(date_from, "date_from", errors), date_to=_parse_date(date_to, "date_to", errors),
        agency=agency.strip()[:64], agent=agent.strip()[:64], rule=rule.strip()[:64],
        category=category.strip()[:64], status=status, page=int(page))
    result = queue_page(db, settings, user, filters)
    return render(request, "queue.html", user=user, filters=filters, result=result, errors=errors,
                  choices=_cached_choices(request, db, settings, user), statuses=REVIEW_STATUSES, mask=mask_pii)


# ---- one call ----------------------------------------------------------------------------------------------

@router.get("/calls/{recording_id}")
def call_page(request: Request, recording_id: str, user: CurrentUser = Depends(current_user),
              db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> Response:
    number = _id(recording_id)
    detail = call_detail(db, settings, user, number) if number else None
    if detail is None:
        return _not_found(request, user)
    session = active_session(request, db)
    unmasked = user.can(Permission.UNMASK) and session is not None and detail.recording.id in session.unmasked
    recording = detail.recording
    duration = recording.duration_s or (detail.transcript.duration_s if detail.transcript else None) or max(
        [s.end_s for s in detail.segments] + [f.end_s or 0 for f in detail.findings] + [1.0])
    pack = detail.score.pack if detail.score else None
    return render(
        request, "call.html", user=user, detail=detail, recording=recording, duration=duration, unmasked=unmasked,
        pii=(lambda text: text or "") if unmasked else mask_pii,
        callee_number=(recording.callee_number or "") if unmasked else mask_phone_field(recording.callee_number),
        severities=SEVERITIES, speakers=decisions.SPEAKERS, can=user.can, pack=pack,
        categories=request.app.state.labels.pack_categories(pack), offset=recording.started_at_offset_min)


def _store_for(request: Request, recording: Recording) -> RecordingStore:
    store: RecordingStore | None = request.app.state.store
    if store is None:
        store = RecordingStore(request.app.state.settings)
        request.app.state.store = store
    if recording.bucket and recording.bucket != store.bucket:
        return RecordingStore(store.settings, client=store.client, bucket=recording.bucket)
    return store


@router.get("/calls/{recording_id}/audio")
def call_audio(request: Request, recording_id: str, user: CurrentUser = Depends(current_user),
               db: Session = Depends(get_db)) -> Response:
    number = _id(recording_id)
    recording = visible_recording(db, request.app.state.settings, user, number) if number else None
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


def _finding_in_scope(db: Session, request: Request, user: CurrentUser, finding_id: str) -> FindingRow | None:
    number = _id(finding_id)
    finding = db.get(FindingRow, number) if number else None
    if finding is None or visible_recording(db, request.app.state.settings, user, finding.recording_id) is None:
        return None
    return finding


@post_router.post("/findings/{finding_id}/decision")
def decide(request: Request, finding_id: str, decision: str = Form(""), reason: str = Form(""),
           user: CurrentUser = Depends(require(Permission.DECIDE)), db: Session = Depends(get_db)) -> Response:
    finding = _finding_in_scope(db, request, user, finding_id)
    if finding is None:
        return _not_found(request, user)
    return _save(request, user, db, lambda: decisions.decide_finding(db, user, finding, decision, reason,
                                                                     client_ip(request)),
                 back=f"/calls/{finding.recording_id}#finding-{finding.id}")


def _float(value: str, name: str) -> float:
    try:
        number = float(value[:32])
    except ValueError:
        raise decisions.DecisionError(f"{name}: '{value[:32]}' is not a number of seconds") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise decisions.DecisionError(f"{name}: '{value[:32]}' is not a number of seconds")
    return number


@post_router.post("/calls/{recording_id}/findings")
def add_finding(request: Request, recording_id: str, category: str = Form(""), severity: str = Form(""),
                speaker: str = Form("any"), start_s: str = Form(""), end_s: str = Form(""), text: str = Form(""),
                reason: str = Form(""), user: CurrentUser = Depends(require(Permission.DECIDE)),
                db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> Response:
    number = _id(recording_id)
    detail = call_detail(db, settings, user, number) if number else None
    if detail is None:
        return _not_found(request, user)
    back = f"/calls/{detail.recording.id}"
    categories = request.app.state.labels.pack_categories(detail.score.pack if detail.score else None)
    try:
        if category not in categories:
            raise decisions.DecisionError(f"category: '{category[:64]}' is not a category of the call's rule pack "
                                          f"({', '.join(categories)})")
        finding = decisions.add_finding(
            db, user, detail.recording, detail.score.id if detail.score else None, detail.segments,
            category=category, severity=severity, speaker=speaker, start_s=_float(start_s, "start_s"),
            end_s=_float(end_s, "end_s"), reason=reason, text=text, client_ip=client_ip(request))
    except decisions.DecisionError as exc:
        return _bad_request(request, user, str(exc), back)
    db.commit()
    return _redirect(f"{back}#finding-{finding.id}")


@post_router.post("/calls/{recording_id}/notes")
def add_note(request: Request, recording_id: str, note: str = Form(""),
             user: CurrentUser = Depends(require(Permission.DECIDE)), db: Session = Depends(get_db),
             settings: Settings = Depends(get_settings)) -> Response:
    number = _id(recording_id)
    recording = visible_recording(db, settings, user, number) if number else None
    if recording is None:
        return _not_found(request, user)
    return _save(request, user, db, lambda: decisions.add_note(db, user, recording, note, client_ip(request)),
                 back=f"/calls/{recording.id}", done=f"/calls/{recording.id}#history")


@post_router.post("/calls/{recording_id}/unmask")
def unmask(request: Request, recording_id: str, reason: str = Form(""),
           user: CurrentUser = Depends(require(Permission.UNMASK)), db: Session = Depends(get_db),
           settings: Settings = Depends(get_settings)) -> Response:
    number = _id(recording_id)
    recording = visible_recording(db, settings, user, number) if number else None
    session = active_session(request, db)
    if recording is None or session is None:
        return _not_found(request, user)

    def change() -> None:
        decisions.record_unmask(db, user, recording, reason, client_ip(request))
        ids = [i for i in session.unmasked if i != recording.id] + [recording.id]
        set_unmasked(db, session.id, ids[-MAX_UNMASKED_CALLS:])

    return _save(request, user, db, change, back=f"/calls/{recording.id}")


@post_router.post("/calls/{recording_id}/mask")
def hide_numbers_again(request: Request, recording_id: str, user: CurrentUser = Depends(current_user),
               db: Session = Depends(get_db)) -> Response:
    number = _id(recording_id)
    session = active_session(request, db)
    if number is None or session is None:
        return _not_found(request, user)
    set_unmasked(db, session.id, [i for i in session.unmasked if i != number])
    db.commit()
    return _redirect(f"/calls/{number}")


# ---- appeals -----------------------------------------------------------------------------------------------

@post_router.post("/findings/{finding_id}/appeal")
def appeal(request: Request, finding_id: str, reason: str = Form(""),
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
def resolve(request: Request, appeal_id: str, outcome: str = Form(""), resolution: str = Form(""),
            user: CurrentUser = Depends(require(Permission.RESOLVE_APPEAL)), db: Session = Depends(get_db)) -> Response:
    number = _id(appeal_id)
    row = db.get(Appeal, number) if number else None
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
                  period=period, panel=panel, tx=dashboard_texts(settings),
                  agency_names={c: a.name for c, a in settings.agencies.items()})
