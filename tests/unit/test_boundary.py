"""The input boundary's pure checks, and the intake rules that run behind it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.intake.actions import parse_command
from services.intake.crypto import petitioner_key
from services.intake.lifecycle import ActionInvalid
from services.intake.normalise import (
    fold_digits,
    normalise_phone,
    normalise_resident_id,
    out_of_range,
    parse_rfc3339,
)
from shared.platform.boundary import (
    INT32_MAX,
    ParamInvalid,
    int_param,
    json_problems,
    number_problem,
    pair_problems,
    text_problem,
)
from shared.platform.clock import iso

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(("text", "allowed", "expect"), [
    ("普通文字 plain", "", None),
    ("a\x00b", "", "NUL"),
    ("a\x1bb", "", "U+001B"),
    ("a\x7fb", "", "U+007F"),
    ("a\x85b", "", "U+0085"),
    ("a\nb", "", "U+000A"),
    ("a\nb\tc\r", "\t\n\r", None),
    ("\ud800", "", "surrogate"),
    ("\uffff", "", "U+FFFF"),
    ("x" * 11, "", "at most 10"),
])
def test_text_problem(text: str, allowed: str, expect: str | None) -> None:
    why = text_problem(text, limit=10, allowed=allowed)
    assert (why is None) if expect is None else (why is not None and expect in why), why


def test_numbers_must_fit_32_bits() -> None:
    assert number_problem(INT32_MAX) is None and number_problem(-INT32_MAX - 1) is None
    assert number_problem(INT32_MAX + 1) and number_problem(1e22)


def test_json_problems_name_the_dotted_path() -> None:
    doc = {"title": "ok", "petitioner": {"name": "张\x00三"}, "holidays": ["x", "\x01"],
           "signers": 2**40, "anonymous": True, "note": None, "bad\x00key": 1}
    assert [f for f, _ in json_problems(doc)] == ["petitioner.name", "holidays[1]",
                                                  "signers", "body"]
    assert list(json_problems("\x00")) == [("body", "must not contain NUL characters")]


def test_pair_problems_decode_strictly_and_name_the_parameter() -> None:
    assert list(pair_problems("code=abc&unit=%E5%90%89", where="query")) == []
    assert [f for f, _ in pair_problems("code=%FF&unit=%00&x=a%0Ab", where="query")] == [
        "code", "unit", "x"]
    assert [f for f, _ in pair_problems("%FF=1", where="query")] == ["query"]
    # A form body may carry line breaks in its free text; a query may not.
    assert list(pair_problems("description=a%0Ab", where="body")) == []
    assert [f for f, _ in pair_problems("&".join(["a=1"] * 101), where="query")] == ["query"]


@pytest.mark.parametrize("text", ["99999999999999999999", "²", "١", "1.5", "", "abc", "0"])
def test_int_param_refuses_what_is_not_a_small_whole_number(text: str) -> None:
    with pytest.raises(ParamInvalid) as exc:
        int_param(text, "version", minimum=1)
    assert exc.value.field == "version"


def test_int_param_accepts_the_range() -> None:
    assert int_param(" 42 ", "limit", minimum=1, maximum=100) == 42
    assert int_param(str(INT32_MAX), "version", minimum=1) == INT32_MAX


def test_fold_digits_turns_full_width_and_other_decimal_digits_into_ascii() -> None:
    assert fold_digits("３６０８０２１９８００１０１１２３Ｘ") == "36080219800101123X"
    assert fold_digits("١٣٨٠٠١٣٨٠٠٠") == "13800138000"  # Arabic-Indic
    assert fold_digits("１３８ ００１３ ８０００") == "138 0013 8000"


def test_full_width_id_and_phone_normalise_to_the_ascii_forms_and_one_key() -> None:
    ident = "11010519491231002X"
    wide = "".join(chr(ord(c) + 0xFEE0) for c in ident)
    assert normalise_resident_id(wide, today=date(2026, 1, 1)) == ident
    assert normalise_phone("＋８６ １３８００１３８０００") == "13800138000"
    key = bytes(32)
    assert petitioner_key(key, id_number=wide, phone=None) == petitioner_key(
        key, id_number=ident, phone=None)
    assert petitioner_key(key, id_number=None, phone="１３８００１３８０００") == petitioner_key(
        key, id_number=None, phone="13800138000")


@pytest.mark.parametrize(("text", "why"), [
    ("0001-01-01T00:00:00+08:00", "before 1990-01-01"),
    ("1989-12-31T23:59:59+08:00", "before 1990-01-01"),
    ("9999-12-31T23:59:59-08:00", "future"),
    ("2026-06-01T20:10:00+08:00", "future"),  # 12:10 UTC: beyond the five minutes of skew
])
def test_out_of_range_compares_without_overflow(text: str, why: str) -> None:
    problem = out_of_range(parse_rfc3339(text), earliest=date(1990, 1, 1), now=NOW)
    assert problem is not None and why in problem


def test_in_range_moments_pass() -> None:
    for text in ("1990-01-01T00:00:00+08:00", "2026-06-01T20:04:00+08:00"):
        assert out_of_range(parse_rfc3339(text), earliest=date(1990, 1, 1), now=NOW) is None


def test_full_width_digits_are_not_an_rfc3339_date() -> None:
    with pytest.raises(ValueError):
        parse_rfc3339("２０２６-01-01T00:00:00+08:00")


def test_an_action_dated_year_one_is_a_field_error() -> None:
    with pytest.raises(ActionInvalid) as exc:
        parse_command({"action": "accept", "at": "0001-01-01T00:00:00+08:00"}, now=NOW)
    assert [e.field for e in exc.value.errors] == ["at"]


def test_iso_renders_rfc3339_offsets_even_for_local_mean_time() -> None:
    assert iso(datetime(2026, 6, 1, 4, tzinfo=UTC)) == "2026-06-01T12:00:00+08:00"
    assert iso(datetime(1900, 3, 1, 1, 0, tzinfo=UTC)) == "1900-03-01T01:00:00Z"
