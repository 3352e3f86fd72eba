"""When a sent overdue alert is withdrawn (pure).

An overdue alert says "the limit was not kept". Facts that arrive later can contradict it:
a clerk enters paper history (the acceptance was on time on paper, entered after the alert
fired), or the due date moves past the alert (an operator enters the year's holidays, an
extension is entered late). Then the alert is withdrawn with a `deadline.overdue_withdrawn`
naming it, and consumers that counted it un-count it. An alert the facts confirm (met late,
or still overdue under the new date) stands; a cancelled timer's alert stands too: the limit
was not kept while it ran.
"""

from __future__ import annotations

from datetime import datetime

from services.deadlines import outputs
from services.deadlines.ladder import OVERDUE
from services.deadlines.reconcile import Timer
from shared.platform.events import Envelope

MET_ON_TIME = "met_on_time"
DUE_DATE_MOVED = "due_date_moved"


def reason(old: Timer, new: Timer) -> str | None:
    """Why the overdue alert `old` sent is withdrawn by its change to `new`, if it is."""
    if old.fired_days != OVERDUE or old.outcome == "on_time" or old.is_window:
        return None  # no alert standing (never sent, or withdrawn before)
    if new.status == "met" and new.outcome == "on_time":
        return MET_ON_TIME
    if new.is_open and new.fired_days != OVERDUE:
        return DUE_DATE_MOVED
    return None


def of(old: Timer, new: Timer, now: datetime) -> list[Envelope]:
    """The withdrawal `old` → `new` calls for (none or one)."""
    why = reason(old, new)
    if why is None:
        return []
    # `at` is when the alert was withdrawn: the fact that contradicts it may be much older.
    return [outputs.overdue_withdrawn(old.case_id, old.kind.value, old.round, old.due_date,
                                      why, now)]
