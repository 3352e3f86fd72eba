"""The events this service publishes, with ids derived from what they announce.

The same alert for the same timer, due date and rung always gets the same id, so a replayed
input, a retried transaction or a second instance racing for the same timer can never put two
distinct events on the topic: the outbox keeps one row per event id.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from services.deadlines.ladder import OVERDUE, Rung
from services.deadlines.reconcile import DueChange, Timer
from shared.domain.limits import local_date
from shared.domain.schemas import (
    CalendarChanged,
    DeadlineOverdue,
    DeadlineOverdueWithdrawn,
    DeadlineRescheduled,
    DeadlineScheduled,
    DeadlineWarning,
)
from shared.platform.events import Envelope, envelope_for

SOURCE = "xinfang/deadlines"
_NAMESPACE = uuid.UUID("6f1c2d1e-8f57-4b8e-9d55-2f0c6a8e7d31")


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "|".join(str(p) for p in parts)))


def alert_id(case_id: str, kind: str, round_: int, due_date: date, days: int) -> str:
    return _id("alert", case_id, kind, round_, due_date, days)


def alert(case_id: str, kind: str, round_: int, due_date: date, rung: Rung, unit: str | None,
          now: datetime) -> Envelope:
    """`deadline.warning` or `deadline.overdue` for a rung the sweep reached.

    `at` is the rung's own instant (the start of the day N days before, or the end of the due
    date), not the moment the sweep ran: a case loaded from history is overdue since then.
    """
    if rung.days == OVERDUE:
        data: DeadlineOverdue | DeadlineWarning = DeadlineOverdue(
            case_id=case_id, kind=kind, due_date=due_date, unit=unit, at=rung.at)
    else:
        days_left = max(0, (due_date - local_date(max(now, rung.at))).days)
        data = DeadlineWarning(case_id=case_id, kind=kind, due_date=due_date,
                               days_left=days_left, unit=unit, at=rung.at)
    return envelope_for(data, subject=case_id, source=SOURCE, time=rung.at,
                        event_id=alert_id(case_id, kind, round_, due_date, rung.days))


def rescheduled(change: DueChange) -> Envelope:
    t = change.timer
    return envelope_for(
        DeadlineRescheduled(case_id=t.case_id, kind=t.kind.value,
                            old_due_date=change.old_due_date, new_due_date=t.due_date,
                            provisional=t.provisional, at=change.at),
        subject=t.case_id, source=SOURCE, time=change.at,
        event_id=_id("rescheduled", t.case_id, t.kind.value, t.round, change.old_due_date,
                     change.old_provisional, t.due_date, t.provisional, change.cause),
    )


def overdue_withdrawn(case_id: str, kind: str, round_: int, due_date: date, reason: str,
                      at: datetime) -> Envelope:
    """The withdrawal of the overdue alert sent for `due_date` (one per alert: its id is
    derived from the alert's)."""
    withdrawn = alert_id(case_id, kind, round_, due_date, OVERDUE)
    return envelope_for(
        DeadlineOverdueWithdrawn(case_id=case_id, kind=kind, round=round_, due_date=due_date,
                                 alert_id=withdrawn, reason=reason, at=at),
        subject=case_id, source=SOURCE, time=at, event_id=_id("withdrawn", withdrawn))


def calendar_changed(change: CalendarChanged) -> Envelope:
    """Keyed by the year (the calendar topic's key); one id per version of a year."""
    return envelope_for(change, subject=str(change.year), source=SOURCE, time=change.at,
                        event_id=_id("calendar", change.year, change.version, change.revision))


def scheduled(t: Timer) -> Envelope:
    """A timer of a configured length started (the report back): its due date for readers."""
    return envelope_for(
        DeadlineScheduled(case_id=t.case_id, kind=t.kind.value, round=t.round,
                          due_date=t.due_date, provisional=t.provisional,
                          length_days=t.length_days, start_date=t.start_date, at=t.start_at),
        subject=t.case_id, source=SOURCE, time=t.start_at,
        event_id=_id("scheduled", t.case_id, t.kind.value, t.round, t.start_event_id,
                     t.due_date))
