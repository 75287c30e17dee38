"""`callqc complaints import FILE`: read and validate an export (qc.attribution.importer), store the good rows.

Complaints are keyed by 投诉编号: importing the same file again inserts nothing; an existing complaint whose
fields changed in the new export is updated (and reclassified on the next refresh).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import insert, select

from callqc.db import session_scope
from callqc.db.models import ComplaintRow
from qc.attribution.config import AttributionConfig, load_attribution_config
from qc.attribution.importer import ImportFileError, ImportReport, ParsedComplaint, read_table, validate_rows

__all__ = ["ImportFileError", "ImportReport", "import_complaints", "store_complaints"]


_COMPARED = ("account_id", "channel", "complaint_type", "business_type", "content")


def _same_time(a: datetime, b: datetime) -> bool:
    a = a.replace(tzinfo=timezone.utc) if a.tzinfo is None else a
    b = b.replace(tzinfo=timezone.utc) if b.tzinfo is None else b
    return abs((a - b).total_seconds()) < 1


def store_complaints(session, complaints: list[ParsedComplaint], source_file: str) -> tuple[int, int, int]:
    """Insert new complaints, update changed ones, leave identical ones; returns (inserted, updated, unchanged)."""
    existing: dict[str, ComplaintRow] = {}
    numbers = [c.complaint_no for c in complaints]
    for start in range(0, len(numbers), 2000):
        for row in session.scalars(select(ComplaintRow).where(ComplaintRow.complaint_no.in_(numbers[start:start + 2000]))):
            existing[row.complaint_no] = row
    new_rows, updated, unchanged = [], 0, 0
    for complaint in complaints:
        row = existing.get(complaint.complaint_no)
        if row is None:
            new_rows.append({"complaint_no": complaint.complaint_no, "account_id": complaint.account_id,
                             "received_at": complaint.received_at, "channel": complaint.channel,
                             "complaint_type": complaint.complaint_type, "business_type": complaint.business_type,
                             "content": complaint.content, "agency": complaint.agency,
                             "source_file": source_file, "source_row": complaint.row})
            continue
        changed = [f for f in _COMPARED if getattr(row, f) != getattr(complaint, f)]
        if not _same_time(row.received_at, complaint.received_at):
            changed.append("received_at")
        if not changed:
            unchanged += 1
            continue
        for name in changed:
            setattr(row, name, getattr(complaint, name))
        row.category = None  # reclassified on the next refresh
        row.source_file, row.source_row = source_file, complaint.row
        updated += 1
    if new_rows:
        session.execute(insert(ComplaintRow), new_rows)
    session.flush()
    return len(new_rows), updated, unchanged


def import_complaints(session_factory, path: Path | str, config: AttributionConfig | None = None,
                      *, tz: str, sheet: str | None = None) -> ImportReport:
    """Read, validate and store one export file. File-level problems raise ImportFileError."""
    started = time.perf_counter()
    path = Path(path)
    config = config or load_attribution_config()
    table, encoding = read_table(path, config, sheet)
    good, errors, skipped = validate_rows(table, config, tz)
    with session_scope(session_factory) as session:
        inserted, updated, unchanged = store_complaints(session, good, path.name)
    below_header = sum(1 for row in skipped if row.row > table.header_row)
    return ImportReport(file=str(path), encoding=encoding, rows_read=len(table.rows) - below_header,
                        inserted=inserted, updated=updated, unchanged=unchanged, errors=tuple(errors),
                        skipped=tuple(skipped), sheet=table.sheet, header_row=table.header_row,
                        seconds=time.perf_counter() - started)
