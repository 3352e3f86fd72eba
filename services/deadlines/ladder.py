"""When a timer alerts, and what the sweep does when it comes due (pure).

A duty's ladder is its warnings (e.g. 7 and 3 days before the due date, 00:00 Asia/Shanghai)
followed by overdue (the end of the due date). A timer remembers the last rung it handled
(`fired_days`: days before the due date, -1 for overdue); `next_fire_at` is the instant of the
next rung, which is all the sweep's index looks at.

Choices:
- When the sweep reaches a timer several rungs late (a case loaded from history, a service that
  was down), it sends only the most severe rung reached and passes over the others: a case
  that is already overdue gets one overdue event, not two stale warnings before it.
- A window (objection, review and re-review requests) has one rung, its end: it lapses there,
  quietly. Letting it pass is the petitioner's or the unit's choice, not the bureau's failure,
  so no warning and no overdue event; its status becomes `met` with outcome `lapsed`.
- When a due date moves (extension, calendar change), a rung already handled stays handled
  only if its new instant has also passed; the others re-arm for the new date. An extension
  after the 7-day warning therefore warns again 7 days before the new date; a one-day move of
  a timer that is overdue under both dates sends nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from shared.domain.limits import overdue_after, start_of_local_day

OVERDUE = -1


@dataclass(frozen=True, slots=True)
class Rung:
    days: int  # days before the due date; OVERDUE for the end of the due date
    at: datetime


def rungs(due_date: date, warning_days: Sequence[int], is_window: bool) -> tuple[Rung, ...]:
    """The ladder in the order it is climbed."""
    return _rungs(due_date, tuple(warning_days), is_window)


@lru_cache(maxsize=4096)
def _rungs(due_date: date, warning_days: tuple[int, ...], is_window: bool
           ) -> tuple[Rung, ...]:
    # Cached: a burst of timers falling due together shares a handful of due dates.
    ladder = [] if is_window else [
        Rung(n, start_of_local_day(due_date - timedelta(days=n)))
        for n in sorted(set(warning_days), reverse=True)
    ]
    ladder.append(Rung(OVERDUE, overdue_after(due_date)))
    return tuple(ladder)


def _pending(ladder: Sequence[Rung], fired_days: int | None) -> list[Rung]:
    return [r for r in ladder if fired_days is None or r.days < fired_days]


def next_fire(due_date: date, warning_days: Sequence[int], is_window: bool,
              fired_days: int | None) -> datetime | None:
    pending = _pending(rungs(due_date, warning_days, is_window), fired_days)
    return pending[0].at if pending else None


@dataclass(frozen=True, slots=True)
class Fired:
    """What one sweep does to one timer."""

    rung: Rung | None  # the rung to announce (None: nothing to send)
    fired_days: int | None
    warned: tuple[int, ...]
    status: str
    outcome: str | None
    next_fire_at: datetime | None


def status_of(fired_days: int | None) -> str:
    if fired_days is None:
        return "pending"
    return "overdue" if fired_days == OVERDUE else "warned"


def advance(due_date: date, warning_days: Sequence[int], is_window: bool,
            fired_days: int | None, warned: Sequence[int], now: datetime) -> Fired:
    """The sweep's step for a claimed timer at `now`."""
    pending = _pending(rungs(due_date, warning_days, is_window), fired_days)
    reached = [r for r in pending if r.at <= now]
    ahead = [r for r in pending if r.at > now]
    next_at = ahead[0].at if ahead else None
    if not reached:
        return Fired(None, fired_days, tuple(warned), status_of(fired_days), None, next_at)
    top = reached[-1]
    if is_window:
        return Fired(None, OVERDUE, tuple(warned), "met", "lapsed", None)
    new_warned = tuple(warned) if top.days == OVERDUE else (*warned, top.days)
    return Fired(top, top.days, new_warned, status_of(top.days), None, next_at)


def rearm(old_due: date, new_due: date, warning_days: Sequence[int], is_window: bool,
          fired_days: int | None, now: datetime) -> int | None:
    """The rung handled for `new_due`: the old one, lowered to what has also passed anew."""
    if fired_days is None or old_due == new_due:
        return fired_days
    passed_anew = [r for r in rungs(new_due, warning_days, is_window)
                   if r.at <= now and r.days >= fired_days]
    return passed_anew[-1].days if passed_anew else None
