"""The manager dashboard's attribution panel: which agency, behaviour and business line drive complaints.

The figures come from qc.attribution's bulk loader and analysis, read-only (the nightly refresh is what stores
complaint ↔ call links and opens rectification items); the charts are qc.reports.svg's, so the dashboard and the
HTML report draw the same pictures. The panel of a period is cached in-process for a few minutes: the data
changes nightly, and the first request for 12 weeks of 50k calls takes ~2 s here (a cached one ~40 ms).

qc.attribution (pandas, scipy, statsmodels) is imported when a panel is first computed, not with the web app.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Hashable, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from callqc.db.models import ComplaintRow, Recording
from callqc.settings import Settings

if TYPE_CHECKING:
    from qc.attribution.attribution import AttributionResult, RootCause
    from qc.attribution.config import AttributionConfig
    from qc.attribution.texts import Texts
    from qc.attribution.warnings import EarlyWarning

DEFAULT_WEEKS = 12
CACHE_TTL_S = 300.0
CACHE_ENTRIES = 16
TOP_CAUSES = 10
WARNING_CHARTS = 4  # control charts drawn for the first warning cells; the list shows every warning

log = logging.getLogger(__name__)
T = TypeVar("T")


# ---- the period ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    day_from: date
    day_to: date  # inclusive; both are local days in the QC timezone


def latest_data_day(session: Session, settings: Settings) -> date | None:
    """The newest day with a call (the callee's local date, as the run files it) or a complaint (the bank's
    date), but not after today; None for an empty database."""
    from qc.attribution.days import call_day

    zone = ZoneInfo(settings.qc.timezone)
    newest_call = session.execute(select(Recording.started_at, Recording.started_at_offset_min)
                                  .where(Recording.started_at.is_not(None))
                                  .order_by(Recording.started_at.desc()).limit(1)).first()
    newest_complaint = session.scalar(select(func.max(ComplaintRow.received_at)))
    days = [call_day(newest_call[0], newest_call[1], settings.qc.timezone)] if newest_call else []
    if newest_complaint is not None:
        stamp = newest_complaint if newest_complaint.tzinfo else newest_complaint.replace(tzinfo=timezone.utc)
        days.append(stamp.astimezone(zone).date())
    return min(max(days), datetime.now(zone).date()) if days else None


def default_period(last_day: date, weeks: int = DEFAULT_WEEKS) -> Period:
    """`weeks` calendar weeks ending with the week of `last_day`, starting on a Monday: whole heat-map columns."""
    monday = last_day - timedelta(days=last_day.weekday())
    return Period(monday - timedelta(weeks=weeks - 1), last_day)


def choose_period(date_from: date | None, date_to: date | None, last_day: date | None,
                  errors: list[str]) -> Period | None:
    """The period asked for, completed from the default (12 weeks up to the latest data); None without data."""
    if date_from and date_to and date_from > date_to:
        errors.append(f"date_from {date_from} is after date_to {date_to}; showing the default period")
        date_from = date_to = None
    if date_to is None:
        known = [day for day in (last_day, date_from) if day]
        date_to = max(known) if known else None
    if date_to is None:
        return None
    return Period(date_from or default_period(date_to).day_from, date_to)


# ---- the panel -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EvidenceCall:
    call_id: str
    recording_id: int | None  # None when the call is no longer in the database


@dataclass(frozen=True)
class CauseRow:
    cause: RootCause  # an agency's label names its display name
    evidence: tuple[EvidenceCall, ...]


@dataclass(frozen=True)
class WarningRow:
    dimension_label: str  # as a manager reads it, e.g. 业务线
    warning: EarlyWarning  # an agency's value is its display name


def dashboard_texts(settings: Settings) -> Texts:
    """The attribution panel's words in the review app's language (settings web.language): one language a page."""
    from qc.attribution.texts import texts

    return texts(settings.web.language)


@dataclass(frozen=True)
class AttributionPanel:
    period: Period
    message: str = ""  # why there is nothing to show; empty when there is
    lookback_days: int = 0
    n_calls: int = 0
    n_complaints: int = 0
    n_linked_complaints: int = 0
    rate_per_1000: float = 0.0
    heatmap_agency_violation: str = ""  # inline SVG, escaped by qc.reports.svg
    heatmap_line_week: str = ""
    trend: str = ""
    warning_charts: tuple[str, ...] = ()
    warnings: tuple[WarningRow, ...] = ()  # newest first
    causes_chart: str = ""
    causes: tuple[CauseRow, ...] = ()
    synthetic_calls: int = 0  # demo history among the period's calls (labelled as such on the page)


def attribution_panel(session: Session, settings: Settings, period: Period) -> AttributionPanel:
    """Load the period's calls, findings and complaints in bulk, analyse them and draw the charts."""
    import pandas as pd

    from callqc.attribution import load_frames
    from qc.attribution.attribution import analyse
    from qc.attribution.config import load_attribution_config

    tx = dashboard_texts(settings)
    config = replace(load_attribution_config(), language=tx.language)
    frames = load_frames(session, period.day_from, period.day_to, config.lookback_days, settings.qc.timezone)
    # load_frames keeps the calls of the look-back window too; `day` is the callee's local date (the run's rule)
    if not frames.calls["day"].between(pd.Timestamp(period.day_from), pd.Timestamp(period.day_to)).any():
        return AttributionPanel(period, message=tx("dash.no_calls", day_from=period.day_from, day_to=period.day_to))
    try:
        result = analyse(frames, period.day_from, period.day_to, config)
    except Exception as exc:  # noqa: BLE001 - the rest of the dashboard stays usable; the log has the trace
        log.exception("attribution failed for %s – %s", period.day_from, period.day_to)
        return AttributionPanel(period, message=tx("dash.failed", error=exc))
    return _panel(session, settings, config, period, result)


def _panel(session: Session, settings: Settings, config: AttributionConfig, period: Period,
           result: AttributionResult) -> AttributionPanel:
    from qc.reports.render import causes_chart, control_charts, heatmaps

    t = result.texts

    def agency_label(value: str) -> str:
        agency = settings.agencies.get(value)
        return agency.name if agency else value

    def cause_label(cause: RootCause) -> RootCause:
        where, _, share = cause.concentration.rpartition(" ")
        if where:
            cause = replace(cause, concentration=f"{agency_label(where)} {share}")
        if cause.factor == "agency":
            return replace(cause, label=t("cause.label", level=cause.level_label, value=agency_label(cause.level)))
        if cause.parent:
            value = t("cause.agent", agent=cause.level, agency=agency_label(cause.parent))
            return replace(cause, label=t("cause.label", level=cause.level_label, value=value))
        return cause

    causes = result.root_causes[:TOP_CAUSES]
    recording_ids = _recording_ids(session, sorted({c for cause in causes for c in cause.evidence_call_ids}))
    rows = tuple(CauseRow(cause_label(cause), tuple(EvidenceCall(c, recording_ids.get(c))
                                                   for c in cause.evidence_call_ids)) for cause in causes)
    warnings = tuple(WarningRow(t.level(w.dimension),
                                replace(w, value=agency_label(w.value)) if w.dimension == "agency" else w)
                     for w in reversed(result.warnings))
    shown = replace(result, heatmap_agency_violation=result.heatmap_agency_violation.rename(index=agency_label))
    heat_agency, heat_line = heatmaps(shown)
    return AttributionPanel(
        period=period, lookback_days=result.lookback_days, n_calls=result.n_calls, n_complaints=result.n_complaints,
        n_linked_complaints=result.n_linked_complaints,
        rate_per_1000=1000 * result.n_attributed_in_period / max(result.n_calls, 1),
        heatmap_agency_violation=heat_agency, heatmap_line_week=heat_line,
        trend=_trend_chart(result, config),
        warning_charts=tuple(control_charts(result, WARNING_CHARTS,
                                            lambda d, v: agency_label(v) if d == "agency" else v)),
        warnings=warnings,
        causes_chart=causes_chart(result, [r.cause.label for r in rows]),
        causes=rows, synthetic_calls=result.n_synthetic_calls)


def _trend_chart(result: AttributionResult, config: AttributionConfig) -> str:
    """The weekly complaint rate of all business lines together, on its own p-chart; weeks without calls are
    gaps (no rate, no point), never NaN coordinates."""
    from qc.attribution.warnings import p_chart
    from qc.reports import svg

    t = result.texts
    chart = result.control_chart
    lines = chart[chart["dimension"] == "business_line"]
    if lines.empty:
        return ""
    # Each business-line cell of a week carries that week's calls of all lines and that line's complaints.
    weekly = (lines.groupby("week_start", as_index=False).agg(calls=("calls", "first"), complaints=("complaints", "sum"))
              .assign(dimension="total", value="*"))
    return svg.control_chart(p_chart(weekly, config.warnings), "chart-complaint-trend", t("chart.trend"),
                             t("chart.control.legend"))


def _recording_ids(session: Session, call_ids: list[str]) -> dict[str, int]:
    """The recording behind each evidence call (load_frames names a call without a call_id by its recording id)."""
    if not call_ids:
        return {}
    numeric = [int(c) for c in call_ids if c.isdigit()]
    rows = session.execute(select(Recording.id, Recording.call_id)
                           .where(or_(Recording.call_id.in_(call_ids), Recording.id.in_(numeric)))
                           .order_by(Recording.id))
    found: dict[str, int] = {}
    for recording_id, call_id in rows:
        found.setdefault(call_id or str(recording_id), recording_id)
    return found


# ---- the cache -------------------------------------------------------------------------------------------

class PanelCache:
    """Values (panels per period, the latest data day) kept for `ttl_s` seconds, at most `max_entries`.

    Requests for one key wait for a single computation; it runs outside the shared lock, so other keys are
    served meanwhile.
    """

    def __init__(self, ttl_s: float = CACHE_TTL_S, max_entries: int = CACHE_ENTRIES) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, object]] = {}
        self._computing: dict[Hashable, threading.Lock] = {}

    def _fresh(self, key: Hashable) -> tuple[bool, object]:
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry[0] < self.ttl_s:
            return True, entry[1]
        return False, None

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            hit, value = self._fresh(key)
            if hit:
                return value  # type: ignore[return-value]
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                hit, value = self._fresh(key)
            if hit:
                return value  # type: ignore[return-value]
            value = compute()
            with self._lock:
                self._entries[key] = (time.monotonic(), value)
                while len(self._entries) > self.max_entries:
                    del self._entries[min(self._entries, key=lambda k: self._entries[k][0])]
                self._computing.pop(key, None)
            return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
