"""A group visit's representatives on a submission (services/intake/representatives.py):
at most five (Art. 20), only on a visit, no more than the head count, personal data checked
like the petitioner's and kept out of repr."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from services.intake.validation import Representative, SubmissionInvalid, validate_submission
from shared.domain.vocab import default_vocabulary
from tests.unit.test_intake_validation import VALID_ID

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=8)))
VOCAB = default_vocabulary()


def visit(representatives: Any, **over: Any) -> dict[str, Any]:
    return {"channel": "visit", "jurisdiction": "jizhou", "category": "fees", "title": "集体访",
            "content": "三十名家长反映收费问题", "petitioner": {"name": "李四"}, "signers": 30,
            "representatives": representatives, **over}


def errors(body: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(SubmissionInvalid) as info:
        validate_submission(body, now=NOW, vocab=VOCAB)
    return [(e.field, e.message) for e in info.value.errors]


def people(n: int) -> list[dict[str, str]]:
    return [{"name": f"代表{i}", "phone": "13800138000"} for i in range(n)]


def test_five_representatives_are_kept_normalised_and_not_in_repr() -> None:
    group = [*people(4), {"name": " 王五 ", "id_number": VALID_ID.lower(),
                          "phone": "１３９００１３９０００"}]
    case = validate_submission(visit(group), now=NOW, vocab=VOCAB)
    assert len(case.representatives) == 5
    assert case.representatives[4] == Representative("王五", VALID_ID.upper(), "13900139000")
    assert "王五" not in repr(case) and VALID_ID not in repr(case)


def test_six_are_refused_naming_the_field() -> None:
    assert errors(visit(people(6))) == [
        ("representatives", "representatives must name at most 5 people (Art. 20), got 6")]


def test_only_on_a_visit_and_never_more_than_the_head_count() -> None:
    assert errors(visit(people(2), channel="letter"))[0][0] == "representatives"
    assert errors(visit(people(3), signers=2)) == [
        ("representatives", "representatives cannot be more than the group's head count "
                            "(signers: 2)")]
    assert errors(visit("王五"))[0] == ("representatives",
                                        "representatives must be a list, not a string")


def test_each_representative_is_checked_by_its_own_path() -> None:
    found = errors(visit([{"name": "甲"}, {"phone": "99999"}, {"name": "丙", "age": 3}, "丁"]))
    fields = [f for f, _ in found]
    assert fields == ["representatives.1.name", "representatives.1.phone",
                      "representatives.2.age", "representatives.3"]
    assert "99999" not in found[1][1]  # the reason, never the value


def test_no_representatives_is_an_ordinary_visit() -> None:
    body = visit(None)
    del body["representatives"]
    assert validate_submission(body, now=NOW, vocab=VOCAB).representatives == ()
