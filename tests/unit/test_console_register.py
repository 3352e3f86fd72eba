"""The register form's API body and its error mapping: representatives rows (a group visit's,
at most five) go as the API's list, only the filled ones; the API's errors come back to the
row's own field."""

from __future__ import annotations

from services.console.web.register import form_errors, submission


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
