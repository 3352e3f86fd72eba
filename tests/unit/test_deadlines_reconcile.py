"""Stored timers brought in line with a case's plan, and recounted on a new calendar
(reconcile.py): due dates, provisional marks, extensions, history entries, on-time outcomes."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta

from services.deadlines.ladder import OVERDUE
from services.deadlines.plan import Fact, plan
from services.deadlines.reconcile import Policy, Timer, reconcile, recount
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import SHANGHAI, CountingMode, DeadlineKind

K = DeadlineKind
CAL = WorkingCalendar()
POLICY = Policy(CountingMode.calendar_roll_forward, (7, 3), timedelta(seconds=10))
NOW = datetime(2024, 6, 1, 12, tzinfo=SHANGHAI)
CASE = "case-r"


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def fact(kind: str, at: str, seq: int | None = None, **kw: object) -> Fact:
    return Fact(str(uuid.uuid4()), CASE, kind, sh(at), seq, **kw)  # type: ignore[arg-type]


def apply(facts: list[Fact], stored: list[Timer], calendar: WorkingCalendar = CAL,
          now: datetime = NOW) -> tuple[dict[K, Timer], list]:  # type: ignore[type-arg]
    changes = reconcile(CASE, plan(facts), stored, calendar, POLICY, now)
    timers = {t.kind: t for t in stored}
    for i, t in enumerate(changes.inserts):
        timers[t.kind] = replace(t, id=1000 + i)
    for t in changes.updates:
        timers[t.kind] = t
    return timers, changes.moves


def test_handling_due_60_days_with_roll_forward_over_national_day() -> None:
    # Accepted 2024-08-02: day 60 is 2024-10-01, in the 国庆 holiday; due the next working day.
    timers, _ = apply([fact("case.accepted", "2024-08-02T10:00", 3)], [])
    handling = timers[K.handling]
    assert (handling.due_date, handling.provisional, handling.article) == (
        date(2024, 10, 8), False, "第34条")
    assert handling.start_date == date(2024, 8, 2) and handling.status == "pending"
    assert handling.next_fire_at == sh("2024-10-01T00:00")  # 7 days before


def test_local_date_of_the_start_is_shanghai() -> None:
    # 2024-08-01T17:00Z is already 2024-08-02 in Shanghai
    at = datetime(2024, 8, 1, 17, tzinfo=SHANGHAI).astimezone(SHANGHAI)
    accepted = Fact(str(uuid.uuid4()), CASE, "case.accepted",
                    datetime.fromisoformat("2024-08-01T17:00:00+00:00"), 3)
    timers, _ = apply([accepted], [])
    assert timers[K.handling].start_date == date(2024, 8, 2) != at.date()


def test_objection_counts_five_working_days_across_spring_festival() -> None:
    facts = [fact("case.registered", "2025-01-24T09:00"),
             fact("case.assigned", "2025-01-24T10:00", 1, unit="u")]
    timers, _ = apply(facts, [])
    objection = timers[K.objection]
    assert (objection.due_date, objection.day_unit, objection.is_window) == (
        date(2025, 2, 7), "working", True)
    assert objection.next_fire_at == sh("2025-02-08T00:00")  # windows only lapse


def test_historical_timer_fires_after_the_grace_not_at_its_old_instant() -> None:
    timers, _ = apply([fact("case.accepted", "2020-01-02T10:00", 3)], [])
    assert timers[K.handling].next_fire_at == NOW + POLICY.grace


def test_extension_moves_handling_by_its_days_and_keeps_the_old_date() -> None:
    accepted = fact("case.accepted", "2024-03-01T10:00", 3)
    timers, _ = apply([accepted], [])
    before = timers[K.handling]
    assert before.due_date == date(2024, 4, 30)
    extended = fact("case.extended", "2024-04-20T10:00", 4, days=20)
    after_timers, moves = apply([accepted, extended], [before])
    after = after_timers[K.handling]
    assert after.due_date == date(2024, 5, 20)  # 80 days: Monday, no roll needed
    assert (after.extension_days, after.length_days) == (20, 80)
    assert after.rule.startswith("60+20 calendar days")
    [move] = moves
    assert (move.old_due_date, move.reason, move.cause, move.at) == (
        date(2024, 4, 30), "extension", extended.event_id, extended.at)


def test_extension_rolls_only_the_final_day() -> None:
    accepted = fact("case.accepted", "2025-03-11T10:00", 3)
    extended = fact("case.extended", "2025-04-01T10:00", 4, days=30)
    timers, _ = apply([accepted, extended], [])
    assert timers[K.handling].due_date == date(2025, 6, 9)


def test_extension_after_a_warning_rearms_it() -> None:
    accepted = fact("case.accepted", "2024-03-01T10:00", 3)
    timers, _ = apply([accepted], [])
    warned = replace(timers[K.handling], status="warned", warned=(7,), fired_days=7)
    extended = fact("case.extended", "2024-04-24T10:00", 4, days=30)
    after, _ = apply([accepted, extended], [warned], now=sh("2024-04-24T11:00"))
    handling = after[K.handling]
    assert (handling.status, handling.warned, handling.fired_days) == ("pending", (), None)
    assert handling.next_fire_at == sh("2024-05-23T00:00")  # 7 days before 2024-05-30


def test_met_on_the_due_date_is_on_time_and_after_it_is_late() -> None:
    accepted = fact("case.accepted", "2024-03-01T10:00", 3)
    on_time, _ = apply([accepted, fact("case.replied", "2024-04-30T23:00", 4)], [])
    assert (on_time[K.handling].status, on_time[K.handling].outcome) == ("met", "on_time")
    assert on_time[K.handling].next_fire_at is None
    late, _ = apply([accepted, fact("case.replied", "2024-05-01T00:00", 4)], [])
    assert late[K.handling].outcome == "late"


def test_an_overdue_timer_met_later_becomes_met() -> None:
    accepted = fact("case.accepted", "2024-03-01T10:00", 3)
    timers, _ = apply([accepted], [])
    overdue = replace(timers[K.handling], status="overdue", fired_days=OVERDUE,
                      overdue_at=sh("2024-05-01T00:00"), next_fire_at=None)
    replied = fact("case.replied", "2024-05-10T10:00", 4)
    after, moves = apply([accepted, replied], [overdue])
    assert (after[K.handling].status, after[K.handling].outcome) == ("met", "late")
    assert after[K.handling].ended_by == replied.event_id and moves == []


def test_reapplying_the_same_facts_changes_nothing() -> None:
    facts = [fact("case.registered", "2024-03-01T09:00"),
             fact("case.assigned", "2024-03-01T10:00", 1, unit="u"),
             fact("case.accepted", "2024-03-02T10:00", 3)]
    timers, _ = apply(facts, [])
    changes = reconcile(CASE, plan(facts), list(timers.values()), CAL, POLICY, NOW)
    assert (changes.inserts, changes.updates, changes.moves) == ([], [], [])


def test_a_lapsed_window_used_in_time_by_a_late_event_becomes_used() -> None:
    replied = fact("case.replied", "2024-03-01T10:00", 5)
    timers, _ = apply([replied], [])
    lapsed = replace(timers[K.review_request], status="met", outcome="lapsed",
                     fired_days=OVERDUE, next_fire_at=None, ended_at=sh("2024-04-01T00:00"))
    requested = fact("case.review_requested", "2024-03-20T10:00", 7)
    after, _ = apply([replied, requested], [lapsed])
    assert (after[K.review_request].status, after[K.review_request].outcome) == ("met", "used")


# --- a year without calendar data, then its overlay -----------------------------------------

# HYPOTHETICAL 2027 data (2027-01-01 is a Friday): not the official notice.
OVERLAY_2027 = {2027: {"holidays": ["2027-01-01"], "workdays": []}}


def test_due_in_a_year_without_data_is_provisional_and_recounted_when_it_arrives() -> None:
    # Accepted 2026-11-02: day 60 is Friday 2027-01-01; 2027 has no data: weekends only.
    timers, _ = apply([fact("case.accepted", "2026-11-02T10:00", 3)], [],
                      now=sh("2026-11-02T11:00"))
    before = timers[K.handling]
    assert (before.due_date, before.provisional) == (date(2027, 1, 1), True)

    calendar = CAL.with_overlay(OVERLAY_2027)
    after, move = recount(before, calendar, POLICY, sh("2026-12-01T09:00"), "calendar:2027@1")
    assert (after.due_date, after.provisional) == (date(2027, 1, 4), False)
    assert move is not None
    assert (move.old_due_date, move.old_provisional, move.reason) == (
        date(2027, 1, 1), True, "calendar")
    assert after.next_fire_at == sh("2026-12-28T00:00")


def test_overlay_that_keeps_the_date_only_drops_provisional() -> None:
    timers, _ = apply([fact("case.registered", "2027-03-01T10:00")], [],
                      now=sh("2027-03-01T11:00"))
    routing = timers[K.routing]
    assert (routing.due_date, routing.provisional) == (date(2027, 3, 16), True)
    after, move = recount(routing, CAL.with_overlay({2027: {"holidays": [], "workdays": []}}),
                          POLICY, sh("2027-03-02T09:00"), "calendar:2027@2")
    assert (after.due_date, after.provisional) == (date(2027, 3, 16), False)
    assert move is not None and move.old_due_date == after.due_date


def test_recount_on_an_unchanged_calendar_records_nothing() -> None:
    timers, _ = apply([fact("case.accepted", "2024-03-01T10:00", 3)], [])
    handling = timers[K.handling]
    assert recount(handling, CAL, POLICY, NOW, "calendar:2024@3") == (handling, None)


def test_a_timer_keeps_the_mode_it_started_with() -> None:
    accepted = fact("case.accepted", "2024-03-01T10:00", 3)
    timers, _ = apply([accepted], [])
    working = Policy(CountingMode.working_days, (7, 3), timedelta(0))
    changes = reconcile(CASE, plan([accepted]), list(timers.values()), CAL, working, NOW)
    assert changes.updates == []
    fresh = reconcile("other", plan([accepted]), [], CAL, working, NOW).inserts[0]
    assert (fresh.mode, fresh.due_date) == (CountingMode.working_days, date(2024, 5, 28))
