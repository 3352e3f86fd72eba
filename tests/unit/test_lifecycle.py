"""The case lifecycle (services/intake/lifecycle.py): every (status, action) pair, and the
rules on an action's details."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
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
    ("accepted", "extend"): "extended",
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
    ("rereview_requested", "rereview_decision"): "final",
}
STATUSES = [
    "registered", "assigned", "transferred_out", "accepted", "declined", "extended", "replied",
    "closed", "feedback_given", "rated", "review_requested", "reviewed", "rereview_requested",
    "final",
]
ACTIONS = [  # the canonical order allowed_actions answers in
    "assign", "object", "accept", "decline", "transfer_out", "extend", "reply", "close",
    "feedback", "rate", "request_review", "review_decision", "request_rereview",
    "rereview_decision",
]
EVENT_OF = {
    "object": "case.objected", "accept": "case.accepted", "decline": "case.declined",
    "transfer_out": "case.transferred_out", "extend": "case.extended", "reply": "case.replied",
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
        decision = decide(state(status), cmd, now=NOW)
        assert decision.status == EXPECTED[(status, action)]
        assert decision.previous_status == status
        assert decision.state.status == EXPECTED[(status, action)]
        assert decision.state.last_action_at == NOW
        expected_event = EVENT_OF.get(action)  # assign publishes nothing: routing already did
        assert (decision.event.type if decision.event else None) == expected_event
        return
    allowed = [a for a in ACTIONS if (status, a) in EXPECTED
               and (a != "assign" or cmd.from_routing)]
    with pytest.raises(IllegalTransition) as info:
        decide(state(status), cmd, now=NOW)
    assert info.value.current_status == status
    assert info.value.action == action
    assert info.value.allowed_actions == allowed
    assert str(info.value).endswith(f"; allowed now: {', '.join(allowed) or 'none'}")


@pytest.mark.parametrize("status", STATUSES)
def test_allowed_actions(status: str) -> None:
    every = [a for a in ACTIONS if (status, a) in EXPECTED]
    assert allowed_actions(status, include_internal=True) == every
    assert allowed_actions(CaseStatus(status)) == [a for a in every if a != "assign"]


def test_refusals_explain_themselves() -> None:
    with pytest.raises(IllegalTransition) as info:
        decide(state("extended"), command("extend"), now=NOW)
    assert str(info.value) == (
        "cannot extend a case that is extended: the handling limit may be extended only once "
        "(Art. 34); allowed now: reply"
    )
    with pytest.raises(IllegalTransition) as info:
        decide(state("final"), command("request_review"), now=NOW)
    assert str(info.value) == (
        "cannot request_review a case that is final: the case is final after re-review "
        "(Art. 36); allowed now: none"
    )


def test_illegal_transition_wins_over_bad_details() -> None:
    with pytest.raises(IllegalTransition):
        decide(state("accepted"), command("decline", reason=None), now=NOW)


def errors(status: str, cmd: ActionCommand, **changes: Any) -> list[tuple[str, str]]:
    with pytest.raises(ActionInvalid) as info:
        decide(state(status, **changes), cmd, now=NOW)
    return [(e.field, e.message) for e in info.value.errors]


LATE = NOW + timedelta(minutes=6)
INVALID: list[tuple[str, ActionCommand, dict[str, Any], list[tuple[str, str]]]] = [
    ("assigned", command("decline", reason=None), {},
     [("reason", "reason is required to decline")]),
    ("assigned", command("decline", reason="   "), {},
     [("reason", "reason is required to decline")]),
    ("assigned", command("object", reason=None), {},
     [("reason", "reason is required to object")]),
    ("registered", command("transfer_out", reason=""), {},
     [("reason", "reason is required to transfer_out")]),
    ("accepted", command("extend", reason=None), {},
     [("reason", "reason is required to extend")]),
    ("assigned", command("decline", reason="理" * 2001), {},
     [("reason", "reason must be at most 2000 characters")]),
    ("accepted", command("extend", days=None), {}, [("days", "days is required to extend")]),
    ("accepted", command("extend", days=0), {},
     [("days", "days must be between 1 and 30 (Art. 34)")]),
    ("accepted", command("extend", days=31), {},
     [("days", "days must be between 1 and 30 (Art. 34)")]),
    ("accepted", command("extend", days=True), {}, [("days", "days must be a whole number")]),
    ("accepted", command("extend", days="10"), {}, [("days", "days must be a whole number")]),
    ("accepted", command("reply", days=5), {}, [("days", "days applies only to extend")]),
    ("feedback_given", command("rate", rating="great"), {}, [("rating", "rating is required "
     "to rate: one of satisfied, basically_satisfied, unsatisfied")]),
    ("feedback_given", command("rate", rating=None), {}, [("rating", "rating is required "
     "to rate: one of satisfied, basically_satisfied, unsatisfied")]),
    ("closed", command("feedback", rating="satisfied"), {},
     [("rating", "rating applies only to rate")]),
    ("assigned", command("accept", objection_due=date(2024, 6, 7)), {},
     [("objection_due", "objection_due applies only to assign")]),
    ("assigned", command("accept", transfer_to="市人社局"), {},
     [("transfer_to", "transfer_to applies only to transfer_out")]),
    ("assigned", command("transfer_out", transfer_to="  "), {},
     [("transfer_to", "transfer_to must be 1 to 200 characters")]),
    ("assigned", command("accept", at=LATE), {}, [("at", "at must not be in the future")]),
    ("assigned", command("accept", at=RECEIVED - timedelta(seconds=1)),
     {"last_action_at": None}, [("at", "at must not be before the case was received")]),
    ("assigned", command("accept", at=datetime(2024, 5, 30, 8, 59, tzinfo=CST)), {},
     [("at", "at must not be before the case's previous action")]),
    ("assigned", command("accept", at=datetime(2024, 6, 1, 12, 0)), {},
     [("at", "at must include a UTC offset (Z or +08:00)")]),
    ("assigned", command("decline", reason=None, at=LATE), {},
     [("at", "at must not be in the future"), ("reason", "reason is required to decline")]),
    ("assigned", command("promote"), {}, [("action", "action 'promote' is unknown; use one of "
     + ", ".join(ACTIONS[1:]))]),
    ("registered", command("assign", from_routing=False), {},
     [("action", "action 'assign' is recorded from routing, not requested")]),
    # Windows, in Asia/Shanghai dates.
    ("assigned", command("object"), {"objection_due": date(2024, 5, 31)},
     [("at", "the time to object ended on 2024-05-31 (5 working days from the transfer, "
       "Art. 23)")]),
    ("closed", command("request_review"), {"replied_at": datetime(2024, 5, 1, 23, 30,
                                                                   tzinfo=CST)},
     [("at", "the time to request_review ended on 2024-05-31 (30 days from the written "
       "answer, Art. 35)")]),
    ("reviewed", command("request_rereview"), {"reviewed_at": datetime(2024, 4, 30, 10,
                                                                       tzinfo=CST)},
     [("at", "the time to request_rereview ended on 2024-05-30 (30 days from the review "
       "decision, Art. 36)")]),
    ("rated", command("request_review"), {"review_request_due": date(2024, 5, 31)},
     [("at", "the time to request_review ended on 2024-05-31 (30 days from the written "
       "answer, Art. 35)")]),
]


@pytest.mark.parametrize(("status", "cmd", "changes", "expected"), INVALID)
def test_invalid_details(
    status: str, cmd: ActionCommand, changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert errors(status, cmd, **changes) == expected


@pytest.mark.parametrize(
    ("status", "cmd", "changes"),
    [
        ("accepted", command("extend", days=30), {}),
        ("accepted", command("extend", days=1), {}),
        ("assigned", command("accept", at=NOW + timedelta(minutes=5)), {}),  # clock skew
        ("assigned", command("accept", at=datetime(2024, 5, 30, 9, 0, tzinfo=CST)), {}),
        ("assigned", command("object"), {"objection_due": date(2024, 6, 1)}),
        # Reply late on 2 May (Shanghai) = still 2 May; day 30 is 1 June, today.
        ("closed", command("request_review"),
         {"replied_at": datetime(2024, 5, 2, 15, 59, tzinfo=UTC)}),
        ("reviewed", command("request_rereview"),
         {"reviewed_at": datetime(2024, 5, 2, 0, 0, tzinfo=CST)}),
        # A precomputed due date (deadlines' roll-forward) overrides the plain 30 days.
        ("closed", command("request_review"),
         {"replied_at": datetime(2024, 4, 1, 9, tzinfo=CST),
          "review_request_due": date(2024, 6, 3)}),
    ],
)
def test_valid_edges(status: str, cmd: ActionCommand, changes: dict[str, Any]) -> None:
    decide(state(status, **changes), cmd, now=NOW)


def test_review_window_counts_shanghai_dates_not_utc() -> None:
    # 2 May 00:30 in Shanghai is 1 May in UTC: the window is 2 May + 30 = 1 June, met.
    replied = datetime(2024, 5, 1, 16, 30, tzinfo=UTC)
    decide(state("closed", replied_at=replied), command("request_review"), now=NOW)
    tomorrow = NOW + timedelta(days=1)
    with pytest.raises(ActionInvalid):
        decide(state("closed", replied_at=replied), command("request_review", at=tomorrow),
               now=tomorrow)


def test_state_records_what_later_rules_need() -> None:
    assigned = decide(state("registered"), command("assign", objection_due=date(2024, 6, 7)),
                      now=NOW)
    assert assigned.event is None and assigned.state.objection_due == date(2024, 6, 7)
    objected = decide(assigned.state, command("object"), now=NOW)
    assert objected.state.objection_due is None and objected.reason == "不属本单位职责"
    extended = decide(state("accepted"), command("extend", days=20), now=NOW)
    assert extended.state.extension_days == 20
    replied = decide(extended.state, command("reply"), now=NOW)
    assert replied.state.replied_at == NOW and replied.state.extension_days == 20
    rated = decide(state("feedback_given"), command("rate", rating="unsatisfied"), now=NOW)
    assert rated.state.rating is Rating.UNSATISFIED
    reviewed = decide(state("review_requested"), command("review_decision"), now=NOW)
    assert reviewed.state.reviewed_at == NOW


def test_events_carry_no_free_text() -> None:
    decision = decide(state("accepted"), command("extend"), now=NOW)
    assert decision.event is not None
    assert decision.event.type is StepType.EXTENDED
    assert decision.event.payload() == {
        "case_id": "c-1", "at": "2024-06-01T12:00:00+08:00", "status": "extended",
        "previous_status": "accepted", "days": 15,
    }
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
    assert info.value.allowed_actions == ["extend", "reply"]


def test_a_whole_life_from_registration_to_final() -> None:
    current = CaseState(case_id="c-9", status=CaseStatus.REGISTERED, received_at=RECEIVED)
    steps = ["assign", "object", "assign", "accept", "extend", "reply", "close", "feedback",
             "rate", "request_review", "review_decision", "request_rereview",
             "rereview_decision"]
    seen = []
    for minute, action in enumerate(steps):
        at = datetime(2024, 5, 20, 9, minute, tzinfo=CST)
        current = decide(current, command(action, at=at), now=NOW).state
        seen.append(current.status.value)
    assert seen == ["assigned", "registered", "assigned", "accepted", "extended", "replied",
                    "closed", "feedback_given", "rated", "review_requested", "reviewed",
                    "rereview_requested", "final"]
    assert allowed_actions(current.status) == []


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(state("assigned"), command("accept"), now=datetime(2024, 6, 1))
