"""qc.textnorm: normalised text for matching, and spans mapped back to the original text."""

from __future__ import annotations

import pytest

from qc.textnorm import normalize, normalize_for_matching, normalize_lines, split_sentences

CASES = [
    # (original, language, normalised)
    ("欠款一万二千元", "zh", "欠款12000元"),
    ("欠款12,000元", "zh", "欠款12000元"),
    ("欠款1万2千元", "zh", "欠款12000元"),
    ("工号四七一二", "zh", "工号4712"),
    ("工号零三八五", "zh", "工号0385"),  # digit-by-digit keeps the leading zero
    ("打一二三七八投诉", "zh", "打12378投诉"),
    ("一万零八百二十元", "zh", "10820元"),
    ("两万一千六百多块", "zh", "21600多块"),
    ("1.5万", "zh", "15000"),
    ("千万别这样", "zh", "千万别这样"),  # not a number: left alone
    ("為什麼不還錢？會起訴您", "zh", "为什么不还钱|会起诉您"),
    ("ＡＢＣ１２３ 今天　晚上", "zh", "abc123今天晚上"),
    ("尾号8803，200元", "zh", "尾号8803|200元"),  # a Chinese comma is a clause break, not a thousands separator
    ("This is an attempt to collect a debt.  Pay 1,234.50", "en", "this is an attempt to collect a debt| pay 1234.50"),
    ("His past-due account — call us", "en", "his past due account | call us"),  # a hyphen joins words, a dash breaks
    ("过期-逾期", "zh", "过期|逾期"),
]


@pytest.mark.parametrize("original,language,expected", CASES)
def test_normalised_text(original, language, expected):
    assert normalize_for_matching(original, language) == expected
    assert normalize(original, language).text == expected


@pytest.mark.parametrize("original,language,expected", CASES)
def test_every_normalised_character_maps_into_the_original(original, language, expected):
    normalised = normalize(original, language)
    assert len(normalised.starts) == len(normalised.text) == len(normalised.ends)
    for start, end in zip(normalised.starts, normalised.ends):
        assert 0 <= start < end <= len(original)


def test_spans_come_back_in_the_original_text():
    normalised = normalize("好的，欠款一萬二千元，工号四七一二。")
    at = normalised.text.index("12000")
    assert normalised.original_text(at, at + 5) == "一萬二千"
    at = normalised.text.index("工号4712")
    assert normalised.original_text(at, at + 6) == "工号四七一二"


def test_phrase_and_text_meet_whichever_way_numbers_are_written():
    assert normalize_for_matching("一万二千") in normalize_for_matching("欠了12000块")
    assert normalize_for_matching("12000") in normalize_for_matching("欠了一万二千块")


def test_normalize_lines_equals_line_by_line():
    lines = ["喂，您好", "欠款一萬二千元", "工号四七一二", "", "ok, 12,000 dollars"]
    assert normalize_lines(lines) == [normalize_for_matching(line) for line in lines]


def test_fast_number_conversion_equals_the_run_regex():
    """The scoring path converts numbers with one translate plus cn2an on unit blocks only; it must give exactly
    what the run regex gives, on the sample calls and on random strings of numerals, digits, dots and words."""
    import random

    from qc.textnorm import _NUMBER_RUN, _convert_numbers, _number_replacement
    from tests.rules_fixtures import load_shared_call, shared_call_ids

    texts = [segment.text for call_id in shared_call_ids() for segment in load_shared_call(call_id)[1].segments]
    rng = random.Random(3)
    alphabet = "零〇一二两三四五六七八九十百千万亿0123456789.块元号|，别这"
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))) for _ in range(3000)]
    for text in texts:
        assert _convert_numbers(text) == _NUMBER_RUN.sub(_number_replacement, text), text


@pytest.mark.parametrize("text,sentences", [
    ("Sure. Your lawyer doesn't have to know. Can you do a hundred?",
     ["Sure. Your lawyer doesn't have to know.", "Can you do a hundred?"]),  # "Sure." is too light alone
    ("Could I get Ms. Cole's number? We'll call her office.", ["Could I get Ms. Cole's number?", "We'll call her office."]),
    ("The balance is 1,234.50 today. Thanks.", ["The balance is 1,234.50 today. Thanks."]),  # no end inside a number
    ("好的。您说的情况我记下了，我们不会再打扰您。请问还有别的吗？", ["好的。您说的情况我记下了，我们不会再打扰您。", "请问还有别的吗？"]),
    ("its not harassment if you owe money so what are we doing today", ["its not harassment if you owe money so what are we doing today"]),
    ("", []),
])
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences
