"""qc/pii: one module recognises and masks personal numbers for rule evidence, the web app and exports.

Table tests: presidio's own recogniser test vectors (credit cards, phones, US SSNs), the number forms people type
and ASR writes that the old maskers missed, and near misses that must stay in clear.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from qc.pii import analyze, contains_unmasked_pii, default_registry, mask_field, mask_phone_field, mask_pii
from qc.pii.normalise import normalise
from qc.pii.recogniser import PatternRecogniser

PII_DIR = Path(__file__).resolve().parent.parent / "qc" / "pii"

# ---- presidio's recogniser test vectors ------------------------------------------------------------------
# Source: microsoft/presidio, presidio-analyzer/tests/test_credit_card_recognizer.py (every test_valid_* and
# test_invalid_* case), written out here as (text, the card numbers in it).
PRESIDIO_CARDS_VALID = [
    ("4012888888881881 4012-8888-8888-1881 4012 8888 8888 1881",
     ["4012888888881881", "4012-8888-8888-1881", "4012 8888 8888 1881"]),
    ("122000000000003", ["122000000000003"]),                      # AirPlus
    ("my credit card: 122000000000003", ["122000000000003"]),
    ("371449635398431", ["371449635398431"]),                      # Amex
    ("5555555555554444", ["5555555555554444"]),                    # Carte Bleue, Mastercard
    ("5019717010103742", ["5019717010103742"]),                    # Dankort
    ("30569309025904", ["30569309025904"]),                        # Diners, 14 digits
    ("6011000400000000", ["6011000400000000"]),                    # Discover
    ("3528000700000000", ["3528000700000000"]),                    # JCB
    ("6759649826438453", ["6759649826438453"]),                    # Maestro
    ("4111111111111111", ["4111111111111111"]),                    # Visa, Visa debit
    ("4917300800000000", ["4917300800000000"]),                    # Visa Electron
    ("4484070000000000", ["4484070000000000"]),                    # Visa purchasing
]
# Luhn-invalid: presidio finds no card, with or without context; they stay in clear.
PRESIDIO_CARDS_INVALID = ["4012-8888-8888-1882", "my credit card number is 4012-8888-8888-1882",
                          "36168002586008", "my credit card number is 36168002586008"]

# Source: microsoft/presidio, presidio-analyzer/tests/test_phone_recognizer.py (test_when_all_phones_then_succeed,
# the leniency cases and the textual-explanation cases): every number presidio finds.
PRESIDIO_PHONES = [
    ("My US number is (415) 555-0132, and my international one is +1 415 555 0132",
     ["(415) 555-0132", "+1 415 555 0132"]),
    ("My Israeli number is 09-7625400", ["09-7625400"]),
    ("_: (415)555-0132", ["(415)555-0132"]),
    ("United States: (415)555-0132", ["(415)555-0132"]),
    ("US: 415-555-0132", ["415-555-0132"]),
    ("_: +55 11 98456 5666", ["+55 11 98456 5666"]),
    ("Brazil: +55 11 98456 5666", ["+55 11 98456 5666"]),
    ("BR: +55 11 98456 5666", ["+55 11 98456 5666"]),
    ("My Japanese number is 090-1234-5678", ["090-1234-5678"]),
    ("My CN number is 13812345678", ["13812345678"]),
    ("My UK number is 020 7946 0958", ["020 7946 0958"]),
    ("My US number is (415) 555-0132, and my international one is415-555-0132", ["(415) 555-0132", "415-555-0132"]),
    ("My US number is (415) 555-0132, and my international one is 91-415-555-0132", ["415-555-0132"]),
    ("My US number is (415) 555-0132, and my international one is +91 4155 550132", ["+91 4155 550132"]),
    ("My US number is (415) 555-0132, and my international one is +91 4155550132", ["+91 4155550132"]),
    ("My US number is (415) 555-0132, and my international one is +44 (20) 7123 4567", ["+44 (20) 7123 4567"]),
    ("My US number is (415) 555-0132, and my international one is +55 11 98456 5666", ["+55 11 98456 5666"]),
    ("My US number is (415) 555-0132, and my international one is +49 30 1234567", ["+49 30 1234567"]),
    ("My US number is (415) 555-0132, and my international one is +39 06 678 4343", ["+39 06 678 4343"]),
    ("My US number is (415) 555-0132, and my international one is +30 21 0 1234567", ["+30 21 0 1234567"]),
    ("My US number is (415) 555-0132, and my international one is +33 1 42 68 53 00", ["+33 1 42 68 53 00"]),
    ("call (415) 555-0132 please", ["(415) 555-0132"]),
    ("+44 20 7946 0958 or (415) 555-0132 now", ["+44 20 7946 0958", "(415) 555-0132"]),
    ("(415) 555-0132 and +44 20 7946 0958 and (212) 555-0187",
     ["(415) 555-0132", "+44 20 7946 0958", "(212) 555-0187"]),
    ("+1 212 555 0187 or 020 7946 0958", ["+1 212 555 0187", "020 7946 0958"]),
]

# Source: microsoft/presidio, presidio-analyzer/tests/test_us_ssn_recognizer.py (the very weak, weak, medium and
# no-match cases of test_all_us_ssns).
PRESIDIO_SSNS_VALID = [
    ("078-051121 07805-1121", ["078-051121", "07805-1121"]),
    ("078051121", ["078051121"]),
    ("078-05-1123", ["078-05-1123"]),
    ("078.05.1123", ["078.05.1123"]),
    ("078 05 1123", ["078 05 1123"]),
    ("abc 078 05 1123 abc", ["078 05 1123"]),
]
PRESIDIO_SSNS_INVALID = ["0780511201", "078051120", "000000000", "666000000", "078-05-0000", "078 00 1123",
                         "693-09.4444"]


def _digits(text: str) -> str:
    return re.sub(r"\D", "", normalise(text))


def _assert_hidden(text: str, numbers: list[str]) -> str:
    masked = mask_pii(text)
    assert len(masked) == len(text)
    for number in numbers:
        assert number not in masked, (text, masked)
        start = text.index(number)
        shown = _digits(masked[start:start + len(number)])
        assert len(shown) <= 7 and shown.endswith(_digits(number)[-4:]), (number, masked)
    assert not contains_unmasked_pii(masked), masked
    return masked


@pytest.mark.parametrize(("text", "numbers"), PRESIDIO_CARDS_VALID + PRESIDIO_PHONES + PRESIDIO_SSNS_VALID)
def test_presidio_positive_vectors_are_masked(text, numbers):
    _assert_hidden(text, numbers)


@pytest.mark.parametrize("text", PRESIDIO_CARDS_INVALID + PRESIDIO_SSNS_INVALID)
def test_presidio_negative_vectors_stay_in_clear(text):
    assert mask_pii(text) == text
    assert not analyze(text, ["BANK_CARD", "US_SSN"])


def test_presidio_vector_counts():
    """The issue's count: 15 card, 16+ distinct phone and 7 SSN positives run through the one module."""
    cards = {n for _, numbers in PRESIDIO_CARDS_VALID for n in numbers}
    phones = {n for _, numbers in PRESIDIO_PHONES for n in numbers}
    ssns = [n for _, numbers in PRESIDIO_SSNS_VALID for n in numbers]
    assert len(cards) == 14 and sum(len(n) for _, n in PRESIDIO_CARDS_VALID) == 15
    assert len(phones) >= 16 and len(ssns) == 7


# ---- the forms people type and ASR writes ----------------------------------------------------------------

FORMS = [
    # mainland mobiles: first 3 and last 4 digits kept, whatever the spelling
    ("我的手机13812345678", "我的手机138****5678"),
    ("１３７００００１１１１", "１３７****１１１１"),                       # full-width digits
    ("137.0000.1111", "137.****.1111"),
    ("137  0000  1111", "137  ****  1111"),
    ("(137)00001111", "(137)****1111"),
    ("137，0000，1111", "137，****，1111"),                               # Chinese comma
    ("电话 138-1234-5678 找我", "电话 138-****-5678 找我"),
    ("电话幺三八幺二三四五六七八", "电话幺三八****五六七八"),                # Whisper's spoken digits
    ("打一五九零零零零一二三四", "打一五九****一二三四"),
    ("+86 131 1234 6630", "+86 131 **** 6630"),
    ("1 3 8 1 2 3 4 5 6 7 8", "1 3 8 * * * * 5 6 7 8"),
    # 18-digit ID numbers with a valid GB 11643 check character: last 4 kept
    ("身份证110101199003071233", "身份证**************1233"),
    ("身份证号11010519491231002X。", "身份证号**************002X。"),
    ("id 11010519491231002x", "id **************002x"),
    ("身份证 110101 19900307 1233", "身份证 ****** ******** 1233"),
    # bank cards: last 4 kept; UnionPay numbers without a Luhn digit too
    ("6225  8899  1234  5678", "****  ****  ****  5678"),
    ("卡号6222021234567890", "卡号************7890"),
    ("卡号 6222 0212 3456 7890 123", "卡号 **** **** **** ***0 123"),
    ("AmEx 378282246310005", "AmEx ***********0005"),
    # landlines and US numbers
    ("座机010-12345678", "座机***-****5678"),
    ("座机 0755 8765 4321", "座机 **** **** 4321"),
    ("家里座机 87654321", "家里座机 ****4321"),                           # local number after a context word
    ("call (555) 123-4567 now", "call (***) ***-4567 now"),
    ("5551234567", "******4567"),
    ("1-800-555-0132", "1-***-***-0132"),
    ("SSN 123-45-6789", "SSN ***-**-6789"),
    ("SSN 123 45 6789", "SSN *** ** 6789"),
]


@pytest.mark.parametrize(("text", "expected"), FORMS)
def test_number_forms_are_masked(text, expected):
    assert mask_pii(text) == expected
    assert not contains_unmasked_pii(expected)


NEAR_MISSES = [
    "欠款12000元，逾期90天",
    "欠款 12,000,000 元",
    "还款金额￥123456789",
    "2026-11-05 09:36:19",
    "05-11-2026 10:30",
    "2026年11月05日",
    "工号四七一二",
    "我工号10086321",
    "工号：123456789",
    "账户 YFCC0027719358",
    "后四位二六一九",
    "138****5621",
    "单号13812345678901234567",   # 20 digits is no known number: masking a phone out of it would show the rest
    "87654321",                  # a bare 8-digit number is no landline without 座机 / 电话 before it
    "编号110101199013071234",     # 18 digits without a real birth date (month 13): no ID number, no Luhn card
    "",
]


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_stay_in_clear(text):
    assert mask_pii(text) == text
    assert not contains_unmasked_pii(text)


def test_none_is_empty():
    assert mask_pii(None) == ""


def test_normalise_keeps_positions():
    text = "１３７－００００，一一一一　幺两（）"
    normalised = normalise(text)
    assert len(normalised) == len(text) and normalised == "137-0000,1111 12()"


def test_check_digits_decide_through_the_validate_hook():
    (card,) = analyze("4012888888881881")
    assert (card.entity, card.score) == ("BANK_CARD", 1.0)
    assert analyze("4012888888881882") == []
    (identity,) = [r for r in analyze("110101199003071233") if r.entity == "CN_ID_CARD"]
    assert identity.score == 1.0
    # a wrong check digit (one digit misheard) with a real birth date and place: still masked, at a lower score
    (misheard,) = analyze("110101199003071234")
    assert misheard.entity == "CN_ID_CARD" and misheard.score < 1.0
    assert mask_pii("110101199003071234") == "**************1234"
    assert analyze("110101199013071234") == []


def test_context_words_raise_the_score():
    (plain,) = analyze("078 05 1123")
    (with_context,) = analyze("my ssn is 078 05 1123")
    assert with_context.score > plain.score
    assert analyze("87654321") == [] and analyze("座机87654321")[0].entity == "CN_LANDLINE"


@pytest.mark.parametrize(("value", "expected"), [
    ("13112346630", "131****6630"),
    ("+86 131 1234 6630", "+86 1** **** 6630"),
    ("131****6630", "131****6630"),
    ("95588", "***88"),
    ("", ""),
    (None, ""),
])
def test_phone_field(value, expected):
    assert mask_phone_field(value) == expected


def test_identifier_field():
    assert mask_field("YFCC0027719358") == "**********9358"
    assert mask_field("13812345678") == "*******5678"
    assert mask_field("****5678") == "****5678"


def test_one_recogniser_per_file_registered_and_domain_only():
    files = sorted(p for p in (PII_DIR / "recognisers").glob("*.py") if p.name != "__init__.py")
    classes = {}
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
        assert len(defined) == 1, (path.name, defined)
        classes[defined[0]] = path
    assert {type(r).__name__ for r in default_registry.recognisers} == set(classes)
    assert all(isinstance(r, PatternRecogniser) for r in default_registry.recognisers)
    for path in PII_DIR.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "import callqc" not in source and "from callqc" not in source, path
