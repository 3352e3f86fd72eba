"""The hand-off to the assigning body: the reference number's validation, the notices' on-time
judgement and the closing report document (parsed back)."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from docx import Document

from services.intake.handoff import ANSWERED, closed_report, closing_of, received_notice
from services.intake.handoff_report import ReportFacts, render
from services.intake.lifecycle import Action, CaseState, Decision
from services.intake.validation import SubmissionInvalid, validate_row, validate_submission
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import CountingMode
from shared.domain.schemas import HandoffClosed, HandoffReceived
from shared.domain.statuses import CaseStatus
from shared.domain.timeliness import acceptance_due, handling_due, kept
from shared.domain.vocab import default_vocabulary
from shared.platform.auth import Actor

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=CST)
CAL = WorkingCalendar()
MODE = CountingMode.calendar_roll_forward
ACTOR = Actor("account:7", "王芳", "staff")


def body(**over: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "channel": "provincial_transfer", "jurisdiction": "jizhou", "category": "fees",
        "title": "违规收费", "content": "某校收费。", "petitioner": {"anonymous": True},
        "assigned_by": "江西省信访局", "assigned_ref": "赣信转〔2026〕123号"}
    raw.update(over)
    return raw


def errors(raw: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(SubmissionInvalid) as info:
        validate_submission(raw, now=NOW, vocab=default_vocabulary())
    return [(e.field, e.message) for e in info.value.errors]


def test_reference_is_kept_on_a_handed_off_case() -> None:
    case = validate_submission(body(assigned_ref="  赣信转〔2026〕123号 "), now=NOW,
                               vocab=default_vocabulary())
    assert (case.assigned_by, case.assigned_ref) == ("江西省信访局", "赣信转〔2026〕123号")


@pytest.mark.parametrize(("over", "message"), [
    ({"channel": "letter"}, "applies only to cases handed over through"),
    ({"assigned_ref": "x" * 101}, "must be at most 100 characters"),
    ({"assigned_ref": 123}, "must be a string"),
    ({"assigned_ref": "来电13812345678"}, "must not contain a resident ID or a phone number"),
])
def test_bad_reference_is_a_field_error(over: dict[str, Any], message: str) -> None:
    found = errors(body(**over))
    assert [f for f, _ in found] == ["assigned_ref"]
    assert message in found[0][1]


def test_a_csv_row_carries_body_and_reference() -> None:
    row = {"channel": "city_transfer", "jurisdiction": "jizhou", "category": "fees",
           "title": "t", "content": "c", "anonymous": "true", "assigned_by": "吉安市信访局",
           "assigned_ref": "吉信转〔2026〕9号"}
    case = validate_row(row, now=NOW, vocab=default_vocabulary())
    assert (case.assigned_by, case.assigned_ref) == ("吉安市信访局", "吉信转〔2026〕9号")
    with pytest.raises(SubmissionInvalid) as info:
        validate_row({**row, "channel": "email"}, now=NOW, vocab=default_vocabulary())
    assert [e.field for e in info.value.errors] == ["assigned_ref"]


def test_limits_are_kept_to_the_end_of_the_last_day() -> None:
    received = datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # Monday; day 15 = Tuesday 03-17
    due = acceptance_due(received, CAL)
    assert due == date(2026, 3, 17)
    assert kept(due, datetime(2026, 3, 17, 23, 59, tzinfo=CST))
    assert not kept(due, datetime(2026, 3, 18, 0, 0, tzinfo=CST))
    assert not kept(None, received) and not kept(due, None)
    # 60 + 10 days from acceptance on 03-10 = 05-19 (a Tuesday, a working day)
    assert handling_due(datetime(2026, 3, 10, 9, tzinfo=CST), 10, CAL) == date(2026, 5, 19)


def _row(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "case_id": uuid.uuid4(), "tracking_no": "XF-2026-000123",
        "channel": "provincial_transfer", "assigned_by": "江西省信访局",
        "assigned_ref": "赣信转〔2026〕123号", "received_at": datetime(2026, 3, 2, 9, tzinfo=CST),
        "assigned_unit": "jizhou_bureau", "extended_days": None,
        "replied_at": datetime(2026, 4, 20, 10, tzinfo=CST)}
    row.update(over)
    return row


def _decision(action: Action, at: datetime) -> Decision:
    state = CaseState("c", CaseStatus.ACCEPTED, at)
    return Decision(action, CaseStatus.ASSIGNED, CaseStatus.ACCEPTED, at, None, state, None)


def test_receipt_notice_says_decision_and_timeliness() -> None:
    row = _row()
    late = received_notice(row, _decision(Action.DECLINE, datetime(2026, 3, 18, 8, tzinfo=CST)),
                           ACTOR, CAL, MODE)
    assert isinstance(late.data, HandoffReceived)
    assert (late.data.decision, late.data.on_time) == ("declined", False)
    assert late.data.acceptance_due == date(2026, 3, 17)
    again = received_notice(row, _decision(Action.ACCEPT, datetime(2026, 3, 5, tzinfo=CST)),
                            ACTOR, CAL, MODE)
    assert again.id == late.id  # one notice per case, whatever re-sends it
    assert isinstance(again.data, HandoffReceived) and again.data.on_time


def _steps() -> list[dict[str, Any]]:
    return [{"action": "accept", "at": datetime(2026, 3, 5, 9, tzinfo=CST), "public_note": None},
            {"action": "reply", "at": datetime(2026, 4, 20, 10, tzinfo=CST),
             "public_note": "经核查，已责令学校退还费用。"}]


def test_closing_report_event_carries_no_free_text() -> None:
    row = _row()
    closing = closing_of(row, _steps(), datetime(2026, 4, 21, 9, tzinfo=CST), CAL, MODE)
    # 03-05 + 60 = 05-04, inside the Labour Day holiday: rolled forward to 05-06
    assert closing.handling_due == date(2026, 5, 6)
    assert closing.on_time
    event = closed_report(row, closing, ACTOR)
    assert isinstance(event.data, HandoffClosed)
    assert event.data.result == ANSWERED and event.data.answer_date == date(2026, 4, 20)
    assert event.data.assigned_ref == "赣信转〔2026〕123号"
    assert "退还" not in event.data.model_dump_json()
    late = closing_of(_row(replied_at=None), [_steps()[0], {**_steps()[1], "at": datetime(
        2026, 5, 7, 0, 30, tzinfo=CST)}], datetime(2026, 5, 8, tzinfo=CST), CAL, MODE)
    assert not late.on_time


def test_document_holds_reference_result_and_dates() -> None:
    closing = closing_of(_row(), _steps(), datetime(2026, 4, 21, 9, tzinfo=CST), CAL, MODE)
    facts = ReportFacts("XF-2026-000123", "江西省信访局", "赣信转〔2026〕123号", "省平台转办",
                        "教育收费", "吉州区", "违规收费", "jizhou_bureau",
                        datetime(2026, 3, 2, 9, tzinfo=CST), closing, date(2026, 4, 22))
    doc = Document(io.BytesIO(render(facts)))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = {row.cells[0].text: row.cells[1].text for row in doc.tables[0].rows}
    assert "办结报告" in text and "赣信转〔2026〕123号" in text
    assert cells["交办文号"] == "赣信转〔2026〕123号"
    assert "2026-04-20" in cells["答复日期"] and "2026-04-21" in cells["办结日期"]
    assert "2026-03-05" in cells["受理日期"] and "2026-05-06" in cells["办理期限"]
    assert cells["是否按期"] == "按期办结"
    assert "已责令学校退还费用" in cells["办理结果"]
