"""A group visit's representatives on a submission (services/intake/representatives.py):
at most five (Art. 20), only on a visit or a handed-over case, no more than the head count,
personal data checked like the petitioner's and kept out of repr; a CSV import row's numbered
columns give the same list, checked by the same rules, its errors naming the columns."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from services.intake import representatives as reps
from services.intake.fields import FieldError
from services.intake.validation import (
    Representative,
    SubmissionInvalid,
    validate_row,
    validate_submission,
)
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
    assert errors(visit(people(2), channel="letter"))[0] == (
        "representatives", "representatives apply only to a visit (channel visit, Art. 20) or "
        "a case handed over through city_transfer, provincial_transfer, superior_assigned")
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


@pytest.mark.parametrize("channel", ["provincial_transfer", "city_transfer",
                                     "superior_assigned"])
def test_a_handed_over_group_visit_keeps_its_representatives(channel: str) -> None:
    # The group visited the body that hands the matter over; who spoke for it travels along.
    case = validate_submission(visit(people(3), channel=channel), now=NOW, vocab=VOCAB)
    assert [p.name for p in case.representatives] == ["代表0", "代表1", "代表2"]


# --- a CSV import row's columns -------------------------------------------------------------

ROW = {"channel": "provincial_transfer", "jurisdiction": "吉州区", "category": "fees",
       "title": "集体访", "content": "三十名家长反映收费问题", "petitioner_name": "李四",
       "signers": "30", "assigned_by": "江西省信访局"}


def row_errors(**cells: str | None) -> list[tuple[str, str]]:
    with pytest.raises(SubmissionInvalid) as info:
        validate_row({**ROW, **cells}, now=NOW, vocab=VOCAB)
    return [(e.field, e.message) for e in info.value.errors]


@pytest.mark.parametrize(("column", "expected"), [
    ("representative_1_name", (1, "name")), ("representative_5_id_number", (5, "id_number")),
    ("representative_3_phone", (3, "phone")), ("representative_0_name", None),
    ("representative_6_name", None), ("representative_01_name", None),
    ("representative_1_address", None), ("representatives", None), ("petitioner_name", None),
])
def test_csv_column_names(column: str, expected: tuple[int, str] | None) -> None:
    assert reps.csv_column(column) == expected


def test_csv_columns_give_the_same_case_as_the_json_list() -> None:
    from_row = validate_row({
        **ROW, "representative_1_name": " 王五 ", "representative_1_id_number": VALID_ID.lower(),
        "representative_1_phone": "１３９００１３９０００", "representative_2_name": "赵六",
        "representative_2_id_number": "", "representative_2_phone": None,
    }, now=NOW, vocab=VOCAB)
    from_json = validate_submission({
        "channel": "provincial_transfer", "jurisdiction": "jizhou", "category": "fees",
        "title": "集体访", "content": "三十名家长反映收费问题", "petitioner": {"name": "李四"},
        "signers": 30, "assigned_by": "江西省信访局",
        "representatives": [{"name": "王五", "id_number": VALID_ID, "phone": "13900139000"},
                            {"name": "赵六"}]}, now=NOW, vocab=VOCAB)
    assert from_row == from_json
    assert from_row.representatives[0] == Representative("王五", VALID_ID.upper(), "13900139000")


def test_blank_representative_columns_are_no_representatives_and_a_gap_is_closed() -> None:
    blank = {f"representative_{n}_{f}": "  " for n in range(1, 6)
             for f in ("name", "id_number", "phone")}
    assert validate_row({**ROW, **blank}, now=NOW, vocab=VOCAB).representatives == ()
    gap = validate_row({**ROW, **blank, "representative_3_name": "孙七"}, now=NOW, vocab=VOCAB)
    assert gap.representatives == (Representative("孙七"),)


def test_a_bad_entry_names_its_column_and_never_its_value() -> None:
    found = row_errors(representative_1_name="王五", representative_3_name="赵六",
                       representative_3_phone="99999", representative_4_id_number=VALID_ID,
                       representative_5_id_number="360802198001011230")
    assert [f for f, _ in found] == ["representative_3_phone", "representative_4_name",
                                     "representative_5_name", "representative_5_id_number"]
    assert found[0][1].startswith("representative_3_phone must be a mainland mobile number")
    assert found[1][1] == "representative_4_name is required and must not be blank"
    assert not any(value in message for _, message in found
                   for value in ("99999", VALID_ID, "360802198001011230", "王五", "赵六"))


def test_the_groups_rules_hold_for_csv_rows_too() -> None:
    three = {f"representative_{n}_name": f"代表{n}" for n in (1, 2, 3)}
    assert row_errors(**three, signers="2") == [
        ("representatives", "representatives cannot be more than the group's head count "
                            "(signers: 2)")]
    assert [f for f, _ in row_errors(**three, channel="letter", assigned_by="")] == [
        "representatives"]


def test_a_sixth_representative_column_is_unknown_and_says_why() -> None:
    [(field, message)] = row_errors(representative_6_name="代表6")
    assert field == "representative_6_name"
    assert message.startswith("unknown column 'representative_6_name'")
    assert "N from 1 to 5 (Art. 20)" in message
    [(field, message)] = row_errors(representatives="王五|360802198001011232|13900139000")
    assert field == "representatives" and "representative_N_name" in message
    assert "13900139000" not in message


def test_column_errors_leave_other_fields_alone() -> None:
    group = reps.from_cells({(2, "name"): "甲", (4, "phone"): "1"})
    assert group.numbers == [2, 4]
    assert group.people == [{"name": "甲"}, {"phone": "1"}]
    kept = FieldError("representatives", "representatives must name at most 5 people")
    assert group.column_error(kept) is kept
    assert group.column_error(FieldError("representatives.7.name", "x")).field == (
        "representatives.7.name")  # no such entry: nothing to rename it to
    moved = group.column_error(FieldError("representatives.1.phone",
                                               "representatives.1.phone is wrong"))
    assert (moved.field, moved.message) == ("representative_4_phone",
                                            "representative_4_phone is wrong")
