"""Masking of phone, ID-card and bank-card numbers: a table of (text, expected) pairs."""

from __future__ import annotations

import pytest

from callqc.web.masking import contains_unmasked_pii, mask_phone, mask_pii

CASES = [
    # mobile phones: first 3 and last 4 digits kept
    ("我的手机13812345678", "我的手机138****5678"),
    ("电话 138-1234-5678 找我", "电话 138-****-5678 找我"),
    ("电话幺三八幺二三四五六七八", "电话幺三八****五六七八"),  # Whisper's spoken digits
    ("打一五九零零零零一二三四", "打一五九****一二三四"),
    # 18-digit China ID numbers (checksum X too): last 4 kept
    ("身份证110101199003071234", "身份证**************1234"),
    ("身份证号11010119900307123X。", "身份证号**************123X。"),
    ("id 11010119900307123x", "id **************123x"),
    # bank cards (15–19 digits, grouped or not): last 4 kept
    ("卡号6222021234567890", "卡号************7890"),
    ("卡号 6222 0212 3456 7890 123", "卡号 **** **** **** ***0 123"),
    ("AmEx 378282246310005", "AmEx ***********0005"),
    # landlines and US numbers
    ("座机010-12345678", "座机***-****5678"),
    ("call (555) 123-4567 now", "call (***) ***-4567 now"),
    ("SSN 123-45-6789", "SSN ***-**-6789"),
    # left alone: short numbers, amounts, dates, staff numbers, numbers already masked
    ("后四位二六一九", "后四位二六一九"),
    ("欠款12000元，逾期90天", "欠款12000元，逾期90天"),
    ("2026-11-05 09:36:19", "2026-11-05 09:36:19"),
    ("工号四七一二", "工号四七一二"),
    ("138****5621", "138****5621"),
    ("", ""),
    (None, ""),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_mask_pii(text, expected):
    assert mask_pii(text) == expected
    assert not contains_unmasked_pii(mask_pii(text))


def test_a_longer_run_is_not_masked_as_a_phone_inside_it():
    # 20 digits is no known number: masking a phone out of its middle would leave the rest readable.
    text = "单号13812345678901234567"
    assert mask_pii(text) == text
    assert not contains_unmasked_pii(text)


@pytest.mark.parametrize(("number", "expected"), [
    ("13112346630", "131****6630"),
    ("+86 131 1234 6630", "+86 1** **** 6630"),
    ("131****6630", "131****6630"),
    ("95588", "***88"),
    ("", ""),
    (None, ""),
])
def test_mask_phone_field(number, expected):
    assert mask_phone(number) == expected
