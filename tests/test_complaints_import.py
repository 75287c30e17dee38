"""Complaint import: CSV (UTF-8-BOM, GBK) and xlsx, Chinese and English headers, every bad-row case, re-import."""

from __future__ import annotations

import csv
from datetime import datetime, timezone

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from callqc.db import session_scope
from callqc.db.models import ComplaintRow
from callqc.complaints import ImportFileError, import_complaints

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

TZ = "Asia/Shanghai"  # the callee time zone of the test data (settings qc.timezone in the app)


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
    report = import_complaints(db_session_factory, path, tz=TZ)
    assert (report.inserted, report.errors) == (4, ())
    assert report.encoding == {"utf-8-sig": "utf-8-bom", "gbk": "gbk", "utf-8": "utf-8", None: "xlsx"}[encoding]
    again = import_complaints(db_session_factory, path, tz=TZ)
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
    report = import_complaints(db_session_factory, path, tz=TZ)
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
    import_complaints(factory, _write_csv(tmp_path / "a.csv", ZH_HEADER, GOOD_ROWS, "utf-8"), tz=TZ)
    changed = [row[:] for row in GOOD_ROWS]
    changed[0][6] = "补充：催收员还辱骂我"
    report = import_complaints(factory, _write_csv(tmp_path / "b.csv", ZH_HEADER, changed, "utf-8"), tz=TZ)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 3)
    assert _count(factory) == 4


def test_excel_typed_cells(sqlite_url, tmp_path):
    from callqc import db

    factory = db.session_factory(db.make_engine(sqlite_url))
    rows = [[20260301001, 6222000012345678, datetime(2026, 3, 1, 9, 15), "客服热线", "", "信用卡", "态度差"],
            ["TS9", "AC9", 46082.5, "hotline", "", "Repayment plan", ""]]  # Excel serial date, English aliases
    report = import_complaints(factory, _write_xlsx(tmp_path / "typed.xlsx", ZH_HEADER, rows), tz=TZ)
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
        import_complaints(factory, path, tz=TZ)
    other = tmp_path / "complaints.pdf"
    other.write_bytes(b"%PDF")
    with pytest.raises(ImportFileError, match="unsupported file type"):
        import_complaints(factory, other, tz=TZ)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ImportFileError, match="broken.xlsx: not a readable .xlsx"):
        import_complaints(factory, broken, tz=TZ)


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
        assert "row 6 (complaint TS013), column '投诉时间': not a date/time" in result.output
        assert "4 loaded (4 inserted" in result.output and "(gbk, header row 1)" in result.output
        assert "1 bad rows" in result.output
        bank = CliRunner().invoke(app, ["complaints", "import", str(_bank_xlsx(tmp_path / "bank.xlsx")),
                                        "--sheet", "投诉明细"])
        assert bank.exit_code == 1 and "sheet '投诉明细', header row 3" in bank.output, bank.output
        assert f"{len(BANK_ROWS)} loaded" in bank.output and f"{len(BANK_BAD_ROWS)} bad rows" in bank.output
        title_only = tmp_path / "title.csv"
        title_only.write_text(f"{TITLE},,,,,,,,,,,,,,,,,,,,\n", encoding="gbk")
        failed = CliRunner().invoke(app, ["complaints", "import", str(title_only)])
        assert failed.exit_code == 2 and "required column(s) missing" in failed.output
        # one plain line: no box, no padding to the terminal width, no run of empty header names
        assert all(line == line.rstrip() for line in failed.output.splitlines()), repr(failed.output)
        assert "╭" not in failed.output and ", , " not in failed.output
    finally:
        get_settings.cache_clear()


# ---- exports as banks send them: title row, 合计 row, merged headers, several sheets, mixed dates ------------

TITLE = "投诉明细报表（2026年11月）"
BANK_HEADER = ["序号", "投诉编号", "客户号/账号", "投诉时间", "投诉渠道", "投诉类型", "业务类型", "投诉内容", "涉及机构"]
# (complaint no, time as exported, channel as exported) → the UTC time and canonical channel expected
BANK_ROWS = [
    ("TS2611001", "2026-11-17 09:12", "12378", datetime(2026, 11, 17, 1, 12), "12378"),
    ("TS2611002", "2026-11-17 09:12:30", "监管转办", datetime(2026, 11, 17, 1, 12, 30), "监管转办"),
    ("TS2611003", "2026/11/19 15:40", "热线", datetime(2026, 11, 19, 7, 40), "客服热线"),
    ("TS2611004", "2026/11/19 15:40:05", "网点", datetime(2026, 11, 19, 7, 40, 5), "网点"),
    ("TS2611005", "2026年11月20日 10:05", "信函", datetime(2026, 11, 20, 2, 5), "信函"),
    ("TS2611006", "2026年11月20日 10:05:09", "12378热线", datetime(2026, 11, 20, 2, 5, 9), "12378"),
    ("TS2611007", "20261126", "客服电话", datetime(2026, 11, 25, 16, 0), "客服热线"),
    ("TS2611008", "46344.5", "营业网点", datetime(2026, 11, 18, 4, 0), "网点"),             # Excel serial as text
    ("TS2611009", "46344.50001157407", "监管转办", datetime(2026, 11, 18, 4, 0, 1), "监管转办"),  # with seconds
]
# (complaint no, time, channel, column reported, words in the reason)
BANK_BAD_ROWS = [
    ("TS2611090", "2026-11-18 10:00", "微博", "投诉渠道", "unknown channel '微博'"),
    ("TS2611091", "11月18日下午", "12378", "投诉时间", "not a date/time"),
    ("", "2026-11-18 10:00", "12378", "投诉编号", "required value is empty"),
]


def _bank_rows(bad=True):
    rows = [[str(n), no, f"62220000{n:08d}", when, channel, "催收投诉", "信用卡", "催收员态度恶劣", "恒信资产"]
            for n, (no, when, channel, _utc, _canonical) in enumerate(BANK_ROWS, start=1)]
    if bad:
        rows += [[str(len(rows) + k), no, f"62220000{90 + k:08d}", when, channel, "催收投诉", "消费贷", "", ""]
                 for k, (no, when, channel, _column, _reason) in enumerate(BANK_BAD_ROWS, start=1)]
    return rows


def _bank_csv(path, encoding="gbk", bad=True):
    """The shape of a consumer-protection office's monthly export: title, blank row, header, data, 合计, 制表人."""
    rows = _bank_rows(bad)
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([TITLE] + [""] * (len(BANK_HEADER) - 1))
        writer.writerow([""] * len(BANK_HEADER))
        writer.writerow(BANK_HEADER)
        writer.writerows(rows)
        writer.writerow(["合计", f"共 {len(rows)} 件"] + [""] * (len(BANK_HEADER) - 2))
        writer.writerow(["制表人：张某某", "", "制表时间：2026-11-30"] + [""] * (len(BANK_HEADER) - 3))
    return path


def _bank_xlsx(path, bad=True):
    """Three sheets (说明, 投诉明细, 汇总); the data sheet has a merged title, a two-row header with merged cells
    (序号 / 投诉编号 merged down, 客户信息 merged across 客户号/账号 + 投诉时间), a 小计 row and a 合计 row."""
    workbook = Workbook()
    notes = workbook.active
    notes.title = "说明"
    notes.append(["本报表由消费者权益保护部导出，仅供内部使用"])
    notes.append(["投诉编号说明", "TS + 年月 + 序号"])
    sheet = workbook.create_sheet("投诉明细")
    sheet.append([TITLE])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(BANK_HEADER))
    sheet.append(["序号", "投诉编号", "客户信息", None, "投诉渠道", "投诉类型", "业务类型", "投诉内容", "涉及机构"])
    sheet.append([None, None, "客户号/账号", "投诉时间", None, None, None, None, None])
    for column in (1, 2, 5, 6, 7, 8, 9):
        sheet.merge_cells(start_row=2, start_column=column, end_row=3, end_column=column)
    sheet.merge_cells(start_row=2, start_column=3, end_row=2, end_column=4)
    rows = _bank_rows(bad)
    for k, row in enumerate(rows):
        if k == 7:  # a time typed as an Excel serial number, not text
            row = row[:3] + [46344.5] + row[4:]
        if k == 6:  # yyyymmdd typed as a number
            row = row[:3] + [20261126] + row[4:]
        sheet.append(row)
        if k == 4:
            sheet.append(["小计", "5"])
    sheet.append(["合计", len(rows)])
    summary = workbook.create_sheet("汇总")
    summary.append(["渠道", "件数"])
    summary.append(["12378", 3])
    workbook.save(path)
    return path


def _stored(factory):
    with session_scope(factory) as session:
        return {r.complaint_no: r for r in session.scalars(select(ComplaintRow))}


def _utc(value):
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


@pytest.mark.parametrize("kind", ["gbk-csv", "utf8-csv", "xlsx"])
def test_bank_export_with_title_total_rows_and_mixed_dates(db_session_factory, tmp_path, kind):
    path = {"gbk-csv": lambda: _bank_csv(tmp_path / "投诉明细_202611.csv", "gbk"),
            "utf8-csv": lambda: _bank_csv(tmp_path / "投诉明细_202611.csv", "utf-8-sig"),
            "xlsx": lambda: _bank_xlsx(tmp_path / "投诉明细_202611.xlsx")}[kind]()
    report = import_complaints(db_session_factory, path, tz=TZ)
    assert report.inserted == len(BANK_ROWS), [str(e) for e in report.errors]
    assert report.bad_rows == len(BANK_BAD_ROWS)
    assert report.header_row == (3 if kind != "xlsx" else 3)
    assert report.sheet == ("投诉明细" if kind == "xlsx" else None)
    reasons = {e.complaint_no or e.row: (e.column, e.reason) for e in report.errors}
    for no, _when, _channel, column, reason in BANK_BAD_ROWS:
        key = no or next(e.row for e in report.errors if not e.complaint_no)
        assert reasons[key][0] == column and reason in reasons[key][1], reasons[key]
    assert "complaint TS2611090" in str(next(e for e in report.errors if e.complaint_no == "TS2611090"))
    # title, total and preparer rows are skipped, not errors; none of them is counted as data
    skipped = " | ".join(s.reason for s in report.skipped)
    assert "title row above the header" in skipped and "合计" in skipped
    assert report.rows_read == len(BANK_ROWS) + len(BANK_BAD_ROWS)
    stored = _stored(db_session_factory)
    for no, _when, _channel, utc, canonical in BANK_ROWS:
        assert _utc(stored[no].received_at) == utc.replace(tzinfo=timezone.utc), no
        assert stored[no].channel == canonical, no
    again = import_complaints(db_session_factory, path, tz=TZ)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(BANK_ROWS))
    assert _count(db_session_factory) == len(BANK_ROWS)


def test_sheet_option_and_sheet_errors(sqlite_url, tmp_path):
    from callqc import db

    factory = db.session_factory(db.make_engine(sqlite_url))
    path = _bank_xlsx(tmp_path / "export.xlsx", bad=False)
    report = import_complaints(factory, path, tz=TZ, sheet="投诉明细")
    assert (report.inserted, report.errors, report.sheet) == (len(BANK_ROWS), (), "投诉明细")
    with pytest.raises(ImportFileError, match=r"no sheet named '明细' \(sheets: '说明', '投诉明细', '汇总'\)"):
        import_complaints(factory, path, tz=TZ, sheet="明细")
    with pytest.raises(ImportFileError, match=r"sheet '汇总': required column\(s\) missing"):
        import_complaints(factory, path, tz=TZ, sheet="汇总")


def test_a_title_only_file_names_what_it_looked_for(sqlite_url, tmp_path):
    from callqc import db

    factory = db.session_factory(db.make_engine(sqlite_url))
    path = tmp_path / "title_only.csv"
    path.write_text(f"{TITLE},,,\n,,,\n序号,备注,,\n1,无,,\n", encoding="gbk")
    with pytest.raises(ImportFileError) as caught:
        import_complaints(factory, path, tz=TZ)
    message = str(caught.value)
    assert "title_only.csv: required column(s) missing: complaint_no, account_id, received_at, channel" in message
    assert "no row among the first 30" in message and ", , " not in message


@pytest.mark.parametrize("value, expected", [
    ("2026-11-17 09:12", datetime(2026, 11, 17, 1, 12)),
    ("2026/11/19 15:40", datetime(2026, 11, 19, 7, 40)),
    ("2026/11/19 15:40:59", datetime(2026, 11, 19, 7, 40, 59)),
    ("2026年11月20日 10:05", datetime(2026, 11, 20, 2, 5)),
    ("2026年11月20日10:05", datetime(2026, 11, 20, 2, 5)),
    ("2026年11月20日 10时05分", datetime(2026, 11, 20, 2, 5)),
    ("2026年11月20日", datetime(2026, 11, 19, 16, 0)),
    ("20261126", datetime(2026, 11, 25, 16, 0)),
    (20261126, datetime(2026, 11, 25, 16, 0)),
    ("20261126 08:30", datetime(2026, 11, 26, 0, 30)),
    ("20261126083015", datetime(2026, 11, 26, 0, 30, 15)),
    (46344.5, datetime(2026, 11, 18, 4, 0)),
    ("46344", datetime(2026, 11, 17, 16, 0)),
    ("2026-11-17T09:12:00+08:00", datetime(2026, 11, 17, 1, 12)),
])
def test_complaint_time_formats(value, expected):
    from qc.attribution.importer import parse_time

    assert parse_time(value, "Asia/Shanghai") == expected.replace(tzinfo=timezone.utc)


@pytest.mark.parametrize("value", ["11月18日下午", "2026-13-01", "123", 99999999, "2026/11/31 10:00"])
def test_bad_complaint_times_say_why(value):
    from qc.attribution.importer import parse_time

    with pytest.raises(ValueError, match="not a date/time"):
        parse_time(value, "Asia/Shanghai")
