"""Which day a call belongs to: the callee's local date, as the nightly run files it.

The run takes a recording's day from its object key `{agency}/{YYYY-MM-DD}/…`, which the agency (and
`callqc samples upload`) derive from the sidecar's `started_at` in the call's own UTC offset — the callee's
local clock. Ingest stores that instant as UTC with the offset in `recordings.started_at_offset_min`. So a call
made in New York at 14:05 on 3 November (-05:00) belongs to 3 November, although it is already 03:05 on 4
November in Shanghai. The report, the dashboard and the closed loop all decide days with these functions, so
they count the same calls as the run. A call without a stored offset falls back to the QC timezone.
Complaints have no callee offset: they are dated in the bank's timezone (settings `qc.timezone`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd

# Offsets run from -12:00 to +14:00: widening a UTC query by a day each side finds every call of a local day.
QUERY_MARGIN = timedelta(days=1)


def call_local_time(started_at: datetime, offset_min: int | None, fallback_tz: str) -> datetime:
    """The call's start on the callee's clock (aware, in the call's own offset)."""
    started = started_at if started_at.tzinfo else started_at.replace(tzinfo=timezone.utc)  # SQLite: naive UTC
    if offset_min is None:
        return started.astimezone(ZoneInfo(fallback_tz))
    return started.astimezone(timezone(timedelta(minutes=offset_min)))


def call_day(started_at: datetime, offset_min: int | None, fallback_tz: str) -> date:
    """The day a call belongs to (the callee's local date)."""
    return call_local_time(started_at, offset_min, fallback_tz).date()


def call_days(started_at: pd.Series, offset_min: pd.Series, fallback_tz: str) -> pd.Series:
    """call_day for whole columns: UTC instants and offsets in minutes (NaN: unknown) → local midnight Timestamps."""
    utc = pd.to_datetime(started_at, utc=True)
    fallback = utc.dt.tz_convert(fallback_tz).dt.tz_localize(None)
    offsets = pd.to_numeric(offset_min, errors="coerce")
    local = (utc.dt.tz_localize(None) + pd.to_timedelta(offsets.fillna(0), unit="min")).where(offsets.notna(),
                                                                                               fallback)
    return local.dt.normalize()


def day_start_utc(day: date, tz: str) -> datetime:
    """Midnight of a local day in `tz`, as a UTC instant (for querying complaints by their bank-local date)."""
    return pd.Timestamp(datetime.combine(day, time())).tz_localize(tz).tz_convert("UTC").to_pydatetime()
