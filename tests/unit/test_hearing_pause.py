"""Hearing time is not counted in the re-review decision limit (Art. 36): the days a hearing
took, across holidays and the roll-forward of the last day, and the timer paused meanwhile."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from services.deadlines.plan import Fact, plan
from services.deadlines.reconcile import Policy, Timer, reconcile
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import (
    SHANGHAI,
    CountingMode,
    DayUnit,
    DeadlineKind,
    compute_due,
    hearing_days,
)

K = DeadlineKind
CAL = WorkingCalendar()
ROLL = Policy(CountingMode.calendar_roll_forward, (7, 3), timedelta(seconds=10))
# 2024's National Day: 1–7 October off; Sunday 29 September and Saturday 12 October worked.
NATIONAL_DAY = (date(2024, 10, 1), date(2024, 10, 7))
CASE = "case-h"


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def fact(kind: str, at: str, seq: int) -> Fact:
    return Fact(str(uuid.uuid4()), CASE, kind, sh(at), seq)


def test_a_hearing_counts_its_first_and_last_day_and_overlaps_once() -> None:
    assert hearing_days([(date(2024, 9, 10), date(2024, 9, 10))], CAL, DayUnit.calendar) == 1
    assert hearing_days([(date(2024, 9, 10), date(2024, 9, 12)),
                         (date(2024, 9, 12), date(2024, 9, 13))], CAL, DayUnit.calendar) == 4
    with pytest.raises(ValueError):
        hearing_days([(date(2024, 9, 12), date(2024, 9, 10))], CAL, DayUnit.calendar)


def test_across_a_holiday_calendar_days_count_all_and_working_days_only_working_ones() -> None:
    span = [(date(2024, 9, 27), date(2024, 10, 8))]  # Friday before to Tuesday after
    assert hearing_days(span, CAL, DayUnit.calendar) == 12
    # 27 Sep (Fri), 29 Sep (the Sunday worked), 30 Sep, 8 Oct: the holiday adds nothing.
    assert hearing_days(span, CAL, DayUnit.working) == 4
    assert hearing_days([NATIONAL_DAY], CAL, DayUnit.working) == 0


def test_the_roll_forward_applies_to_the_day_reached_after_the_pause() -> None:
    start = date(2024, 9, 5)  # re-review requested: day 30 is 5 October, in the holiday
    plain = compute_due(K.rereview_decision, start, CAL)
    assert plain.due_date == date(2024, 10, 8)
    # Two hearing days: day 32 is 7 October, still the holiday, so 8 October again — not the
    # rolled date plus two (10 October).
    two = compute_due(K.rereview_decision, start, CAL, paused_days=2)
    assert (two.due_date, two.length_days, two.paused_days) == (date(2024, 10, 8), 32, 2)
    assert compute_due(K.rereview_decision, start, CAL,
                       paused_days=4).due_date == date(2024, 10, 9)
    working = compute_due(K.rereview_decision, start, CAL, CountingMode.working_days,
                          paused_days=3)
    assert working.due_date == CAL.add_working_days(start, 33)[0]


def test_only_the_rereview_decision_pauses() -> None:
    with pytest.raises(ValueError, match="hearing"):
        compute_due(K.handling, date(2024, 9, 5), CAL, paused_days=1)
    with pytest.raises(ValueError):
        compute_due(K.rereview_decision, date(2024, 9, 5), CAL, paused_days=-1)


def _apply(facts: list[Fact], stored: list[Timer], now: datetime,
           policy: Policy = ROLL) -> tuple[Timer, list]:  # type: ignore[type-arg]
    changes = reconcile(CASE, plan(facts), stored, CAL, policy, now)
    timers = {t.kind: t for t in stored}
    for t in changes.inserts:
        timers[t.kind] = replace(t, id=7)
    for t in changes.updates:
        timers[t.kind] = t
    return timers[K.rereview_decision], changes.moves


def test_a_hearing_over_national_day_pauses_the_timer_then_moves_and_rearms_it() -> None:
    requested = fact("case.rereview_requested", "2024-09-05T10:00", 10)
    timer, _ = _apply([requested], [], sh("2024-09-05T11:00"))
    assert timer.due_date == date(2024, 10, 8) and timer.next_fire_at == sh("2024-10-01T00:00")
    # The 7-day warning went out; then a hearing opens on 30 September.
    warned = replace(timer, fired_days=7, warned=(7,), status="warned",
                     next_fire_at=sh("2024-10-05T00:00"))
    started = fact("case.hearing_started", "2024-09-30T09:00", 11)
    paused, moves = _apply([requested, started], [warned], sh("2024-09-30T09:01"))
    assert paused.paused_since == date(2024, 9, 30) and paused.next_fire_at is None
    assert paused.due_date == date(2024, 10, 8) and not moves  # nothing fires while paused
    # It ends on 9 October: 30 Sep … 9 Oct is 10 calendar days (the holiday counts: the limit
    # is in calendar days); day 40 is 15 October, a working day.
    ended = fact("case.hearing_ended", "2024-10-09T16:00", 12)
    resumed, moves = _apply([requested, started, ended], [paused], sh("2024-10-09T16:01"))
    assert (resumed.due_date, resumed.paused_days, resumed.paused_since) == (
        date(2024, 10, 15), 10, None)
    assert resumed.length_days == 40
    # The 7-day rung of the new date (8 October) has passed already: it stays handled; the
    # 3-day one is next.
    assert resumed.warned == (7,) and resumed.next_fire_at == sh("2024-10-12T00:00")
    [move] = moves
    assert (move.old_due_date, move.timer.due_date, move.reason, move.cause) == (
        date(2024, 10, 8), date(2024, 10, 15), "hearing", ended.event_id)


def test_a_long_pause_rearms_the_first_warning_and_working_days_skip_the_holiday() -> None:
    policy = Policy(CountingMode.working_days, (7, 3), timedelta(seconds=10))
    requested = fact("case.rereview_requested", "2024-09-05T10:00", 10)
    timer, _ = _apply([requested], [], sh("2024-09-05T11:00"), policy)
    warned = replace(timer, fired_days=7, warned=(7,), status="warned")
    facts = [requested, fact("case.hearing_started", "2024-09-27T09:00", 11),
             fact("case.hearing_ended", "2024-10-08T09:00", 12)]
    resumed, moves = _apply(facts, [warned], sh("2024-10-08T10:00"), policy)
    assert resumed.paused_days == 4  # 27, 29, 30 September and 8 October
    assert resumed.due_date == CAL.add_working_days(date(2024, 9, 5), 34)[0]
    assert resumed.warned == () and resumed.fired_days is None  # the 7-day warning re-armed
    assert len(moves) == 1
