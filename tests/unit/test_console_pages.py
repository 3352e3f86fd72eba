"""Pure parts of the console's pages and of intake's case list: Chinese field errors, the form
→ API body, safe redirects, queue colours, list filters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.console.web.backend import Answer
from services.console.web.cases import unit_in_transit, urgency
from services.console.web.dashboard import shown_rows
from services.console.web.labels import actor, field_message, local_time
from services.console.web.register import form_errors, submission
from services.console.web.signin import safe_next
from services.intake.caselist import ListInvalid, encode_cursor, parse_query
from shared.domain.vocab import default_vocabulary


def test_api_field_errors_are_said_in_chinese_at_the_form_field() -> None:
    errors = form_errors([
        {"field": "petitioner.phone", "message": "petitioner.phone '12345' is not a phone"},
        {"field": "title", "message": "title is required and must not be blank"},
        {"field": "content", "message": "content must be at most 20000 characters, got 20001"},
        {"field": "subject.unit", "message": "subject.unit must be a string"},
    ])
    assert errors["phone"].startswith("联系电话格式不正确")
    assert errors["title"] == "标题必填"
    assert errors["content"] == "信访内容最多 20000 个字"
    assert errors["subject_unit"] == "被反映单位填写有误"


def test_the_form_becomes_the_api_body_as_typed() -> None:
    body = submission({"channel": "letter", "title": "t", "content": "c", "name": " 张三 ",
                       "phone": "", "signers": "3", "received_at": "2026-12-01T09:30",
                       "subject_unit": "某校", "form_id": "console-1"})
    assert body["petitioner"] == {"anonymous": False, "name": "张三"}
    assert body["signers"] == 3 and body["external_id"] == "console-1"
    assert body["received_at"] == "2026-12-01T09:30:00+08:00"
    assert body["subject"] == {"unit": "某校"}
    anonymous = submission({"anonymous": "on", "name": "张三", "signers": "x"})
    assert anonymous["petitioner"] == {"anonymous": True}
    assert anonymous["signers"] == "x"  # the API names the field, not the page


@pytest.mark.parametrize(("target", "safe"), [
    ("/queue", "/queue"), ("//evil.example", None), ("https://evil.example", None),
    ("/\\evil", None), ("", None)])
def test_sign_in_returns_only_to_this_site(target: str, safe: str | None) -> None:
    assert safe_next(target) == safe


def test_queue_colour_follows_the_nearest_open_deadline() -> None:
    assert urgency([]) == ("normal", None)
    met = {"kind": "routing", "due_date": "2026-01-01", "status": "met"}
    warned = {"kind": "acceptance", "due_date": "2026-02-01", "status": "warned"}
    overdue = {"kind": "objection", "due_date": "2026-01-20", "status": "overdue"}
    assert urgency([met, warned]) == ("warned", warned)
    assert urgency([met, warned, overdue]) == ("overdue", overdue)


def test_times_are_shown_in_beijing_time() -> None:
    assert local_time("2026-12-01T02:30:00+00:00") == "2026-12-01 10:30"
    assert field_message("x", "whatever") == "x填写有误"


def test_list_filters_name_what_they_reject() -> None:
    vocab = default_vocabulary()
    ok = parse_query({"status": "open", "channel": "来信", "limit": "5"}, vocab)
    assert ok["channel"] == "letter" and ok["limit"] == 5 and "assigned" in ok["statuses"]
    with pytest.raises(ListInvalid) as bad:
        parse_query({"status": "nope", "limit": "500", "cursor": "%%%", "sort": "x"}, vocab)
    assert [e["field"] for e in bad.value.errors] == ["status", "sort", "limit", "cursor"]
    cursor = encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), "c1")
    assert parse_query({"cursor": cursor}, vocab)["after"][1] == "c1"


def test_dashboard_rows_are_deadlines_counts_with_chinese_names_for_the_unknown() -> None:
    body = {"by": "jurisdiction", "overdue": 3, "due_soon": 1, "rows": [
        {"key": "jian", "label": "吉安县", "overdue": 2, "due_soon": 0},
        {"key": None, "label": None, "overdue": 1, "due_soon": 1}]}
    rows = shown_rows(Answer(200, body, {}), "jurisdiction")
    assert rows == [{"key": "jian", "label": "吉安县", "overdue": 2, "due_soon": 0},
                    {"key": "unassigned", "label": "属地未登记", "overdue": 1, "due_soon": 1}]
    by_unit = shown_rows(Answer(200, {**body, "rows": [
        {"key": None, "label": None, "overdue": 1, "due_soon": 0}]}, {}), "unit")
    assert by_unit[0]["label"] == "待交办"  # not the English "unassigned"
    assert shown_rows(Answer(503, {"error": "deadlines unavailable"}, {}), "unit") == []


def test_a_reassignment_routing_made_shows_before_intake_has_it() -> None:
    record = {"assigned_unit": "jizhou_bureau"}
    moved = {"current": {"unit": {"key": "jian_bureau", "label": "吉安县教育局"},
                         "cause": "reassign"}}
    assert unit_in_transit(record, moved) == {"key": "jian_bureau", "label": "吉安县教育局",
                                              "verb": "已改派"}
    assert unit_in_transit({"assigned_unit": "jian_bureau"}, moved) is None  # applied
    first = {"current": {"unit": {"key": "jizhou_bureau", "label": "吉州区教育局"},
                         "cause": "initial"}}
    assert unit_in_transit({"assigned_unit": None}, first)["verb"] == "已交办"  # type: ignore[index]
    transferred = {"current": {"unit": None, "transfer_to": "市公安局", "cause": "initial"}}
    assert unit_in_transit(record, transferred) is None
    assert unit_in_transit(record, None) is None  # routing not read (not the office)
    assert unit_in_transit(record, {"current": None, "history": []}) is None


def test_a_registration_on_any_channel_names_its_channel_in_chinese() -> None:
    channels = default_vocabulary().channels.label
    units = {"jizhou_bureau": "吉州区教育局"}.get

    def unit(code: str | None) -> str:
        return units(code or "", code or "")

    assert actor("self_initiated", unit, channels) == "自办件"
    assert actor("provincial_transfer", unit, channels) == "省平台转办"
    assert actor("letter", unit, channels) == "来信登记"
    assert actor("jizhou_bureau", unit, channels) == "吉州区教育局"
    assert actor("routing", unit, channels) == "系统交办"
