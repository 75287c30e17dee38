"""Complaint import: CSV (UTF-8-BOM, GBK) and xlsx, Chinese and English headers, every bad-row case, re-import."""

from __future__ import annotations

import csv
from datetime import datetime, timezone

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from callqc.db import session_scope
from callqc.db.models import ComplaintRow
from qc.attribution.importer import ImportFileError, import_complaints

ZH_HEADER = ["投诉编号", "客户号/账号", "投诉时间", "投诉渠道", "投诉类型", "业务类型", "投诉内容"]
EN_HEADER = ["Complaint No", "Account ID", "Received At", "Channel", "Complaint Type", "Business Type", "Content"]
GOOD_ROWS = [
    ["TS001", "AC001", "2026-03-01 10:00", "12378", "催收投诉", "信用卡", "催收员威胁我"],
    ["TS002", "AC002", "2026/3/2 9:30", "客服热线", "催收投诉", "提前还款", "打电话给我父母"],
    ["TS003", "AC003", "2026年3月3日", "网点", "服务投诉", "协商还款", "协商分期被拒绝"],
    ["TS004", "AC004", "2026-03-04T08:00:00+08:00", "监管转办", "催收投诉", "账户管控", "冒充法院"],
]
# (row as written, column reported, words in the reason)
BAD_ROWS = [
    (["", "AC010", "2026-03-01", "12378", "", "", ""], "complaint_no", "required value is empty"),
    (["TS010", "", "2026-03-01", "12378", "", "", ""], "account_id", "required value is empty"),
    (["TS011", "AC011", "", "12378", "", "", ""], "received_at", "required value is empty"),
    (["TS012", "AC012", "2026-03-01", "", "", "", ""], "channel", "required value is empty"),
    (["TS013", "AC013", "3月1日上午", "12378", "", "", ""], "received_at", "not a date/time"),
    (["TS014", "AC014", "2099-01-01", "12378", "", "", ""], "received_at", "in the future"),
    (["TS015", "AC015", "2026-03-01", "微博", "", "", ""], "channel", "unknown channel '微博'"),
    (["TS016", "A" * 70, "2026-03-01", "12378", "", "", ""], "account_id", "longer than 64 characters"),
    (["TS001", "AC001", "2026-03-01 10:00", "12378", "", "", ""], "complaint_no", "duplicate complaint number"),
]
FIELD_INDEX = {"complaint_no": 0, "account_id": 1, "received_at": 2, "channel": 3}


def _write_csv(path, header, rows, encoding):
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _write_xlsx(path, header, rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def _count(factory) -> int:
    with session_scope(factory) as session:
        return session.execute(select(func.count(ComplaintRow.id))).scalar_one()


@pytest.mark.parametrize("kind, header, encoding", [
    ("csv", ZH_HEADER, "utf-8-sig"), ("csv", ZH_HEADER, "gbk"), ("csv", EN_HEADER, "utf-8"),
    ("xlsx", ZH_HEADER, None), ("xlsx", EN_HEADER, None)])
def test_good_rows_load_and_reimport_adds_nothing(db_session_factory, tmp_path, kind, header, encoding):
    path = (_write_csv(tmp_path / "complaints.csv", header, GOOD_ROWS, encoding) if kind == "csv"
            else _write_xlsx(tmp_path / "complaints.xlsx", header, GOOD_ROWS))
    report = import_complaints(db_session_factory, path)
    assert (report.inserted, report.errors) == (4, ())
    assert report.encoding == {"utf-8-sig": "utf-8-bom", "gbk": "gbk", "utf-8": "utf-8", None: "xlsx"}[encoding]
    again = import_complaints(db_session_factory, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    assert _count(db_session_factory) == 4
    with session_scope(db_session_factory) as session:
        rows = {r.complaint_no: r for r in session.scalars(select(ComplaintRow))}
    assert rows["TS001"].channel == "12378" and rows["TS002"].business_type == "提前还款"
    assert rows["TS002"].content == "打电话给我父母" and rows["TS003"].business_type == "协商还款"
    received = rows["TS001"].received_at.replace(tzinfo=timezone.utc) if rows["TS001"].received_at.tzinfo is None \
        else rows["TS001"].received_at
    assert received == datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)  # 10:00 Beijing time
    assert rows["TS004"].received_at.replace(tzinfo=None) == datetime(2026, 3, 4, 0, 0)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_every_bad_row_is_reported_and_good_rows_still_load(db_session_factory, tmp_path, kind):
    rows = GOOD_ROWS + [row for row, _, _ in BAD_ROWS]
    path = (_write_csv(tmp_path / "mixed.csv", ZH_HEADER, rows, "utf-8-sig") if kind == "csv"
            else _write_xlsx(tmp_path / "mixed.xlsx", ZH_HEADER, rows))
    report = import_complaints(db_session_factory, path)
    assert report.inserted == len(GOOD_ROWS)
    assert len(report.errors) == len(BAD_ROWS)
    for offset, (error, (_row, field, reason)) in enumerate(zip(report.errors, BAD_ROWS)):
        assert error.row == 2 + len(GOOD_ROWS) + offset  # spreadsheet numbering: header is row 1
        assert error.column == ZH_HEADER[FIELD_INDEX[field]]
        assert reason in error.reason, str(error)
    assert "first seen in row 2" in report.errors[-1].reason
    assert _count(db_session_factory) == len(GOOD_ROWS)


def test_changed_complaint_is_updated_not_duplicated(sqlite_url, tmp_path):
    from callqc import db

    factory = db.session_factory(db.make_engine(sqlite_url))
    import_complaints(factory, _write_csv(tmp_path / "a.csv", ZH_HEADER, GOOD_ROWS, "utf-8"))
    changed = [row[:] for row in GOOD_ROWS]
    changed[0][6] = "补充：催收员还辱骂我"
    report = import_complaints(factory, _write_csv(tmp_path / "b.csv", ZH_HEADER, changed, "utf-8"))
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 3)
    assert _count(factory) == 4


def test_excel_typed_cells(sqlite_url, tmp_path):
    from callqc import db

    factory = db.session_factory(db.make_engine(sqlite_url))
    rows = [[20260301001, 6222000012345678, datetime(2026, 3, 1, 9, 15), "客服热线", "", "信用卡", "态度差"],
            ["TS9", "AC9", 46082.5, "hotline", "", "Repayment plan", ""]]  # Excel serial date, English aliases
    report = import_complaints(factory, _write_xlsx(tmp_path / "typed.xlsx", ZH_HEADER, rows))
    assert report.errors == () and report.inserted == 2
    with session_scope(factory) as session:
        stored = {r.complaint_no: r for r in session.scalars(select(ComplaintRow))}
    assert stored["20260301001"].account_id == "6222000012345678"
    assert stored["TS9"].channel == "客服热线" and stored["TS9"].business_type == "协商还款"


def test_file_level_errors_name_the_file_and_column(sqlite_url, tmp_path):
    from callqc import db

    factory = db.session_factory(db.make_engine(sqlite_url))
    path = _write_csv(tmp_path / "nochannel.csv", ZH_HEADER[:3], [row[:3] for row in GOOD_ROWS], "utf-8")
    with pytest.raises(ImportFileError, match=r"nochannel\.csv: required column\(s\) missing: channel"):
        import_complaints(factory, path)
    other = tmp_path / "complaints.pdf"
    other.write_bytes(b"%PDF")
    with pytest.raises(ImportFileError, match="unsupported file type"):
        import_complaints(factory, other)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ImportFileError, match="broken.xlsx: not a readable .xlsx"):
        import_complaints(factory, broken)


def test_cli_import_reports_rows_and_exit_code(sqlite_url, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from callqc.cli import app
    from callqc.settings import get_settings

    monkeypatch.setenv("CALLQC_DATABASE__URL", sqlite_url)
    get_settings.cache_clear()
    try:
        path = _write_csv(tmp_path / "cli.csv", ZH_HEADER, GOOD_ROWS + [BAD_ROWS[4][0]], "gbk")
        result = CliRunner().invoke(app, ["complaints", "import", str(path)])
        assert result.exit_code == 1, result.output
        assert "row 6, column '投诉时间': not a date/time" in result.output
        assert "4 inserted" in result.output and "(gbk)" in result.output
    finally:
        get_settings.cache_clear()
