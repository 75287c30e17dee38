"""Every validation error has a deliberately broken pack in tests/rules_cases/broken/; loading it fails with
a RulePackError naming the file, the rule id, the field and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from qc.rules.pack import RulePackError, load_pack

BROKEN = Path(__file__).parent / "rules_cases" / "broken"

# file → (rule id or None, field or None, a fragment of the reason)
EXPECTED = {
    "not_yaml.yaml": (None, None, "not valid YAML"),
    "not_mapping.yaml": (None, None, "top level must be a mapping"),
    "missing_rules.yaml": (None, "rules", "Field required"),
    "bad_language.yaml": (None, "language", "'zh' or 'en'"),
    "unknown_type.yaml": ("R1", "type", "unknown or missing rule type 'sentiment'"),
    "missing_type.yaml": ("R1", "type", "unknown or missing rule type None"),
    "bad_severity.yaml": ("R1", "severity", "'info', 'minor', 'major' or 'critical'"),
    "bad_scope.yaml": ("R1", "scope", "'agent', 'customer' or 'any'"),
    "unknown_field.yaml": ("R1", "phrase", "Extra inputs are not permitted"),
    "missing_source.yaml": ("R1", "source", "must cite its regulation source"),
    "empty_phrases.yaml": ("R1", "phrases", "at least 1 item"),
    "punctuation_phrase.yaml": ("R1", "phrases", "empty after normalisation"),
    "n_of_without_n.yaml": ("R1", None, "mode n_of needs n"),
    "n_too_large.yaml": ("R1", None, "n=3 is more than the 2 phrase groups"),
    "bad_regex.yaml": ("R1", "patterns", "invalid regular expression"),
    "bad_exclude_regex.yaml": ("R1", "exclude_patterns", "invalid regular expression"),
    "proximity_two_distances.yaml": ("R1", None, "exactly one of within_chars or within_seconds"),
    "required_nothing.yaml": ("R1", None, "give phrases or patterns"),
    "bad_time.yaml": ("R1", "forbidden[0].start", "time"),
    "window_both.yaml": ("R1", None, "either allowed or forbidden"),
    "bad_timezone.yaml": ("R1", "default_timezone", "unknown timezone 'Mars/Olympus'"),
    "frequency_no_window.yaml": ("R1", None, "exactly one of window_days or window_hours"),
    "negative_max.yaml": ("R1", "max", "greater than or equal to 0"),
    "duplicate_id.yaml": ("R1", "id", "duplicate rule id"),
    "unknown_reference.yaml": ("R2", "rules", "unknown rule 'R9'"),
    "reference_cycle.yaml": ("R1", "rules", "reference cycle"),
    "bad_threshold.yaml": ("R1", "threshold", "less than or equal to 1"),
    "bad_category.yaml": ("R1", "category", "should match pattern"),
    "bad_weight.yaml": (None, "scorecard.weights.huge[key]", "Input should be"),
    "speech_rate_no_limit.yaml": ("R1", None, "give max_rate or min_rate"),
    "unknown_lexicon.yaml": ("R1", "phrases", "unknown lexicon '@agencies' (pack lexicons: @agency_names)"),
}


def test_every_fixture_has_an_expectation():
    assert sorted(p.name for p in BROKEN.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("file_name", sorted(EXPECTED))
def test_broken_pack_is_rejected_with_file_rule_field_and_reason(file_name):
    rule_id, field, reason = EXPECTED[file_name]
    with pytest.raises(RulePackError) as caught:
        load_pack(BROKEN / file_name)
    error = caught.value
    assert error.file.endswith(file_name) and file_name in str(error)
    assert any(
        p_rule == rule_id and (field is None or p_field == field) and reason in p_reason
        for p_rule, p_field, p_reason in error.problems
    ), error.problems
    if rule_id:
        assert f"rule '{rule_id}'" in str(error)


def test_missing_pack_names_the_shipped_ones():
    with pytest.raises(RulePackError, match="cn_collection, us_fdcpa"):
        load_pack("no_such_pack")


@pytest.mark.parametrize("name", ["cn_collection", "us_fdcpa"])
def test_shipped_packs_load_with_content_hash_version(name):
    pack = load_pack(name)
    assert pack.name == name and len(pack.version) == 12
    assert all(rule.config.source for rule in pack.rules if rule.config.report)
