"""The rules on a lifecycle action's details (services/intake/lifecycle.py): the reasons,
days, ratings and dates each action must or must not carry, its ``at`` instant, and the
statutory windows (objection, review, re-review) in Asia/Shanghai dates.

The cases are built with the helpers of test_lifecycle.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.intake.lifecycle import ActionCommand, ActionInvalid, IllegalTransition, decide
from tests.unit.test_lifecycle import (
    ACTIONS,
    CST,
    NOW,
    RECEIVED,
    command,
    errors,
    state,
)


def test_illegal_transition_wins_over_bad_details() -> None:
    with pytest.raises(IllegalTransition):
        decide(state("accepted"), command("decline", reason=None), now=NOW)


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


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(state("assigned"), command("accept"), now=datetime(2024, 6, 1))
