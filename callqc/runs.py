"""The pipeline_runs table: one row per ingest, nightly run or model training, opened and closed here only."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from callqc.db import session_scope
from callqc.db.models import PipelineRun, utcnow


def open_run(factory: sessionmaker[Session], kind: str, params: dict[str, Any],
             prefect_flow_run_id: str | None = None) -> int:
    """A new `running` row of this kind; its id."""
    with session_scope(factory) as session:
        run = PipelineRun(kind=kind, status="running", params=params, prefect_flow_run_id=prefect_flow_run_id)
        session.add(run)
        session.flush()
        return run.id


def close_run(factory: sessionmaker[Session], run_id: int, status: str, counts: dict[str, Any] | None = None,
              warnings: list[Any] | None = None) -> None:
    """Finish the row: completed or failed, with its counts and warnings."""
    with session_scope(factory) as session:
        run = session.get(PipelineRun, run_id)
        run.status, run.finished_at = status, utcnow()
        if counts is not None:
            run.counts = counts
        if warnings is not None:
            run.warnings = warnings


def close_failed_run(factory: sessionmaker[Session], run_id: int, error: str,
                     counts: dict[str, Any] | None = None, warnings: list[Any] | None = None) -> None:
    """Mark the row failed if the database still lets us: the caller raises the original error afterwards."""
    try:
        close_run(factory, run_id, "failed", counts, [{"error": error}, *(warnings or [])])
    except Exception:  # noqa: BLE001 - e.g. the database itself went away
        pass
