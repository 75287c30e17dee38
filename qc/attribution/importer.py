"""`callqc complaints import FILE`: complaint exports (CSV or .xlsx) as Chinese banks produce them.

A bank's export is rarely a bare table: a title row (「投诉明细报表（2026年11月）」) and blank rows sit above the
header, a 合计 / 小计 row and a 制表人 line below the data, the header may be two rows of merged cells, and a
workbook may hold several sheets. So the importer
- reads every row (CSV as UTF-8, UTF-8-BOM or GBK/GB18030; .xlsx with merged cells filled in),
- takes as the header the row within the first `HEADER_SCAN_ROWS` that maps the most required columns
  (configs/attribution.yaml `columns`); in a workbook, the first sheet whose header maps them all, or `--sheet`,
- skips the rows above the header, blank rows, repeated headers and total / note rows (`skip_rows`) without
  calling them errors,
- validates every data row on its own: a bad row is reported with its row number (as the spreadsheet shows it),
  its complaint number when it has one, the column and the reason; the good rows still load.
Storing the good rows is callqc.complaints (`import_complaints`).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from qc.attribution.config import IMPORT_FIELDS, AttributionConfig, load_attribution_config

MAX_LENGTHS = {"complaint_no": 64, "account_id": 64, "channel": 32, "complaint_type": 64, "business_type": 64,
               "agency": 64}
HEADER_SCAN_ROWS = 30
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                "%Y/%m/%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y.%m.%d", "%Y年%m月%d日 %H:%M:%S",
                "%Y年%m月%d日 %H:%M", "%Y年%m月%d日 %H时%M分%S秒", "%Y年%m月%d日 %H时%M分", "%Y年%m月%d日",
                "%Y%m%d %H:%M:%S", "%Y%m%d %H:%M", "%Y%m%d%H%M%S", "%Y%m%d%H%M", "%Y%m%d")
EXCEL_EPOCH = datetime(1899, 12, 30)
EXCEL_SERIALS = (20000, 80000)  # 1954 .. 2119: a plain number in this range in a time column is an Excel date


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (unreadable, unknown format, a required column missing)."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str
    complaint_no: str = ""

    def __str__(self) -> str:
        where = f"row {self.row}" + (f" (complaint {self.complaint_no})" if self.complaint_no else "")
        return f"{where}, column '{self.column}': {self.reason}"


@dataclass(frozen=True)
class SkippedRow:
    row: int
    reason: str  # e.g. "title row above the header", "total row (合计)"


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
    rows_read: int          # data rows below the header (skipped rows not counted)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: tuple[RowError, ...] = field(default_factory=tuple)
    skipped: tuple[SkippedRow, ...] = field(default_factory=tuple)
    sheet: str | None = None
    header_row: int = 1
    seconds: float = 0.0

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated + self.unchanged

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})


# ---- reading ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sheet:
    """The rows of one CSV file or workbook sheet, each with its 1-based row number."""
    name: str | None
    rows: list[tuple[int, list[Any]]]


@dataclass(frozen=True)
class Table:
    """A sheet with its header found: the header's row number and values, the data rows below it."""
    sheet: str | None
    header_row: int
    header: list[str]
    mapping: dict[str, int]
    rows: list[tuple[int, list[Any]]]
    above: list[tuple[int, list[Any]]] = field(default_factory=list)  # title rows etc. above the header


def read_sheets(path: Path) -> tuple[list[Sheet], str]:
    """Every sheet of the file and the encoding ('xlsx' for workbooks)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path), "xlsx"
    if suffix in (".csv", ".txt", ".tsv"):
        rows, encoding = _read_csv(path)
        return [Sheet(None, rows)], encoding
    raise ImportFileError(f"{path}: unsupported file type '{suffix}' (expected .csv or .xlsx)")


def _read_csv(path: Path) -> tuple[list[tuple[int, list[Any]]], str]:
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
    return list(enumerate(rows, start=1)), encoding


def _read_xlsx(path: Path) -> list[Sheet]:
    from openpyxl import load_workbook

    try:
        # not read-only: merged cell ranges are only known to a fully loaded sheet
        workbook = load_workbook(path, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a damaged file
        raise ImportFileError(f"{path}: not a readable .xlsx workbook: {exc}") from exc
    sheets = []
    try:
        for worksheet in workbook.worksheets:
            rows = [list(values) for values in worksheet.iter_rows(values_only=True)]
            for merged in worksheet.merged_cells.ranges:  # a merged cell's value belongs to every cell it covers
                value = rows[merged.min_row - 1][merged.min_col - 1] if merged.min_row <= len(rows) else None
                for r in range(merged.min_row - 1, min(merged.max_row, len(rows))):
                    for c in range(merged.min_col - 1, merged.max_col):
                        if c < len(rows[r]):
                            rows[r][c] = value
            sheets.append(Sheet(worksheet.title, list(enumerate(rows, start=1))))
    finally:
        workbook.close()
    return sheets


def _header_key(name: Any) -> str:
    return "".join(str(name).replace("\ufeff", "").split()).casefold()


def _blank(values: list[Any]) -> bool:
    return all(v is None or str(v).strip() == "" for v in values)


def _map_row(values: list[Any], config: AttributionConfig) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, value in enumerate(values):
        if value is not None and str(value).strip():
            positions.setdefault(_header_key(value), i)
    mapping = {}
    for field_name, names in config.columns.items():
        found = [positions[_header_key(n)] for n in names if _header_key(n) in positions]
        if found:
            mapping[field_name] = found[0]
    return mapping


def find_header(sheet: Sheet, config: AttributionConfig) -> Table | None:
    """The row among the first HEADER_SCAN_ROWS that maps the most required columns (then the most columns)."""
    best: tuple[tuple[int, int], int] | None = None
    for index, (number, values) in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        mapping = _map_row(values, config)
        score = (sum(1 for f in config.required_columns if f in mapping), len(mapping))
        if score[0] and (best is None or score > best[0]):
            best = (score, index)
    if best is None:
        return None
    index = best[1]
    number, values = sheet.rows[index]
    header = ["" if v is None else str(v).strip() for v in values]
    return Table(sheet.name, number, header, _map_row(values, config), sheet.rows[index + 1:],
                 sheet.rows[:index])


def _missing(table: Table, config: AttributionConfig) -> list[str]:
    return [f for f in config.required_columns if f not in table.mapping]


def _missing_message(source: str, table: Table | None, sheet: Sheet, config: AttributionConfig) -> str:
    missing = _missing(table, config) if table else list(config.required_columns)
    accepted = "; ".join(f"{f}: {' / '.join(config.columns[f])}" for f in missing)
    where = f"{source}" + (f" sheet '{sheet.name}'" if sheet.name is not None else "")
    if table is None:
        return (f"{where}: required column(s) missing: {', '.join(missing)} — no row among the first "
                f"{HEADER_SCAN_ROWS} names any of them (accepted headers — {accepted})")
    found = ", ".join(h for h in table.header if h) or "(no names)"
    return (f"{where}: required column(s) missing: {', '.join(missing)} (accepted headers — {accepted}); "
            f"header row {table.header_row} has: {found}")


def read_table(path: Path | str, config: AttributionConfig | None = None,
               sheet: str | None = None) -> tuple[Table, str]:
    """The data table of an export and its encoding; ImportFileError names the file, sheet and missing columns."""
    path = Path(path)
    config = config or load_attribution_config()
    sheets, encoding = read_sheets(path)
    if sheet is not None:
        chosen = [s for s in sheets if s.name == sheet]
        if not chosen:
            names = ", ".join(f"'{s.name}'" for s in sheets if s.name is not None) or "(a CSV file has none)"
            raise ImportFileError(f"{path}: no sheet named '{sheet}' (sheets: {names})")
        sheets = chosen
    problems = []
    for candidate in sheets:
        table = find_header(candidate, config)
        if table is not None and not _missing(table, config):
            return table, encoding
        problems.append(_missing_message(str(path), table, candidate, config))
    if all(_blank(values) for s in sheets for _, values in s.rows):
        raise ImportFileError(f"{path}: the file is empty")
    raise ImportFileError("; ".join(problems))


def map_columns(header: list[str], config: AttributionConfig, source: str) -> dict[str, int]:
    """field -> column index of a known header row; ImportFileError names the missing required fields."""
    table = find_header(Sheet(None, [(1, list(header))]), config)
    if table is None or _missing(table, config):
        raise ImportFileError(_missing_message(source, table, Sheet(None, []), config))
    return table.mapping


# ---- validation ------------------------------------------------------------------------------------------

def _clean_time_text(text: str) -> str:
    text = text.strip().replace("：", ":")
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"(日)(\d)", r"\1 \2", text)  # 2026年11月20日10:05
    return text


def parse_time(value: Any, tz: str) -> datetime:
    """A complaint time as UTC; naive times are the bank's local time. Raises ValueError with the reason.

    Accepts datetime cells, Excel serial numbers (typed or as text), yyyymmdd numbers, ISO 8601 and the
    DATE_FORMATS (2026-11-17 09:12, 2026/11/19 15:40, 2026年11月20日 10:05, 20261126 …, with or without seconds).
    """
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, date):
        stamp = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        stamp = _number_time(float(value))
    else:
        text = _clean_time_text(str(value))
        stamp = None
        if re.fullmatch(r"\d{5}(\.\d+)?", text):
            stamp = _number_time(float(text))
        else:
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
            raise ValueError(f"not a date/time: '{text}' (expected e.g. 2026-11-17 09:12, 2026/11/19 15:40, "
                             f"2026年11月20日 10:05 or 20261126)")
    if stamp.tzinfo is None:  # the bank's local time
        stamp = stamp.replace(tzinfo=ZoneInfo(tz))
    return stamp.astimezone(timezone.utc)


def _number_time(value: float) -> datetime:
    if EXCEL_SERIALS[0] < value < EXCEL_SERIALS[1]:
        return EXCEL_EPOCH + timedelta(days=value)
    if value.is_integer() and 19000101 <= value <= 29991231:
        try:
            return datetime.strptime(str(int(value)), "%Y%m%d")
        except ValueError:
            pass
    raise ValueError(f"not a date/time: {value:g}")


def _text(values: list[Any], mapping: dict[str, int], name: str) -> str:
    index = mapping.get(name)
    if index is None or index >= len(values) or values[index] is None:
        return ""
    value = values[index]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores 投诉编号 / 账号 typed as numbers as floats
    return str(value).strip()


def skip_reason(values: list[Any], header: list[str], config: AttributionConfig) -> str | None:
    """Why a row below the header is not data (None when it is): blank, a repeated header, a total/note row."""
    cells = [str(v).strip() for v in values if v is not None and str(v).strip()]
    if not cells:
        return "blank row"
    if [_header_key(c) for c in cells] == [_header_key(h) for h in header if h]:
        return "repeated header row"
    first = _header_key(cells[0])
    for marker in config.skip_rows:
        if first.startswith(_header_key(marker)):
            return f"total/note row ({cells[0][:20]})"
    return None


def validate_rows(table: Table, config: AttributionConfig, tz: str,
                  now: datetime | None = None) -> tuple[list[ParsedComplaint], list[RowError], list[SkippedRow]]:
    now = now or datetime.now(timezone.utc)
    mapping = table.mapping
    column_name = {f: table.header[i] for f, i in mapping.items()}
    good: list[ParsedComplaint] = []
    errors: list[RowError] = []
    skipped: list[SkippedRow] = []
    first_row_of: dict[str, int] = {}
    skipped.extend(SkippedRow(n, "title row above the header") for n, values in table.above if not _blank(values))
    for number, values in table.rows:
        reason = skip_reason(values, table.header, config)
        if reason:
            skipped.append(SkippedRow(number, reason))
            continue
        fields = {f: _text(values, mapping, f) for f in IMPORT_FIELDS}
        number_key = fields["complaint_no"]
        problems: list[tuple[str, str]] = []  # (field, reason)
        for name in config.required_columns:
            if not fields[name]:
                problems.append((name, "required value is empty"))
        for name, limit in MAX_LENGTHS.items():
            if name in mapping and len(fields[name]) > limit:
                problems.append((name, f"longer than {limit} characters"))
        received = None
        raw_time = values[mapping["received_at"]] if mapping["received_at"] < len(values) else None
        if fields["received_at"]:
            try:
                received = parse_time(raw_time, tz)
                if received > now + timedelta(days=1):
                    problems.append(("received_at", f"in the future: {received:%Y-%m-%d %H:%M} UTC"))
            except ValueError as exc:
                problems.append(("received_at", str(exc)))
        channel = config.canonical_channel(fields["channel"]) if fields["channel"] else None
        if fields["channel"] and channel is None:
            problems.append(("channel", f"unknown channel '{fields['channel']}' (expected one of "
                                        f"{', '.join(config.channels)} or an alias in configs/attribution.yaml)"))
        if number_key and number_key in first_row_of:
            problems.append(("complaint_no", f"duplicate complaint number, first seen in row {first_row_of[number_key]}"))
        if problems:
            errors.extend(RowError(number, column_name[name], why, number_key[:64]) for name, why in problems)
            continue
        first_row_of[number_key] = number
        business = config.canonical_business_line(fields["business_type"]) or fields["business_type"]
        good.append(ParsedComplaint(row=number, complaint_no=number_key, account_id=fields["account_id"],
                                    received_at=received, channel=channel, complaint_type=fields["complaint_type"],
                                    business_type=business, content=fields["content"],
                                    agency=fields["agency"] or None))
    return good, errors, skipped
