"""Typed payloads of every event on the wire, one class per (type, version).

No payload carries personal data or free text: a petitioner appears only as a pseudonymous
key (keyed hash), and a case's content only as a keyed MinHash signature that lets routing
find duplicates without reading the text.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from shared.domain.event_types import EventData, register


@register("case.registered", 1)
class CaseRegistered(EventData):
    case_id: str
    tracking_no: str
    channel: str
    jurisdiction: str
    category: str
    received_at: datetime
    signers: int = 1  # for a visit, the head count of the group (人次)
    representatives: int = 0  # how many representatives a group visit named (Art. 20)
    anonymous: bool = False
    # Keyed hash of the normalised resident ID, else phone; None for anonymous petitions.
    petitioner_key: str | None = None
    # A petitioner the bureau can give feedback to (named and with a phone or address):
    # the denominator of the feedback rate (docs/domain.md §5).
    reachable: bool = False
    subject_unit: str | None = None
    subject_person: str | None = None
    assigned_by: str | None = None
    # The assigning body's reference number (交办文号) of a transferred case: an official
    # document number, not personal data.
    assigned_ref: str | None = None
    flagged_key: bool = False
    content_signature: list[int] = Field(default_factory=list)


class CaseStep(EventData):
    """One lifecycle step taken on a case, published by intake (the system of record).

    ``sequence`` is the step's number in the case's timeline (registration is 1), so a
    consumer can tell an old step from a new one. ``unit`` is the unit the case was assigned
    to when the step was taken (for an objection: the unit that objected).
    """

    case_id: str
    at: datetime
    status: str
    previous_status: str
    sequence: int
    unit: str | None = None
    days: int | None = None  # extend
    rating: str | None = None  # rate
    transfer_to: str | None = None  # transfer_out: the body it went to (no personal data)
    # urge: the new date the unit must answer by, and how often the case has been urged
    respond_by: date | None = None
    urge_count: int | None = None


class StepType(StrEnum):
    """The event type of each lifecycle step (docs/domain.md §3); all share the CaseStep payload."""

    OBJECTED = "case.objected"
    ACCEPTED = "case.accepted"
    DECLINED = "case.declined"
    TRANSFERRED_OUT = "case.transferred_out"
    EXTENDED = "case.extended"
    REPLIED = "case.replied"
    CLOSED = "case.closed"
    FEEDBACK_GIVEN = "case.feedback_given"
    RATED = "case.rated"
    REVIEW_REQUESTED = "case.review_requested"
    REVIEWED = "case.reviewed"
    REREVIEW_REQUESTED = "case.rereview_requested"
    REREVIEWED = "case.rereviewed"
    # Added with the statutory chain (docs/domain.md §3): an extension is requested by the
    # handler and answered by the unit head; only the approval (``case.extended``) moves the
    # handling due date.
    EXTENSION_REQUESTED = "case.extension_requested"
    EXTENSION_REFUSED = "case.extension_refused"
    HEARING_STARTED = "case.hearing_started"
    HEARING_ENDED = "case.hearing_ended"
    URGED = "case.urged"
    KEY_FLAGGED = "case.key_flagged"
    INSTRUCTED = "case.instructed"


# The step each action of the actions API records (its names are docs/domain.md §6's).
STEP_OF_ACTION: dict[str, StepType] = {
    "object": StepType.OBJECTED, "accept": StepType.ACCEPTED, "decline": StepType.DECLINED,
    "transfer_out": StepType.TRANSFERRED_OUT, "extend": StepType.EXTENSION_REQUESTED,
    "approve_extension": StepType.EXTENDED, "refuse_extension": StepType.EXTENSION_REFUSED,
    "hearing_started": StepType.HEARING_STARTED, "hearing_ended": StepType.HEARING_ENDED,
    "urge": StepType.URGED, "flag_key": StepType.KEY_FLAGGED, "instruct": StepType.INSTRUCTED,
    "reply": StepType.REPLIED, "close": StepType.CLOSED, "feedback": StepType.FEEDBACK_GIVEN,
    "rate": StepType.RATED, "request_review": StepType.REVIEW_REQUESTED,
    "review_decision": StepType.REVIEWED, "request_rereview": StepType.REREVIEW_REQUESTED,
    "rereview_decision": StepType.REREVIEWED,
}
# The payload model of each action's step, one registered class per step type.
STEP_TYPES: dict[str, type[CaseStep]] = {
    action: register(step.value, 1)(type(
        f"Case{step.value.split('.')[1].title().replace('_', '')}", (CaseStep,), {}))
    for action, step in STEP_OF_ACTION.items()
}


@register("case.assigned", 1)
class CaseAssigned(EventData):
    case_id: str
    unit: str
    assignment_version: int
    rule_id: str
    rule_version: int
    reasons: list[str] = Field(default_factory=list)
    key_case: bool = False
    leader: str | None = None
    assigned_at: datetime
    # Who decided a reassignment (account or machine client); None for routing's own rules.
    actor_id: str | None = None
    actor_name: str | None = None


@register("case.transfer_decided", 1)
class CaseTransferDecided(EventData):
    """Routing's rule says the matter is not the bureau's; intake then transfers it out."""

    case_id: str
    body: str
    rule_id: str
    rule_version: int
    at: datetime


@register("case.linked", 1)
class CaseLinked(EventData):
    case_id: str
    linked_to: str
    kind: str  # repeat | duplicate | final_repeat
    at: datetime


@register("deadline.warning", 1)
class DeadlineWarning(EventData):
    case_id: str
    kind: str
    due_date: date
    days_left: int
    unit: str | None = None
    at: datetime


@register("deadline.overdue", 1)
class DeadlineOverdue(EventData):
    case_id: str
    kind: str
    due_date: date
    unit: str | None = None
    at: datetime


@register("deadline.scheduled", 1)
class DeadlineScheduled(EventData):
    """A deadline whose length is configuration started (today only ``report_back``): its due
    date, so readers need not know the configuration."""

    case_id: str
    kind: str
    round: int = 0
    due_date: date
    provisional: bool
    length_days: int
    start_date: date
    at: datetime


@register("deadline.rescheduled", 1)
class DeadlineRescheduled(EventData):
    case_id: str
    kind: str
    old_due_date: date
    new_due_date: date
    provisional: bool
    at: datetime


@register("deadline.overdue_withdrawn", 1)
class DeadlineOverdueWithdrawn(EventData):
    """A `deadline.overdue` the case's facts later contradicted: a step entered late whose own
    `at` met the limit by the end of its due date, or a due date moved (a calendar change, an
    extension entered late) past the moment of the alert. Consumers un-count the alert it
    names; a new overdue on the new due date is a new alert."""

    case_id: str
    kind: str
    round: int = 0
    due_date: date  # the due date the withdrawn alert was about
    alert_id: str  # the event id of the withdrawn deadline.overdue
    reason: str  # met_on_time | due_date_moved
    at: datetime


@register("calendar.changed", 1)
class CalendarChanged(EventData):
    """One change of one year's working-day calendar, published by deadlines (its owner).

    `holidays` and `workdays` are the operators' entry for the year after the change; with
    `removed` the entry is gone and the library's data (or weekends only) is in force again.
    `old_*` are the days that were in force before, whatever their source. `version` counts the
    year's changes (1, 2, …); `revision` is deadlines' calendar revision over all years, the
    number a due date records as the calendar it was counted on.
    """

    year: int
    version: int
    revision: int
    removed: bool = False
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)
    old_holidays: list[date] = Field(default_factory=list)
    old_workdays: list[date] = Field(default_factory=list)
    old_source: str | None = None  # api | file | library | None (no data)
    source: str  # api | file
    actor_id: str
    actor_name: str
    at: datetime
    moved: int = 0  # open deadlines the change moved (listed by GET /v1/calendar/{year}/history)


@register("handoff.received", 1)
class HandoffReceived(EventData):
    """受理告知: a case the bureau received from an assigning body was accepted or declined.

    For the assigning body's own system: its reference, the decision and whether it came
    within the acceptance limit. The reason of a decline is free text and stays in intake.
    """

    case_id: str
    tracking_no: str
    channel: str
    assigned_by: str | None = None
    assigned_ref: str | None = None
    decision: str  # accepted | declined
    received_at: datetime
    decided_at: datetime
    acceptance_due: date
    on_time: bool
    unit: str | None = None
    # Who decided: an account (``account:<id>``) or a machine client, as on the timeline.
    actor_id: str | None = None
    actor_name: str | None = None


@register("handoff.closed", 1)
class HandoffClosed(EventData):
    """办结报告: the closing report of a handed-off case. ``result`` is a code (``answered``:
    handled and answered in writing); the answer's text is only in the report document."""

    case_id: str
    tracking_no: str
    channel: str
    assigned_by: str | None = None
    assigned_ref: str | None = None
    result: str
    received_at: datetime
    accepted_at: datetime | None = None
    answered_at: datetime | None = None
    answer_date: date | None = None
    closed_at: datetime
    extension_days: int = 0
    handling_due: date | None = None
    on_time: bool
    unit: str | None = None
    actor_id: str | None = None
    actor_name: str | None = None
