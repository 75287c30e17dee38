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
    """The newest local day with a call or a complaint, but not after today; None for an empty database."""
    zone = ZoneInfo(settings.qc.timezone)
    newest = (session.scalar(select(func.max(Recording.started_at))),
              session.scalar(select(func.max(ComplaintRow.received_at))))
    days = [(value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(zone).date()
            for value in newest if value is not None]
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


def attribution_panel(session: Session, settings: Settings, period: Period) -> AttributionPanel:
    """Load the period's calls, findings and complaints in bulk, analyse them and draw the charts."""
    import pandas as pd

    from qc.attribution.attribution import analyse, load_frames
    from qc.attribution.config import load_attribution_config

    config = load_attribution_config()
    frames = load_frames(session, period.day_from, period.day_to, config.lookback_days, settings.qc.timezone)
    if not frames.calls["started_at"].between(pd.Timestamp(period.day_from),
                                              pd.Timestamp(period.day_to + timedelta(days=1)), inclusive="left").any():
        return AttributionPanel(period, message=f"No calls with an account between {period.day_from} and "
                                                f"{period.day_to}: nothing to attribute complaints to yet.")
    try:
        result = analyse(frames, period.day_from, period.day_to, config)
    except Exception as exc:  # noqa: BLE001 - the rest of the dashboard stays usable; the log has the trace
        log.exception("attribution failed for %s – %s", period.day_from, period.day_to)
        return AttributionPanel(period, message=f"The attribution could not be computed for this period: {exc}")
    return _panel(session, settings, config, period, result)


def _panel(session: Session, settings: Settings, config: AttributionConfig, period: Period,
           result: AttributionResult) -> AttributionPanel:
    from qc.attribution.attribution import DIMENSION_LABELS
    from qc.reports import svg

    def agency_label(value: str) -> str:
        agency = settings.agencies.get(value)
        return agency.name if agency else value

    causes = result.root_causes[:TOP_CAUSES]
    recording_ids = _recording_ids(session, sorted({c for cause in causes for c in cause.evidence_call_ids}))
    rows = tuple(CauseRow(
        replace(cause, label=f"{DIMENSION_LABELS['agency']}: {agency_label(cause.level)}")
        if cause.factor == "agency" else cause,
        tuple(EvidenceCall(c, recording_ids.get(c)) for c in cause.evidence_call_ids)) for cause in causes)
    warnings = tuple(WarningRow(DIMENSION_LABELS.get(w.dimension, w.dimension),
                                replace(w, value=agency_label(w.value)) if w.dimension == "agency" else w)
                     for w in reversed(result.warnings))
    cells = list(dict.fromkeys((w.dimension, w.value) for w in result.warnings))[:WARNING_CHARTS]
    chart = result.control_chart
    line_week = result.heatmap_line_week
    return AttributionPanel(
        period=period, lookback_days=result.lookback_days, n_calls=result.n_calls, n_complaints=result.n_complaints,
        n_linked_complaints=result.n_linked_complaints,
        rate_per_1000=1000 * result.n_attributed_in_period / max(result.n_calls, 1),
        heatmap_agency_violation=svg.heatmap(result.heatmap_agency_violation.rename(index=agency_label),
                                             "heatmap-agency-violation", "机构 × 违规类别 投诉热力图"),
        heatmap_line_week="" if line_week.empty else svg.heatmap(
            line_week, "heatmap-line-week", "业务线 × 周 投诉热力图", cell_w=52,
            col_labels=[f"{c:%m-%d}" for c in line_week.columns]),
        trend=_trend_chart(chart, config),
        warning_charts=tuple(
            svg.control_chart(chart[(chart["dimension"] == dimension) & (chart["value"] == value)]
                              .sort_values("week_start"), f"control-chart-{n}",
                              f"p 控制图：{DIMENSION_LABELS.get(dimension, dimension)} "
                              f"{agency_label(value) if dimension == 'agency' else value}")
            for n, (dimension, value) in enumerate(cells)),
        warnings=warnings,
        causes_chart=svg.bars([r.cause.label for r in rows], [r.cause.excess_complaints for r in rows],
                              "chart-root-causes", "根因：超额投诉（件）") if rows else "",
        causes=rows)


def _trend_chart(chart, config: AttributionConfig) -> str:
    """The weekly complaint rate of all business lines together, on its own p-chart."""
    from qc.attribution.warnings import p_chart
    from qc.reports import svg

    lines = chart[chart["dimension"] == "business_line"]
    if lines.empty:
        return ""
    # Each business-line cell of a week carries that week's calls of all lines and that line's complaints.
    weekly = (lines.groupby("week_start", as_index=False).agg(calls=("calls", "first"), complaints=("complaints", "sum"))
              .assign(dimension="total", value="全部"))
    return svg.control_chart(p_chart(weekly, config.warnings), "chart-complaint-trend",
                             "投诉趋势：全部业务线 每千通投诉率（按周）")


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
