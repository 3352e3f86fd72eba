"""Masking resident IDs and mobile numbers in free text."""

from __future__ import annotations

import pytest

from shared.domain.scrub import MOBILE_MARK, RESIDENT_ID_MARK, mask_personal_data


@pytest.mark.parametrize(("text", "expect", "ids", "mobiles"), [
    ("我的身份证号是36080219800101123X，请联系。",
     f"我的身份证号是{RESIDENT_ID_MARK}，请联系。", 1, 0),
    ("身份证 360802 19800101 123x 。", f"身份证 {RESIDENT_ID_MARK} 。", 1, 0),
    ("电话13800138000或+86 138-0013-8000", f"电话{MOBILE_MARK}或{MOBILE_MARK}", 0, 2),
    ("电话：１３８００１３８０００，身份证３６０８０２１９８００１０１１２３Ｘ",
     f"电话：{MOBILE_MARK}，身份证{RESIDENT_ID_MARK}", 1, 1),
    ("手机 ١٣٨٠٠١٣٨٠٠٠", f"手机 {MOBILE_MARK}", 0, 1),
])
def test_ids_and_mobiles_are_masked_and_the_rest_kept_as_typed(
        text: str, expect: str, ids: int, mobiles: int) -> None:
    masked = mask_personal_data(text)
    assert (masked.text, masked.resident_ids, masked.mobiles) == (expect, ids, mobiles)
    assert masked.changed


@pytest.mark.parametrize("text", [
    "2024年收费3800元，共12名学生。",
    "案件编号XF-2026-000123，座机0796-8123456。",
    "订单号1380013800012345（20位以内的其他长数字不是手机号）",
    "第12138000138号文件",
    "",
])
def test_other_numbers_are_left_alone(text: str) -> None:
    masked = mask_personal_data(text)
    assert masked.text == text and not masked.changed


def test_an_id_is_not_also_counted_as_a_mobile() -> None:
    masked = mask_personal_data("11010519491231002X")
    assert (masked.resident_ids, masked.mobiles) == (1, 0)
