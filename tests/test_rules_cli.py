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


# ---- one scorer: `callqc score` scores as the nightly does ----------------------------------------------
def _transcript_file(tmp_path, call_id):
    call, transcript, _ = load_shared_call(call_id)
    path = tmp_path / f"{call_id}.json"
    path.write_text(json.dumps(transcript.to_dict() | {"call": call.to_dict()}, ensure_ascii=False), encoding="utf-8")
    return path, call, transcript


def _comparable(findings):
    return [(f["rule_id"], list(f["segment_ids"]), f["text"], f["source"], f["score"]) for f in findings]


def test_score_and_nightly_agree_with_promoted_models(sqlite_url, store, tmp_path):
    """The same transcript through `callqc score` and through the nightly's pack, model scorer and scoring
    function (flows.nightly, run here without a Prefect server) gives the same findings and model versions;
    `--rules-only` is the pure pack dry run."""
    import dataclasses

    import yaml

    from callqc import db
    from callqc.pipeline import score_recording
    from callqc.settings import load_settings
    from callqc.pipeline import rule_pack
    from flows.nightly import _model_scorer
    from callqc.model_registry import promote, register_model
    from callqc.model_registry import clear_loaded_scorers
    from qc.models.training import TrainingOptions, train_violation
    from qc.scoring import ScoringOptions, score_call

    factory = db.session_factory(db.make_engine(sqlite_url))
    version = promote(factory, register_model(train_violation(TrainingOptions(seed=0)), factory, store).version).version
    settings_file = tmp_path / "callqc.yaml"
    data = store.settings.model_dump(mode="json")
    data["database"]["url"] = sqlite_url
    settings_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings = load_settings(settings_file)
    clear_loaded_scorers()
    try:
        for call_id in ("callA_04", "callA_05", "callA_01"):
            path, call, transcript = _transcript_file(tmp_path, call_id)
            result = CliRunner().invoke(_app(), ["score", str(path), "--json", "--settings", str(settings_file)])
            assert result.exit_code == 0, result.output
            dry = json.loads(result.stdout)
            assert dry["models"] == version and dry["models_note"] is None

            scorer = _model_scorer(settings)[0]
            pack = rule_pack(settings, settings.rule_pack_for(call.agency))
            nightly = score_recording(call, transcript, None, pack, scorer=scorer,
                                      options=ScoringOptions.from_settings(settings))
            assert nightly.model_version == version
            assert (dry["pack"], dry["pack_version"]) == (pack.name, pack.version)
            assert _comparable(dry["findings"]) == _comparable([dataclasses.asdict(f) for f in nightly.score.findings])
            assert (dry["score"], dry["flagged"]) == (nightly.score.score, nightly.score.flagged)

            rules = CliRunner().invoke(_app(), ["score", str(path), "--json", "--rules-only",
                                                "--settings", str(settings_file)])
            pure = json.loads(rules.stdout)
            assert pure["models"] is None and "--rules-only" in pure["models_note"]
            assert {f["source"] for f in pure["findings"]} <= {"rule"}
            plain = score_call(call, transcript, pack)
            assert [f["rule_id"] for f in pure["findings"]] == [f.rule_id for f in plain.findings]
    finally:
        clear_loaded_scorers()


def test_score_says_when_it_scores_with_rules_only(tmp_path, sqlite_url):
    """No promoted model: the dry run still scores, with the rules alone, and says so."""
    import yaml

    from callqc.settings import load_settings

    settings = load_settings().model_dump(mode="json")
    settings["database"]["url"] = sqlite_url
    settings_file = tmp_path / "callqc.yaml"
    settings_file.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    path, _, _ = _transcript_file(tmp_path, "callA_02")
    result = CliRunner().invoke(_app(), ["score", str(path), "--settings", str(settings_file)])
    assert result.exit_code == 0, result.output
    assert "models none" in result.stdout and "no promoted violation model" in result.output
