"""Which timers a case's facts call for, in any arrival order (services/deadlines/plan.py)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.deadlines.plan import (
    WINDOW_KINDS,
    Fact,
    TimerPlan,
    case_unit,
    plan,
)
from shared.domain.limits import DeadlineKind

K = DeadlineKind
CASE = "case-1"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def fact(kind: str, day: float, seq: int | None = None, **kw: object) -> Fact:
    return Fact(str(uuid.uuid4()), CASE, kind, T0 + timedelta(days=day), seq, **kw)  # type: ignore[arg-type]


def by_kind(plans: list[TimerPlan]) -> dict[tuple[K, int], TimerPlan]:
    return {(p.kind, p.round): p for p in plans}


def status(plans: list[TimerPlan]) -> dict[str, str]:
    return {f"{p.kind.value}{'#' + str(p.round) if p.round else ''}":
            (p.end.status + ":" + p.end.outcome) if p.end else "open" for p in plans}


REGISTERED = fact("case.registered", 0)
ASSIGNED = fact("case.assigned", 1, 1, unit="jizhou_bureau")
ACCEPTED = fact("case.accepted", 2, 3, unit="jizhou_bureau")
EXTENDED = fact("case.extended", 20, 4, days=20, unit="jizhou_bureau")
REPLIED = fact("case.replied", 50, 5)
CLOSED = fact("case.closed", 51, 6)
REVIEW_REQUESTED = fact("case.review_requested", 55, 7)
REVIEWED = fact("case.reviewed", 70, 8)
REREVIEW_REQUESTED = fact("case.rereview_requested", 75, 9)
REREVIEWED = fact("case.rereviewed", 90, 10)
FULL = [REGISTERED, ASSIGNED, ACCEPTED, EXTENDED, REPLIED, CLOSED, REVIEW_REQUESTED, REVIEWED,
        REREVIEW_REQUESTED, REREVIEWED]


def test_registration_starts_routing_and_acceptance() -> None:
    plans = by_kind(plan([REGISTERED]))
    assert set(plans) == {(K.routing, 0), (K.acceptance, 0)}
    assert plans[(K.routing, 0)].start == REGISTERED and plans[(K.routing, 0)].end is None


def test_assignment_meets_routing_and_opens_the_objection_window() -> None:
    plans = by_kind(plan([REGISTERED, ASSIGNED]))
    routing = plans[(K.routing, 0)].end
    assert routing is not None and (routing.status, routing.event_id) == ("met", ASSIGNED.event_id)
    objection = plans[(K.objection, 1)]
    assert objection.start == ASSIGNED and objection.end is None and objection.is_window


def test_a_whole_lifecycle() -> None:
    assert status(plan(FULL)) == {
        "routing": "met:done", "acceptance": "met:done", "objection#1": "met:accepted",
        "handling": "met:done", "review_request": "met:used", "review_decision": "met:done",
        "rereview_request": "met:used", "rereview_decision": "met:done",
    }
    handling = by_kind(plan(FULL))[(K.handling, 0)]
    assert handling.start == ACCEPTED and handling.extension_days == 20
    assert handling.extended == EXTENDED


def test_any_arrival_order_gives_the_same_plan() -> None:
    expected = plan(FULL)
    for order in itertools.islice(itertools.permutations(FULL), 0, 5000, 7):
        assert plan(list(order)) == expected


def test_step_before_assignment_arrives_meets_routing_at_the_step_then_at_the_assignment() -> None:
    early = by_kind(plan([REGISTERED, ACCEPTED]))[(K.routing, 0)].end
    assert early is not None and early.event_id == ACCEPTED.event_id
    late = by_kind(plan([REGISTERED, ACCEPTED, ASSIGNED]))[(K.routing, 0)].end
    assert late is not None and late.event_id == ASSIGNED.event_id


def test_objection_then_reassignment_opens_a_new_window() -> None:
    objected = fact("case.objected", 3, 3)
    second = fact("case.assigned", 4, 2, unit="jian_bureau")
    accepted = fact("case.accepted", 6, 5)
    plans = by_kind(plan([REGISTERED, ASSIGNED, objected, second, accepted]))
    first_window, second_window = plans[(K.objection, 1)], plans[(K.objection, 2)]
    assert first_window.end is not None and first_window.end.outcome == "objected"
    assert second_window.end is not None and second_window.end.outcome == "accepted"
    assert plans[(K.acceptance, 0)].start == REGISTERED  # keeps running from receipt


def test_a_newer_assignment_supersedes_an_unanswered_window() -> None:
    second = fact("case.assigned", 2, 2, unit="jian_bureau")
    plans = by_kind(plan([REGISTERED, ASSIGNED, second]))
    superseded = plans[(K.objection, 1)].end
    assert superseded is not None and (superseded.status, superseded.outcome) == (
        "cancelled", "superseded")
    assert plans[(K.objection, 2)].end is None


def test_reassignment_while_handled_opens_no_window() -> None:
    later = fact("case.assigned", 10, 2, unit="jian_bureau")
    plans = by_kind(plan([REGISTERED, ASSIGNED, ACCEPTED, later]))
    assert (K.objection, 2) not in plans


def test_transferred_out_meets_routing_and_acceptance_and_cancels_the_rest() -> None:
    transferred = fact("case.transferred_out", 3, 3)
    assert status(plan([REGISTERED, ASSIGNED, transferred])) == {
        "routing": "met:done", "acceptance": "met:done", "objection#1": "cancelled:cancelled"}


def test_transfer_decided_meets_routing() -> None:
    decided = fact("case.transfer_decided", 1)
    assert status(plan([REGISTERED, decided])) == {"routing": "met:done", "acceptance": "open"}


def test_a_case_linked_to_an_earlier_one_owes_nothing_of_its_own() -> None:
    linked = fact("case.linked", 0.1)
    assert status(plan([REGISTERED, linked])) == {"routing": "met:done",
                                                  "acceptance": "cancelled:linked"}


def test_declined_meets_acceptance_and_cancels_the_objection_window() -> None:
    declined = fact("case.declined", 3, 3)
    assert status(plan([REGISTERED, ASSIGNED, declined])) == {
        "routing": "met:done", "acceptance": "met:done", "objection#1": "cancelled:cancelled"}


def test_closed_keeps_the_review_request_window() -> None:
    assert status(plan([REGISTERED, ASSIGNED, ACCEPTED, REPLIED, CLOSED])) == {
        "routing": "met:done", "acceptance": "met:done", "objection#1": "met:accepted",
        "handling": "met:done", "review_request": "open"}


def test_closed_without_reply_cancels_handling() -> None:
    # Not a legal lifecycle, but history loads can miss events: close still ends the duty.
    plans = by_kind(plan([REGISTERED, ASSIGNED, ACCEPTED, CLOSED]))
    end = plans[(K.handling, 0)].end
    assert end is not None and end.status == "cancelled"


def test_steps_without_registration_still_plan_their_own_timers() -> None:
    assert status(plan([ACCEPTED])) == {"handling": "open"}


def test_windows_are_the_parties_options() -> None:
    assert {K.objection, K.review_request, K.rereview_request} == WINDOW_KINDS


@pytest.mark.parametrize(("facts", "unit"), [
    ([REGISTERED], None),
    ([REGISTERED, ACCEPTED], "jizhou_bureau"),  # from the step, before any assignment
    ([REGISTERED, fact("case.assigned", 5, 7, unit="b"), ASSIGNED], "b"),  # highest version
])
def test_case_unit(facts: list[Fact], unit: str | None) -> None:
    assert case_unit(facts) == unit
