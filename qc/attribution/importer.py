"""`callqc complaints import FILE`: complaint exports (CSV or .xlsx) as Chinese banks produce them.

Headers are mapped with configs/attribution.yaml `columns` (Chinese and English names). CSV files may be UTF-8
(with or without BOM) or GBK/GB18030. Every row is validated on its own: a bad row is reported with its row
number (as a spreadsheet shows it, header = row 1), the column and the reason, and the good rows still load.
Complaints are keyed by 投诉编号: importing the same file again inserts nothing (an existing complaint whose
fields changed in the new export is updated).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from qc.attribution.config import IMPORT_FIELDS, AttributionConfig, load_attribution_config

MAX_LENGTHS = {"complaint_no": 64, "account_id": 64, "channel": 32, "complaint_type": 64, "business_type": 64,
               "agency": 64}
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%Y/%m/%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M",
                "%Y年%m月%d日 %H时%M分", "%Y年%m月%d日", "%Y%m%d %H:%M:%S", "%Y%m%d")
EXCEL_EPOCH = datetime(1899, 12, 30)


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (unreadable, unknown format, a required column missing)."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column '{self.column}': {self.reason}"


@dataclass(frozen=True)
class ParsedComplaint:
    row: int
    complaint_no: str
    account_id: str
    received_at: datetime  # UTC
    channel: str
    complaint_type: str = ""
    business_type: str = ""
    content: str = ""
    agency: str | None = None


@dataclass(frozen=True)
class ImportReport:
    file: str
    encoding: str
    rows_read: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: tuple[RowError, ...] = field(default_factory=tuple)

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated + self.unchanged


# ---- reading ---------------------------------------------------------------------------------------------

def read_table(path: Path) -> tuple[list[str], list[tuple[int, list[Any]]], str]:
    """Header names, (row number, values) pairs, and the encoding (or 'xlsx')."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path)
    raise ImportFileError(f"{path}: unsupported file type '{suffix}' (expected .csv or .xlsx)")


def _read_csv(path: Path) -> tuple[list[str], list[tuple[int, list[Any]]], str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(f"{path}: not UTF-8 or GBK/GB18030 text")
    encoding = "utf-8-bom" if raw.startswith(b"\xef\xbb\xbf") else ("utf-8" if encoding == "utf-8-sig" else "gbk")
    dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
    if not rows:
        raise ImportFileError(f"{path}: the file is empty")
    return rows[0], [(number, values) for number, values in enumerate(rows[1:], start=2)], encoding


def _read_xlsx(path: Path) -> tuple[list[str], list[tuple[int, list[Any]]], str]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a damaged file
        raise ImportFileError(f"{path}: not a readable .xlsx workbook: {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    if not rows:
        raise ImportFileError(f"{path}: the first sheet is empty")
    header = ["" if v is None else str(v) for v in rows[0]]
    return header, [(number, list(values)) for number, values in enumerate(rows[1:], start=2)], "xlsx"


def _header_key(name: str) -> str:
    return "".join(str(name).replace("\ufeff", "").split()).casefold()


def map_columns(header: list[str], config: AttributionConfig, source: str) -> dict[str, int]:
    """field -> column index; raises ImportFileError naming the missing required fields and accepted headers."""
    positions = {_header_key(h): i for i, h in reversed(list(enumerate(header))) if str(h).strip()}
    mapping = {}
    for field_name, names in config.columns.items():
        for name in names:
            if _header_key(name) in positions:
                mapping[field_name] = positions[_header_key(name)]
                break
    missing = [f for f in config.required_columns if f not in mapping]
    if missing:
        accepted = "; ".join(f"{f}: {' / '.join(config.columns[f])}" for f in missing)
        raise ImportFileError(f"{source}: required column(s) missing: {', '.join(missing)} (accepted headers — "
                              f"{accepted}); found: {', '.join(str(h) for h in header)}")
    return mapping


# ---- validation ------------------------------------------------------------------------------------------

def parse_time(value: Any, tz: str) -> datetime:
    """A complaint time as UTC; naive times are the bank's local time. Raises ValueError with the reason."""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, date):
        stamp = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 20000 < value < 80000:
            raise ValueError(f"not a date/time: {value!r}")
        stamp = EXCEL_EPOCH + timedelta(days=float(value))
    else:
        text = str(value).strip()
        stamp = None
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            for fmt in DATE_FORMATS:
                try:
                    stamp = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if stamp is None:
            raise ValueError(f"not a date/time: '{text}' (expected e.g. 2026-03-01 14:30 or 2026/3/1)")
    ts = pd.Timestamp(stamp)
    ts = ts.tz_localize(tz) if ts.tzinfo is None else ts
    return ts.tz_convert("UTC").to_pydatetime()


def _text(values: list[Any], mapping: dict[str, int], name: str) -> str:
    index = mapping.get(name)
    if index is None or index >= len(values) or values[index] is None:
        return ""
    value = values[index]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores 投诉编号 / 账号 typed as numbers as floats
    return str(value).strip()


def validate_rows(header: list[str], rows: list[tuple[int, list[Any]]], mapping: dict[str, int],
                  config: AttributionConfig, tz: str = "Asia/Shanghai",
                  now: datetime | None = None) -> tuple[list[ParsedComplaint], list[RowError]]:
    now = now or datetime.now(timezone.utc)
    column_name = {f: str(header[i]).strip() for f, i in mapping.items()}
    good: list[ParsedComplaint] = []
    errors: list[RowError] = []
    first_row_of: dict[str, int] = {}
    for number, values in rows:
        if all(v is None or str(v).strip() == "" for v in values):
            continue  # blank spacer rows in exports are not data
        fields = {f: _text(values, mapping, f) for f in IMPORT_FIELDS}
        problems: list[RowError] = []
        for name in config.required_columns:
            if not fields[name]:
                problems.append(RowError(number, column_name[name], "required value is empty"))
        for name, limit in MAX_LENGTHS.items():
            if name in mapping and len(fields[name]) > limit:
                problems.append(RowError(number, column_name[name], f"longer than {limit} characters"))
        received = None
        raw_time = values[mapping["received_at"]] if mapping["received_at"] < len(values) else None
        if fields["received_at"]:
            try:
                received = parse_time(raw_time, tz)
                if received > now + timedelta(days=1):
                    problems.append(RowError(number, column_name["received_at"],
                                             f"in the future: {received:%Y-%m-%d %H:%M} UTC"))
            except ValueError as exc:
                problems.append(RowError(number, column_name["received_at"], str(exc)))
        channel = config.canonical_channel(fields["channel"]) if fields["channel"] else None
        if fields["channel"] and channel is None:
            problems.append(RowError(number, column_name["channel"],
                                     f"unknown channel '{fields['channel']}' (expected one of "
                                     f"{', '.join(config.channels)})"))
        number_key = fields["complaint_no"]
        if number_key and number_key in first_row_of:
            problems.append(RowError(number, column_name["complaint_no"],
                                     f"duplicate complaint number, first seen in row {first_row_of[number_key]}"))
        if problems:
            errors.extend(problems)
            continue
        first_row_of[number_key] = number
        business = config.canonical_business_line(fields["business_type"]) or fields["business_type"]
        good.append(ParsedComplaint(row=number, complaint_no=number_key, account_id=fields["account_id"],
                                    received_at=received, channel=channel, complaint_type=fields["complaint_type"],
                                    business_type=business, content=fields["content"],
                                    agency=fields["agency"] or None))
    return good, errors


# ---- storing ---------------------------------------------------------------------------------------------

_COMPARED = ("account_id", "channel", "complaint_type", "business_type", "content")


def _same_time(a: datetime, b: datetime) -> bool:
    a = a.replace(tzinfo=timezone.utc) if a.tzinfo is None else a
    b = b.replace(tzinfo=timezone.utc) if b.tzinfo is None else b
    return abs((a - b).total_seconds()) < 1


def store_complaints(session, complaints: list[ParsedComplaint], source_file: str) -> tuple[int, int, int]:
    """Insert new complaints, update changed ones, leave identical ones; returns (inserted, updated, unchanged)."""
    from sqlalchemy import insert, select

    from callqc.db.models import ComplaintRow

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
                      tz: str = "Asia/Shanghai") -> ImportReport:
    """Read, validate and store one export file. File-level problems raise ImportFileError."""
    from callqc.db import session_scope

    path = Path(path)
    config = config or load_attribution_config()
    header, rows, encoding = read_table(path)
    mapping = map_columns(header, config, str(path))
    good, errors = validate_rows(header, rows, mapping, config, tz)
    with session_scope(session_factory) as session:
        inserted, updated, unchanged = store_complaints(session, good, path.name)
    return ImportReport(file=str(path), encoding=encoding, rows_read=sum(1 for _ in rows), inserted=inserted,
                        updated=updated, unchanged=unchanged, errors=tuple(errors))
