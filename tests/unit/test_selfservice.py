"""The public self-service bodies: every bad field named, whatever JSON type it arrives as;
the review reason masked; what the petitioner may still do."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.intake.lifecycle import Action, ActionInvalid
from services.intake.selfservice import parse, public_allowed


def fields(action: Action, body: Any) -> list[str]:
    with pytest.raises(ActionInvalid) as caught:
        parse(action, body)
    return sorted(e.field for e in caught.value.errors)


@pytest.mark.parametrize("rating", [{}, [], None, 3, True, "great", "SATISFIED"])
def test_a_rating_that_is_not_one_of_the_three_is_named(rating: Any) -> None:
    assert fields(Action.RATE, {"code": "ABC", "rating": rating}) == ["rating"]


@pytest.mark.parametrize("code", [None, "", "  ", 7, {}, "x" * 65])
def test_a_missing_or_odd_code_is_named(code: Any) -> None:
    assert fields(Action.RATE, {"code": code, "rating": "satisfied"}) == ["code"]


def test_unknown_fields_and_a_body_that_is_not_an_object() -> None:
    assert fields(Action.RATE, {"code": "A", "rating": "satisfied", "reason": "x"}) == [
        "reason"]
    assert fields(Action.REQUEST_REVIEW, ["code"]) == ["body"]
    assert fields(Action.REQUEST_REVIEW, {"code": "A", "reason": ["x"]}) == ["reason"]
    assert fields(Action.REQUEST_REVIEW, {"code": "A", "reason": "x" * 2001}) == ["reason"]


def test_the_review_reason_is_masked_and_the_code_trimmed() -> None:
    code, command = parse(Action.REQUEST_REVIEW,
                          {"code": " ABC ", "reason": "请复查，电话13800138000"})
    assert code == "ABC" and command.reason is not None
    assert "13800138000" not in command.reason and command.action is Action.REQUEST_REVIEW


def test_what_the_petitioner_may_still_do() -> None:
    today = date(2026, 12, 1)
    assert public_allowed("feedback_given", date(2026, 12, 1), today) == [
        "rate", "request_review"]
    assert public_allowed("feedback_given", date(2026, 11, 30), today) == ["rate"]
    assert public_allowed("rated", None, today) == ["request_review"]
    assert public_allowed("replied", None, today) == []
    assert public_allowed("review_requested", date(2027, 1, 1), today) == []
