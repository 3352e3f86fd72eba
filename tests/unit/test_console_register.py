"""The register form's API body and its error mapping: representatives rows (a group visit's,
at most five) go as the API's list, only the filled ones; the API's errors come back to the
row's own field."""

from __future__ import annotations

from services.console.web.register import form_errors, representative_rows, submission


def test_filled_representative_rows_only() -> None:
    body = submission({"channel": "visit", "rep0_name": "甲", "rep0_phone": "13800138000",
                       "rep2_name": "丙", "rep1_name": " ", "form_id": "f"})
    assert body["representatives"] == [{"name": "甲", "phone": "13800138000"},
                                       {"name": "丙"}]
    assert "representatives" not in submission({"channel": "letter", "form_id": "f"})


def test_errors_land_on_the_rows_fields() -> None:
    errors = form_errors([
        {"field": "representatives.1.id_number", "message": "check digit is wrong"},
        {"field": "representatives.0.name", "message": "is required"},
        {"field": "representatives", "message": "must name at most 5 people (Art. 20)"},
        {"field": "petitioner.phone", "message": "not a mainland mobile or landline"}])
    assert set(errors) == {"rep1_id_number", "rep0_name", "representatives", "phone"}
    assert "身份证号" in errors["rep1_id_number"] and "必填" in errors["rep0_name"]


def test_an_error_lands_on_the_row_typed_even_after_an_empty_row() -> None:
    # Rows 1 and 3 filled, row 2 left empty: the API's representatives.1 is the form's third.
    form = {"channel": "visit", "rep0_name": "甲", "rep2_name": "丙", "rep2_phone": "123",
            "form_id": "f"}
    assert submission(form)["representatives"][1] == {"name": "丙", "phone": "123"}
    errors = form_errors([{"field": "representatives.1.phone", "message": "not a mobile"}],
                         representative_rows(form))
    assert set(errors) == {"rep2_phone"}
    assert errors["rep2_phone"].startswith("代表3 联系电话格式不正确")


def test_the_group_rules_are_said_so_that_a_clerk_knows_what_to_change() -> None:
    errors = form_errors([{"field": "representatives", "message":
                           "cannot be more than the group's head count (signers: 1)"}])
    assert errors["representatives"] == ("代表人数不能多于联名人数（现为 1 人），"
                                         "请先在“联名人数”填写集体访的人数")
    only_visits = form_errors([{"field": "representatives", "message":
                                "apply only to a visit (channel visit, Art. 20)"}])
    assert "来访" in only_visits["representatives"]
    six = form_errors([{"field": "representatives", "message":
                        "must name at most 5 people (Art. 20), got 6"}])
    assert six["representatives"] == "代表最多 5 人（《信访工作条例》第20条）"
