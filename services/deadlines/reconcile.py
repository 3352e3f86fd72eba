"""Bringing a case's stored timers in line with its plan (pure).

`reconcile` compares what `plan` says a case's timers are with the rows stored for it and
returns the rows to insert and update, and the due-date changes to record (history and
`deadline.rescheduled`). `recount` is the same due-date change for one open timer when the
calendar changes. Nothing here does I/O; the postgres adapter writes what comes out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from services.deadlines import ladder
from services.deadlines.plan import End, TimerPlan
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import (
    CONFIGURED_LENGTH_KINDS,
    CountingMode,
    DeadlineKind,
    Due,
    compute_due,
    counted_unit,
    hearing_days,
    local_date,
    overdue_after,
)
from shared.domain.statuses import OPEN_TIMER_STATUSES

OPEN = frozenset(OPEN_TIMER_STATUSES)


@dataclass(frozen=True, slots=True)
class Timer:
    """One stored timer (a row of `timers`); `id` is None until it is inserted."""

    id: int | None
    case_id: str
    kind: DeadlineKind
    round: int
    is_window: bool
    start_event_id: str
    start_type: str
    start_at: datetime
    start_date: date
    mode: CountingMode
    day_unit: str
    length_days: int
    extension_days: int
    rule: str
    article: str
    due_date: date
    provisional: bool
    status: str
    outcome: str | None = None
    warned: tuple[int, ...] = ()
    fired_days: int | None = None
    overdue_at: datetime | None = None
    next_fire_at: datetime | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
    ended_by_type: str | None = None
    paused_days: int = 0  # hearing days added to the limit (re-review decision, Art. 36)
    paused_since: date | None = None  # a hearing is open: the timer sends nothing meanwhile

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


@dataclass(frozen=True, slots=True)
class DueChange:
    """A due date that moved: kept in the timer's history and announced."""

    timer: Timer  # after the change (its id is set: only stored timers move)
    old_due_date: date
    old_provisional: bool
    reason: str  # extension | hearing | calendar | recount
    cause: str  # what moved it: an event id, or calendar:<year>@<revision>
    at: datetime


@dataclass(frozen=True)
class Policy:
    """The service's configuration that timers depend on."""

    mode: CountingMode
    warning_days: tuple[int, ...]
    grace: timedelta


@dataclass
class Changes:
    inserts: list[Timer]
    updates: list[Timer]
    moves: list[DueChange]


def _due(kind: DeadlineKind, start: date, calendar: WorkingCalendar, mode: CountingMode,
         extension_days: int, length_days: int | None = None, paused_days: int = 0) -> Due:
    days = length_days if kind in CONFIGURED_LENGTH_KINDS else None
    return compute_due(kind, start, calendar, mode, extension_days, days,
                       paused_days=paused_days)


def _paused_days(p: TimerPlan, calendar: WorkingCalendar, mode: CountingMode) -> int:
    return hearing_days(p.hearings, calendar, counted_unit(p.kind, mode)) if p.hearings else 0


def _next_fire(due_date: date, policy: Policy, is_window: bool, fired: int | None,
               paused_since: date | None) -> datetime | None:
    # A paused timer climbs no rung: the hearing's end counts it again and re-arms it.
    if paused_since is not None:
        return None
    return ladder.next_fire(due_date, policy.warning_days, is_window, fired)


def _ended(timer: Timer, end: End) -> Timer:
    outcome = end.outcome
    if end.status == "met" and outcome == "done":
        # A duty met on the due date is on time: overdue starts only after its end.
        outcome = "on_time" if end.at < overdue_after(timer.due_date) else "late"
    return replace(timer, status=end.status, outcome=outcome, next_fire_at=None,
                   ended_at=end.at, ended_by=end.event_id, ended_by_type=end.event_type)


def new_timer(p: TimerPlan, case_id: str, calendar: WorkingCalendar, policy: Policy,
              now: datetime) -> Timer:
    start = local_date(p.start.at)
    due = _due(p.kind, start, calendar, policy.mode, p.extension_days, p.length_days,
               _paused_days(p, calendar, policy.mode))
    first = _next_fire(due.due_date, policy, p.is_window, None, p.paused_since)
    timer = Timer(
        id=None, case_id=case_id, kind=p.kind, round=p.round, is_window=p.is_window,
        start_event_id=p.start.event_id, start_type=p.start.type, start_at=p.start.at,
        start_date=start, mode=policy.mode, day_unit=due.unit.value,
        length_days=due.length_days, extension_days=p.extension_days, rule=due.rule,
        article=due.article, due_date=due.due_date, provisional=due.provisional,
        status="pending",
        next_fire_at=None if first is None else max(first, now + policy.grace),
        paused_days=due.paused_days, paused_since=p.paused_since,
    )
    return _ended(timer, p.end) if p.end is not None else timer


def move(timer: Timer, due: Due, policy: Policy, now: datetime, *, reason: str, cause: str,
         at: datetime, paused_since: date | None = None) -> tuple[Timer, DueChange | None]:
    """`timer` counted anew as `due` (and paused since `paused_since`, if a hearing is open);
    the change to record, or None if the due date did not move."""
    if (due.due_date, due.provisional, due.extension_days, due.length_days) == (
            timer.due_date, timer.provisional, timer.extension_days, timer.length_days):
        if paused_since == timer.paused_since:
            return timer, None
        # Paused or resumed without moving the due date (yet): only the ladder changes.
        return replace(timer, paused_since=paused_since, next_fire_at=_next_fire(
            timer.due_date, policy, timer.is_window, timer.fired_days, paused_since)), None
    fired = ladder.rearm(timer.due_date, due.due_date, policy.warning_days, timer.is_window,
                         timer.fired_days, now)
    moved = replace(
        timer, due_date=due.due_date, provisional=due.provisional,
        extension_days=due.extension_days, length_days=due.length_days, rule=due.rule,
        fired_days=fired, status=ladder.status_of(fired),
        warned=tuple(w for w in timer.warned if fired is not None and w >= fired),
        overdue_at=timer.overdue_at if fired == ladder.OVERDUE else None,
        next_fire_at=_next_fire(due.due_date, policy, timer.is_window, fired, paused_since),
        paused_days=due.paused_days, paused_since=paused_since,
    )
    return moved, DueChange(moved, timer.due_date, timer.provisional, reason, cause, at)


def recount(timer: Timer, calendar: WorkingCalendar, policy: Policy, now: datetime, cause: str
            ) -> tuple[Timer, DueChange | None]:
    """An open timer counted again on a changed calendar (its own mode and start)."""
    due = _due(timer.kind, timer.start_date, calendar, timer.mode, timer.extension_days,
               timer.length_days - timer.extension_days, timer.paused_days)
    return move(timer, due, policy, now, reason="calendar", cause=cause, at=now,
                paused_since=timer.paused_since)


def _update(existing: Timer, p: TimerPlan, calendar: WorkingCalendar, policy: Policy,
            now: datetime) -> tuple[Timer, DueChange | None]:
    timer, change = existing, None
    if timer.is_open:
        start = local_date(p.start.at)
        # What moved it: the extension, else a different start (an earlier one came late).
        reason, by = "recount", p.start
        paused = _paused_days(p, calendar, timer.mode)
        if p.extension_days != timer.extension_days and p.extended is not None:
            reason, by = "extension", p.extended
        elif p.hearing is not None and (paused, p.paused_since) != (
                timer.paused_days, timer.paused_since):
            reason, by = "hearing", p.hearing
        if p.start.event_id != timer.start_event_id:
            timer = replace(timer, start_event_id=p.start.event_id, start_type=p.start.type,
                            start_at=p.start.at, start_date=start)
        # A configured length stays what the timer started with (a changed file applies to new
        # cases only).
        length = timer.length_days - timer.extension_days
        due = _due(p.kind, start, calendar, timer.mode, p.extension_days, length, paused)
        timer, change = move(timer, due, policy, now, reason=reason, cause=by.event_id,
                             at=by.at, paused_since=p.paused_since)
        if p.end is not None:
            timer = _ended(timer, p.end)
    elif p.end is not None and p.end.event_id != timer.ended_by:
        # Ended already (e.g. a lapsed window, or met by a stand-in event) and the event that
        # really ended it arrived late: record the real one.
        timer = _ended(timer, p.end)
    return timer, change


def reconcile(case_id: str, plans: Iterable[TimerPlan], stored: Sequence[Timer],
              calendar: WorkingCalendar, policy: Policy, now: datetime) -> Changes:
    """What to write so the stored timers of `case_id` match `plans`.

    Stored timers that the plan no longer lists are left alone: facts only accumulate, so a
    timer once planned stays planned.
    """
    by_key = {(t.kind, t.round): t for t in stored}
    changes = Changes([], [], [])
    for p in plans:
        existing = by_key.get((p.kind, p.round))
        if existing is None:
            changes.inserts.append(new_timer(p, case_id, calendar, policy, now))
            continue
        updated, change = _update(existing, p, calendar, policy, now)
        if updated != existing:
            changes.updates.append(updated)
        if change is not None:
            changes.moves.append(change)
    return changes
