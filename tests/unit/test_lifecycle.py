"""The case lifecycle (services/intake/lifecycle.py): every (status, action) pair, what a
refusal says, and the statutory flows (extension, hearings, urges, key cases) step by step.

The rules on an action's details are in test_lifecycle_details, which builds its cases with
``state``, ``command`` and ``errors`` from here.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from services.intake.lifecycle import (
    PUBLIC_ACTIONS,
    TRANSITIONS,
    ActionCommand,
    ActionInvalid,
    CaseState,
    CaseStatus,
    IllegalTransition,
    Rating,
    allowed_actions,
    decide,
)
from shared.domain.schemas import StepType

CST = timezone(timedelta(hours=8))
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=CST)
RECEIVED = datetime(2024, 5, 1, 9, 0, tzinfo=CST)

# Written out independently of the module: the lifecycle this test expects.
EXPECTED: dict[tuple[str, str], str] = {
    ("registered", "assign"): "assigned",
    ("registered", "transfer_out"): "transferred_out",
    ("assigned", "object"): "registered",
    ("assigned", "accept"): "accepted",
    ("assigned", "decline"): "declined",
    ("assigned", "transfer_out"): "transferred_out",
    ("accepted", "extend"): "accepted",  # a request: the unit head answers it
    ("accepted", "approve_extension"): "extended",
    ("accepted", "refuse_extension"): "accepted",
    ("accepted", "reply"): "replied",
    ("extended", "reply"): "replied",
    ("replied", "close"): "closed",
    ("closed", "feedback"): "feedback_given",
    ("closed", "request_review"): "review_requested",
    ("feedback_given", "rate"): "rated",
    ("feedback_given", "request_review"): "review_requested",
    ("rated", "request_review"): "review_requested",
    ("review_requested", "review_decision"): "reviewed",
    ("reviewed", "request_rereview"): "rereview_requested",
    ("rereview_requested", "hearing_started"): "rereview_requested",
    ("rereview_requested", "hearing_ended"): "rereview_requested",
    ("rereview_requested", "rereview_decision"): "final",
}
# Notes that keep the status: urging where the bureau still owes something, key flags and
# leaders' instructions wherever the case can still move.
OWING = ["registered", "assigned", "accepted", "extended", "review_requested",
         "rereview_requested"]
LIVE = [*OWING, "replied", "closed", "feedback_given", "rated", "reviewed"]
EXPECTED.update({(s, "urge"): s for s in OWING})
EXPECTED.update({(s, a): s for s in LIVE for a in ("flag_key", "instruct")})
STATUSES = [
    "registered", "assigned", "transferred_out", "accepted", "declined", "extended", "replied",
    "closed", "feedback_given", "rated", "review_requested", "reviewed", "rereview_requested",
    "final",
]
ACTIONS = [  # the canonical order allowed_actions answers in
    "assign", "object", "accept", "decline", "transfer_out", "extend", "reply", "close",
    "feedback", "rate", "request_review", "review_decision", "request_rereview",
    "rereview_decision", "approve_extension", "refuse_extension", "hearing_started",
    "hearing_ended", "urge", "flag_key", "instruct",
]
EVENT_OF = {
    "object": "case.objected", "accept": "case.accepted", "decline": "case.declined",
    "transfer_out": "case.transferred_out", "extend": "case.extension_requested",
    "approve_extension": "case.extended", "refuse_extension": "case.extension_refused",
    "hearing_started": "case.hearing_started", "hearing_ended": "case.hearing_ended",
    "urge": "case.urged", "flag_key": "case.key_flagged", "instruct": "case.instructed",
    "reply": "case.replied",
    "close": "case.closed", "feedback": "case.feedback_given", "rate": "case.rated",
    "request_review": "case.review_requested", "review_decision": "case.reviewed",
    "request_rereview": "case.rereview_requested", "rereview_decision": "case.rereviewed",
}
DETAILS: dict[str, dict[str, Any]] = {
    "object": {"reason": "不属本单位职责"},
    "decline": {"reason": "已经司法程序处理"},
    "transfer_out": {"reason": "属人社部门职责"},
    "extend": {"reason": "需要现场调查", "days": 15},
    "rate": {"rating": "basically_satisfied"},
    "refuse_extension": {"reason": "理由不充分"},
    "urge": {"reason": "请加快办理", "respond_by": date(2024, 6, 10)},
    "instruct": {"reason": "请依法妥善处理"},
}
# What each guarded action needs of the case's own state to be possible.
READY: dict[str, dict[str, Any]] = {
    "approve_extension": {"extension_requested": 10},
    "refuse_extension": {"extension_requested": 10},
    "hearing_ended": {"hearing_open": True},
    "instruct": {"key_case": True},
}


def state(status: str, **changes: Any) -> CaseState:
    """A case in ``status`` whose history makes every table move possible at NOW."""
    base = CaseState(
        case_id="c-1", status=CaseStatus(status), received_at=RECEIVED,
        last_action_at=datetime(2024, 5, 30, 9, 0, tzinfo=CST),
        replied_at=datetime(2024, 5, 20, 9, 0, tzinfo=CST),
        reviewed_at=datetime(2024, 5, 29, 9, 0, tzinfo=CST),
    )
    return replace(base, **changes)


def command(action: str, **changes: Any) -> ActionCommand:
    fields: dict[str, Any] = {"action": action, "from_routing": action == "assign",
                              **DETAILS.get(action, {}), **changes}
    return ActionCommand(**fields)


def test_the_module_covers_every_status_and_action() -> None:
    assert sorted(s.value for s in TRANSITIONS) == sorted(STATUSES)
    assert list(PUBLIC_ACTIONS) == ACTIONS[1:]


@pytest.mark.parametrize(("status", "action"), list(itertools.product(STATUSES, ACTIONS)))
def test_every_status_action_pair(status: str, action: str) -> None:
    cmd = command(action)
    if (status, action) in EXPECTED:
        decision = decide(state(status, **READY.get(action, {})), cmd, now=NOW)
        assert decision.status == EXPECTED[(status, action)]
        assert decision.previous_status == status
        assert decision.state.status == EXPECTED[(status, action)]
        assert decision.state.last_action_at == NOW
        expected_event = EVENT_OF.get(action)  # assign publishes nothing: routing already did
        assert (decision.event.type if decision.event else None) == expected_event
        return
    allowed = [a for a in ACTIONS if (status, a) in EXPECTED
               and (a != "assign" or cmd.from_routing) and a not in READY]
    with pytest.raises(IllegalTransition) as info:
        decide(state(status), cmd, now=NOW)
    assert info.value.current_status == status
    assert info.value.action == action
    assert info.value.allowed_actions == allowed
    assert str(info.value).endswith(f"; allowed now: {', '.join(allowed) or 'none'}")


@pytest.mark.parametrize("status", STATUSES)
def test_allowed_actions(status: str) -> None:
    every = [a for a in ACTIONS if (status, a) in EXPECTED]
    # A bare status answers the table; a case's state also its guards.
    assert allowed_actions(state(status)) == [a for a in every
                                              if a != "assign" and a not in READY]
    assert allowed_actions(status, include_internal=True) == every
    assert allowed_actions(CaseStatus(status)) == [a for a in every if a != "assign"]


def test_refusals_explain_themselves() -> None:
    with pytest.raises(IllegalTransition) as info:
        decide(state("extended"), command("extend"), now=NOW)
    assert str(info.value) == (
        "cannot extend a case that is extended: the handling limit may be extended only once "
        "(Art. 34); allowed now: reply, urge, flag_key"
    )
    with pytest.raises(IllegalTransition) as info:
        decide(state("final"), command("request_review"), now=NOW)
    assert str(info.value) == (
        "cannot request_review a case that is final: the case is final after re-review "
        "(Art. 36); allowed now: none"
    )


def errors(status: str, cmd: ActionCommand, **changes: Any) -> list[tuple[str, str]]:
    with pytest.raises(ActionInvalid) as info:
        decide(state(status, **changes), cmd, now=NOW)
    return [(e.field, e.message) for e in info.value.errors]


def test_state_records_what_later_rules_need() -> None:
    assigned = decide(state("registered"), command("assign", objection_due=date(2024, 6, 7)),
                      now=NOW)
    assert assigned.event is None and assigned.state.objection_due == date(2024, 6, 7)
    objected = decide(assigned.state, command("object"), now=NOW)
    assert objected.state.objection_due is None and objected.reason == "不属本单位职责"
    requested = decide(state("accepted"), command("extend", days=20), now=NOW)
    assert requested.state.extension_requested == 20
    assert requested.state.extension_days is None  # a request moves nothing
    extended = decide(requested.state, command("approve_extension"), now=NOW)
    assert extended.state.extension_days == 20 and extended.state.extension_requested is None
    replied = decide(extended.state, command("reply"), now=NOW)
    assert replied.state.replied_at == NOW and replied.state.extension_days == 20
    rated = decide(state("feedback_given"), command("rate", rating="unsatisfied"), now=NOW)
    assert rated.state.rating is Rating.UNSATISFIED
    reviewed = decide(state("review_requested"), command("review_decision"), now=NOW)
    assert reviewed.state.reviewed_at == NOW


def test_events_carry_no_free_text() -> None:
    requested = decide(state("accepted"), command("extend"), now=NOW).state
    decision = decide(requested, command("approve_extension"), now=NOW)
    assert decision.event is not None
    assert decision.event.type is StepType.EXTENDED
    assert decision.event.payload() == {
        "case_id": "c-1", "at": "2024-06-01T12:00:00+08:00", "status": "extended",
        "previous_status": "accepted", "days": 15,
    }
    decision = decide(state("accepted"), command("extend"), now=NOW)
    assert decision.reason == "需要现场调查"  # for intake's timeline, not the event
    rated = decide(state("feedback_given"), command("rate"), now=NOW)
    assert rated.event is not None and rated.event.payload()["rating"] == "basically_satisfied"


def test_routing_decisions() -> None:
    # Routing's transfer decision is a step intake takes and publishes (case.transferred_out).
    decision = decide(state("registered"), command("transfer_out", from_routing=True,
                                                   transfer_to=" 市人社局 "), now=NOW)
    assert decision.status == "transferred_out" and decision.event is not None
    assert decision.event.payload()["transfer_to"] == "市人社局"
    # From routing, the 409 names the internal action too.
    with pytest.raises(IllegalTransition) as info:
        decide(state("accepted"), command("assign"), now=NOW)
    assert info.value.allowed_actions == ["extend", "reply", "urge", "flag_key"]


def test_a_whole_life_from_registration_to_final() -> None:
    current = CaseState(case_id="c-9", status=CaseStatus.REGISTERED, received_at=RECEIVED)
    steps = ["assign", "object", "assign", "accept", "extend", "approve_extension", "reply",
             "close", "feedback", "rate", "request_review", "review_decision",
             "request_rereview", "hearing_started", "hearing_ended", "rereview_decision"]
    seen = []
    for minute, action in enumerate(steps):
        at = datetime(2024, 5, 20, 9, minute, tzinfo=CST)
        current = decide(current, command(action, at=at), now=NOW).state
        seen.append(current.status.value)
    assert seen == ["assigned", "registered", "assigned", "accepted", "accepted", "extended",
                    "replied", "closed", "feedback_given", "rated", "review_requested",
                    "reviewed", "rereview_requested", "rereview_requested",
                    "rereview_requested", "final"]
    assert allowed_actions(current.status) == []


def test_extension_is_requested_then_refused_requested_again_and_approved_once() -> None:
    """Art. 34: the unit head approves; only the approval moves anything; once only."""
    asked = decide(state("accepted"), command("extend", days=20), now=NOW)
    assert asked.status == "accepted" and asked.state.extension_requested == 20
    assert allowed_actions(asked.state) == ["reply", "approve_extension", "refuse_extension",
                                            "urge", "flag_key"]
    with pytest.raises(IllegalTransition, match="waiting for the unit head"):
        decide(asked.state, command("extend", days=5), now=NOW)  # one request at a time
    with pytest.raises(ActionInvalid):
        decide(asked.state, command("refuse_extension", reason=None), now=NOW)
    refused = decide(asked.state, command("refuse_extension"), now=NOW)
    assert refused.status == "accepted" and refused.state.extension_requested is None
    assert refused.state.extension_days is None
    assert refused.event is not None and refused.event.type is StepType.EXTENSION_REFUSED
    assert refused.event.days == 20  # which request was refused
    with pytest.raises(IllegalTransition, match="no extension request"):
        decide(refused.state, command("approve_extension"), now=NOW)
    again = decide(refused.state, command("extend", days=30), now=NOW)
    approved = decide(again.state, command("approve_extension", days=None), now=NOW)
    assert approved.status == "extended" and approved.state.extension_days == 30
    assert approved.event is not None and approved.event.days == 30
    for action in ("extend", "approve_extension", "refuse_extension"):
        with pytest.raises(IllegalTransition):
            decide(approved.state, command(action), now=NOW)
    # The unit head approves what was asked: days on the approval are refused.
    with pytest.raises(ActionInvalid):
        decide(again.state, command("approve_extension", days=10), now=NOW)


def test_a_reply_may_come_while_a_request_waits_and_ends_it() -> None:
    asked = decide(state("accepted"), command("extend", days=20), now=NOW)
    replied = decide(asked.state, command("reply"), now=NOW)
    assert replied.status == "replied" and replied.state.extension_requested is None


def test_hearings_open_and_close_and_hold_the_decision() -> None:
    opened = decide(state("rereview_requested"), command("hearing_started"), now=NOW)
    assert opened.state.hearing_open and opened.status == "rereview_requested"
    with pytest.raises(IllegalTransition, match="already open"):
        decide(opened.state, command("hearing_started"), now=NOW)
    with pytest.raises(IllegalTransition, match="must end before"):
        decide(opened.state, command("rereview_decision"), now=NOW)
    closed = decide(opened.state, command("hearing_ended"), now=NOW)
    assert not closed.state.hearing_open
    assert closed.event is not None and closed.event.type is StepType.HEARING_ENDED
    assert decide(closed.state, command("rereview_decision"), now=NOW).status == "final"


def test_urges_need_a_note_and_a_date_and_the_second_makes_a_key_case() -> None:
    first = decide(state("accepted"), command("urge"), now=NOW)
    assert first.status == "accepted" and not first.state.key_case
    assert first.event is not None and first.event.payload()["respond_by"] == "2024-06-10"
    assert first.event.urge_count == 1
    second = decide(first.state, command("urge"), now=NOW)
    assert second.state.key_case and second.state.urges == 2
    assert errors("accepted", command("urge", respond_by=None, reason=None)) == [
        ("reason", "reason is required to urge"),
        ("respond_by", "respond_by (YYYY-MM-DD) is required to urge")]
    assert errors("accepted", command("urge", respond_by=date(2024, 5, 31))) == [
        ("respond_by", "respond_by must not be before the urge")]
    assert errors("accepted", command("reply", respond_by=date(2024, 6, 9))) == [
        ("respond_by", "respond_by applies only to urge")]


def test_flag_key_once_and_instructions_on_key_cases_only() -> None:
    with pytest.raises(IllegalTransition, match="key cases"):
        decide(state("accepted"), command("instruct"), now=NOW)
    flagged = decide(state("accepted"), command("flag_key"), now=NOW)
    assert flagged.state.key_case
    with pytest.raises(IllegalTransition, match="key case already"):
        decide(flagged.state, command("flag_key"), now=NOW)
    instructed = decide(flagged.state, command("instruct"), now=NOW)
    assert instructed.status == "accepted" and instructed.reason == "请依法妥善处理"
