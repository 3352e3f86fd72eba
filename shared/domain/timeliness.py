"""Was a limit kept? The acceptance and handling limits judged from a case's own facts (pure).

Shared by intake (the hand-off notices and the closing report tell the assigning body whether the
case was on time) and statistics (the assessment indicators), so both judge alike on the
calendar they are given.
"""

from __future__ import annotations

from datetime import date, datetime

from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import (
    MAX_EXTENSION_DAYS,
    CountingMode,
    DeadlineKind,
    compute_due,
    local_date,
)

# The channels of a case another body handed to the bureau (交办/转办): the cases that keep
# their assigning body and reference, and owe that body a receipt notice and a closing report.
HANDOFF_CHANNELS = frozenset({"provincial_transfer", "city_transfer", "superior_assigned"})


def is_handoff(channel: str | None) -> bool:
    return channel in HANDOFF_CHANNELS


def acceptance_due(received_at: datetime, calendar: WorkingCalendar,
                   mode: CountingMode | str = CountingMode.calendar_roll_forward) -> date:
    """The last day to tell the petitioner whether the matter is accepted (Art. 23)."""
    return compute_due(DeadlineKind.acceptance, local_date(received_at), calendar, mode).due_date


def handling_due(accepted_at: datetime, extension_days: int | None, calendar: WorkingCalendar,
                 mode: CountingMode | str = CountingMode.calendar_roll_forward) -> date:
    """The last day of the written answer (Art. 34): 60 days from acceptance plus the
    extension (clamped to what the law allows, so an odd event cannot make it raise)."""
    extension = max(0, min(MAX_EXTENSION_DAYS, extension_days or 0))
    return compute_due(DeadlineKind.handling, local_date(accepted_at), calendar, mode,
                       extension).due_date


def kept(due: date | None, at: datetime | None) -> bool:
    """Met on or before the due date (a limit runs to the end of its last local day); no due
    date or no meeting event is never on time."""
    return due is not None and at is not None and local_date(at) <= due
