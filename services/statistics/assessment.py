"""The assessment indicators' facts and columns (pure): what the bureau is judged by — timely
acceptance, on-time answers, participation, repeat petitions, key-case resolution — and each
hand-off's report-back status (docs/domain.md §5, §8).

``fold`` adds to a case's facts what these figures need, after ``facts.apply`` (same rules:
the earliest instant wins whatever the arrival order; the current assignment's key status; a
duplicate link is never undone). ``derive`` turns them into the columns the indicator queries
read (``assessment_queries``): effective instants never earlier than receipt, and the due dates
judged on the service's calendar, so every figure is exact as of any instant.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, replace
from datetime import date, datetime

from services.statistics.facts import CaseFacts
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import CountingMode, DeadlineKind, local_date, overdue_after
from shared.domain.schemas import (
    CaseAssigned,
    CaseLinked,
    CaseRegistered,
    CaseStep,
    DeadlineRescheduled,
    DeadlineScheduled,
    StepType,
)
from shared.domain.timeliness import acceptance_due, handling_due, is_handoff, kept
from shared.platform.events import Envelope

REPEAT_KINDS = frozenset({"repeat", "final_repeat"})
_DECISIONS = frozenset({StepType.ACCEPTED, StepType.DECLINED, StepType.TRANSFERRED_OUT})
_REPORT_BACK = DeadlineKind.report_back.value


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def _step(facts: CaseFacts, event_type: str, at: datetime) -> CaseFacts:
    if event_type in _DECISIONS:
        facts = replace(facts, decided_at=_earliest(facts.decided_at, at))
    if event_type == StepType.DECLINED:
        facts = replace(facts, declined_at=_earliest(facts.declined_at, at))
    if event_type == StepType.REPLIED:
        facts = replace(facts, replied_at=_earliest(facts.replied_at, at))
    if event_type == StepType.REVIEW_REQUESTED:
        facts = replace(facts, review_requested_at=_earliest(facts.review_requested_at, at))
    return facts


def _linked(facts: CaseFacts, link: CaseLinked) -> CaseFacts:
    """A duplicate link is never undone; otherwise the earliest link (ties by kind) wins."""
    if link.kind == "duplicate":
        earlier = facts.linked_at if facts.link_kind == "duplicate" else None
        return replace(facts, link_kind="duplicate", linked_at=_earliest(earlier, link.at))
    if facts.link_kind == "duplicate":
        return facts
    if facts.linked_at is None or (link.at, link.kind) < (facts.linked_at, facts.link_kind or ""):
        return replace(facts, link_kind=link.kind, linked_at=link.at)
    return facts


def fold(facts: CaseFacts, envelope: Envelope) -> CaseFacts:
    """``facts`` (already through ``facts.apply``) with what the indicators need."""
    data = envelope.data
    if isinstance(data, CaseRegistered):
        if facts.received_at == data.received_at and facts.assigned_by is None:
            return replace(facts, assigned_by=data.assigned_by,
                           flagged_key=facts.flagged_key or data.flagged_key)
        return facts
    if isinstance(data, CaseAssigned):
        # facts.apply kept the winning assignment: take its key status if it is this one.
        if (facts.unit_version, facts.unit_at) == (data.assignment_version, data.assigned_at):
            return replace(facts, key_case=data.key_case)
        return facts
    if isinstance(data, CaseLinked):
        return _linked(facts, data)
    if isinstance(data, DeadlineScheduled | DeadlineRescheduled):
        if data.kind != _REPORT_BACK:
            return facts
        due = data.due_date if isinstance(data, DeadlineScheduled) else data.new_due_date
        # The latest announcement is the timer's due date (a recount follows its start).
        if facts.report_back_due_at is None or data.at >= facts.report_back_due_at:
            return replace(facts, report_back_due=due, report_back_due_at=data.at)
        return facts
    if isinstance(data, CaseStep):
        return _step(facts, envelope.type, data.at)
    return facts


@dataclass(frozen=True)
class Assessed:
    """The indicator columns of one counted case (all None / False when not counted)."""

    accept_due: date | None = None  # None: nothing owed (linked, or not counted)
    accept_late_at: datetime | None = None  # the instant the acceptance limit ran out
    e_decided: datetime | None = None
    accepted_on_time: bool = False
    e_answered: datetime | None = None
    answer_on_time: bool = False
    e_repeat: datetime | None = None
    key: bool = False
    e_review: datetime | None = None
    handoff: bool = False
    e_reported: datetime | None = None
    report_back_late_at: datetime | None = None
    reported_on_time: bool = False

    def values(self) -> list[object]:
        return list(astuple(self))


NOT_ASSESSED = Assessed()


@dataclass(frozen=True)
class IndicatorCounts:
    """The counts behind the assessment indicators (docs/domain.md §5), each over its own
    period: acceptances by due date, answers by answer date, the rest by receipt."""

    acceptances_due: int = 0  # acceptance due in the period and settled (decided or run out)
    accepted_timely: int = 0
    answered: int = 0  # written answers given in the period
    answered_on_time: int = 0
    feedback_given: int = 0  # to a named, reachable petitioner
    rated: int = 0  # of those, rated
    repeat_petitions: int = 0
    key_closed: int = 0
    key_resolved: int = 0  # of those, no review requested

    def __post_init__(self) -> None:
        for part, whole in (("accepted_timely", "acceptances_due"),
                            ("answered_on_time", "answered"), ("rated", "feedback_given"),
                            ("key_resolved", "key_closed")):
            if getattr(self, part) > getattr(self, whole) or getattr(self, part) < 0:
                raise ValueError(f"{part} ({getattr(self, part)}) exceeds {whole} "
                                 f"({getattr(self, whole)})")

# (name, SQL type) of the columns, in Assessed's order (schema.py appends them to case_fact).
ASSESSED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("accept_due", "date"), ("accept_late_at", "timestamptz"), ("e_decided", "timestamptz"),
    ("accepted_on_time", "boolean"), ("e_answered", "timestamptz"),
    ("answer_on_time", "boolean"), ("e_repeat", "timestamptz"), ("key", "boolean"),
    ("e_review", "timestamptz"), ("handoff", "boolean"), ("e_reported", "timestamptz"),
    ("report_back_late_at", "timestamptz"), ("reported_on_time", "boolean"),
)


def _at_least(floor: datetime, value: datetime | None) -> datetime | None:
    return None if value is None else max(floor, value)


def derive(facts: CaseFacts, calendar: WorkingCalendar, mode: CountingMode) -> Assessed:
    received = facts.received_at
    if not facts.registered or facts.duplicate or received is None:
        return NOT_ASSESSED
    linked = facts.link_kind is not None
    # A linked case is handled under the earlier one: no acceptance is owed on it.
    due = None if linked else acceptance_due(received, calendar, mode)
    answer_due = (handling_due(facts.accepted_at, facts.extension_days, calendar, mode)
                  if facts.accepted_at else None)
    reported = min((t for t in (facts.closed_at, facts.declined_at) if t), default=None)
    rb_due = facts.report_back_due
    return Assessed(
        accept_due=due,
        accept_late_at=overdue_after(due) if due else None,
        e_decided=_at_least(received, facts.decided_at),
        accepted_on_time=kept(due, facts.decided_at),
        e_answered=_at_least(received, facts.replied_at),
        answer_on_time=kept(answer_due, facts.replied_at),
        e_repeat=(_at_least(received, facts.linked_at)
                  if facts.link_kind in REPEAT_KINDS else None),
        key=facts.key_case or facts.flagged_key,
        e_review=_at_least(received, facts.review_requested_at),
        handoff=is_handoff(facts.channel),
        e_reported=_at_least(received, reported),
        report_back_late_at=overdue_after(rb_due) if rb_due else None,
        reported_on_time=rb_due is not None and reported is not None
        and local_date(reported) <= rb_due,
    )
