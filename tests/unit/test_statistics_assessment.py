"""The assessment indicators' facts and columns (services/statistics/assessment.py): folded in
any order, judged on the calendar, effective never before receipt."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from services.statistics import assessment
from services.statistics.facts import CaseFacts, apply
from shared.domain.calendar import WorkingCalendar
from shared.domain.event_types import EventData
from shared.domain.limits import CountingMode, overdue_after
from shared.domain.schemas import (
    STEP_TYPES,
    CaseAssigned,
    CaseLinked,
    CaseRegistered,
    DeadlineRescheduled,
    DeadlineScheduled,
)
from shared.domain.vocab import default_vocabulary
from shared.platform.events import Envelope, envelope_for

CAL = WorkingCalendar()
MODE = CountingMode.calendar_roll_forward
VOCAB = default_vocabulary()
T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
CASE = "c-1"


def env(data: EventData) -> Envelope:
    return envelope_for(data, subject=CASE, source="test", time=T0)


def step(action: str, days: float) -> Envelope:
    return env(STEP_TYPES[action](case_id=CASE, at=T0 + timedelta(days=days), status="x",
                                  previous_status="y", sequence=2))


def registered(**extra: object) -> Envelope:
    return env(CaseRegistered(case_id=CASE, tracking_no="XF-1", channel="provincial_transfer",
                              jurisdiction="jizhou", category="fees", received_at=T0,
                              **extra))  # type: ignore[arg-type]


def assigned(version: int, key: bool, days: float = 0.1) -> Envelope:
    return env(CaseAssigned(case_id=CASE, unit="u", assignment_version=version, rule_id="r",
                            rule_version=1, assigned_at=T0 + timedelta(days=days),
                            key_case=key))


def fold(events: list[Envelope]) -> CaseFacts:
    facts = CaseFacts(CASE)
    for e in events:
        facts = assessment.fold(apply(facts, e, VOCAB), e)
    return facts


def test_order_of_arrival_changes_nothing() -> None:
    events = [registered(assigned_by="江西省信访局"), assigned(1, False), assigned(2, True, 1),
              step("accept", 2), step("reply", 20), step("close", 21), step("request_review", 25),
              env(CaseLinked(case_id=CASE, linked_to="x", kind="repeat", at=T0 + timedelta(1))),
              env(DeadlineScheduled(case_id=CASE, kind="report_back", due_date=date(2025, 5, 2),
                                    provisional=False, length_days=60,
                                    start_date=date(2025, 3, 3), at=T0))]
    orders = itertools.islice(itertools.permutations(events), 0, None, 997)  # a spread sample
    results = {fold(list(order)) for order in orders} | {fold(events[::-1])}
    assert len(results) == 1
    facts = results.pop()
    assert facts.key_case and facts.assigned_by == "江西省信访局"
    assert facts.decided_at == T0 + timedelta(days=2) and facts.link_kind == "repeat"


def test_timely_acceptance_and_on_time_answer() -> None:
    a = assessment.derive(fold([registered(), step("accept", 15.5), step("reply", 60),
                                step("close", 61)]), CAL, MODE)
    # received Monday 2025-03-03: day 15 = 03-18; accepted 03-18 18:00 Shanghai, in time
    assert a.accept_due == date(2025, 3, 18) and a.accepted_on_time
    assert a.accept_late_at == overdue_after(date(2025, 3, 18))
    assert a.answer_on_time and a.e_answered == T0 + timedelta(days=60)
    late = assessment.derive(fold([registered(), step("decline", 16)]), CAL, MODE)
    assert not late.accepted_on_time and late.e_decided == T0 + timedelta(days=16)


def test_a_linked_case_owes_no_acceptance_and_a_repeat_counts() -> None:
    link = env(CaseLinked(case_id=CASE, linked_to="x", kind="final_repeat",
                          at=T0 - timedelta(days=1)))
    a = assessment.derive(fold([registered(), link]), CAL, MODE)
    assert a.accept_due is None and a.e_repeat == T0  # never before receipt
    dup = env(CaseLinked(case_id=CASE, linked_to="y", kind="duplicate", at=T0))
    assert assessment.derive(fold([registered(), link, dup]), CAL, MODE) == \
        assessment.NOT_ASSESSED


def test_key_case_and_report_back() -> None:
    events = [registered(flagged_key=True), step("accept", 1), step("reply", 10),
              step("close", 11),
              env(DeadlineScheduled(case_id=CASE, kind="report_back", due_date=date(2025, 3, 10),
                                    provisional=False, length_days=7,
                                    start_date=date(2025, 3, 3), at=T0))]
    a = assessment.derive(fold(events), CAL, MODE)
    assert a.key and a.handoff and not a.reported_on_time  # closed 03-14 > 03-10
    moved = env(DeadlineRescheduled(case_id=CASE, kind="report_back",
                                    old_due_date=date(2025, 3, 10),
                                    new_due_date=date(2025, 3, 20), provisional=False,
                                    at=T0 + timedelta(days=2)))
    b = assessment.derive(fold([*events, moved]), CAL, MODE)
    assert b.reported_on_time and b.report_back_late_at == overdue_after(date(2025, 3, 20))
    other = env(DeadlineScheduled(case_id=CASE, kind="handling", due_date=date(2025, 1, 1),
                                  provisional=False, length_days=60,
                                  start_date=date(2025, 3, 3), at=T0 + timedelta(days=3)))
    assert assessment.derive(fold([*events, moved, other]), CAL, MODE) == b


def test_period_bounds_of_year_one_can_be_sent() -> None:
    # The quarterly report of year 2 compares with year 1 (the fuzzer found a 500 here).
    from services.statistics.assessment_queries import _bounds
    from services.statistics.queries import StatsQuery

    start, end = _bounds(StatsQuery(date(1, 1, 1), date(1, 3, 31), T0))
    assert start.astimezone(UTC).year == 1 and end.astimezone(UTC).year == 1
