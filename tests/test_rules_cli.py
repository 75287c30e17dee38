"""`callqc score` and `callqc rules validate` through typer's runner (the area's own app)."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from callqc.commands import rules
from rules_fixtures import load_shared_call

BROKEN = "tests/rules_cases/broken/unknown_reference.yaml"


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("noop")(lambda: None)  # a second command so typer keeps sub-command names
    rules.register(app)
    return app


def test_score_json_transcript_with_call_metadata(tmp_path):
    call, transcript, _ = load_shared_call("callA_06")
    payload = transcript.to_dict() | {"call": call.to_dict()}
    path = tmp_path / "callA_06.json"
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(_app(), ["score", str(path), "--pack", "cn_collection", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["flagged"] is True and data["score"] < 80
    categories = {f["category"] for f in data["findings"]}
    assert {"calling_hours", "pressure", "missing_self_identification"} <= categories
    assert set(data["findings"][0]) >= {"rule_id", "category", "severity", "speaker", "start", "end", "text"}


def test_score_plain_text_lines(tmp_path):
    path = tmp_path / "call.txt"
    path.write_text("agent: 您好，这边是联众催收服务公司，工号零三八五\ncustomer: 嗯\nagent: 你就是个老赖\n", encoding="utf-8")
    result = CliRunner().invoke(_app(), ["score", str(path), "--pack", "cn_collection"])
    assert result.exit_code == 0, result.output
    assert "CN-07" in result.stdout and "老赖" in result.stdout and "FLAGGED" in result.stdout


def test_score_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / "call.txt"
    path.write_text("agent: 您好\nthis line has no speaker\n", encoding="utf-8")
    result = CliRunner().invoke(_app(), ["score", str(path), "--pack", "cn_collection"])
    assert result.exit_code == 2
    assert "line 2" in result.output and "call.txt" in result.output


def test_validate_ok_and_broken():
    runner = CliRunner()
    ok = runner.invoke(_app(), ["rules", "validate", "cn_collection", "us_fdcpa"])
    assert ok.exit_code == 0 and ok.stdout.count(": ok") == 2
    bad = runner.invoke(_app(), ["rules", "validate", BROKEN])
    assert bad.exit_code == 1 and "rule 'R2'" in bad.output and "R9" in bad.output
