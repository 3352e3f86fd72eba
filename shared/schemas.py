"""Typed payloads of every event on the wire, one class per (type, version).

No payload carries personal data or free text: a petitioner appears only as a pseudonymous
key (keyed hash), and a case's content only as a keyed MinHash signature that lets routing
find duplicates without reading the text.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from shared.events import EventData, register


@register("case.registered", 1)
class CaseRegistered(EventData):
    case_id: str
    tracking_no: str
    channel: str
    jurisdiction: str
    category: str
    received_at: datetime
    signers: int = 1
    anonymous: bool = False
    # Keyed hash of the normalised resident ID, else phone; None for anonymous petitions.
    petitioner_key: str | None = None
    # A petitioner the bureau can give feedback to (named and with a phone or address):
    # the denominator of the feedback rate (SPEC §5).
    reachable: bool = False
    subject_unit: str | None = None
    subject_person: str | None = None
    assigned_by: str | None = None
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


# One event type per lifecycle action (SPEC §3); all share the CaseStep payload.
STEP_TYPES: dict[str, type[CaseStep]] = {}
for _action, _type in (
    ("object", "case.objected"), ("accept", "case.accepted"), ("decline", "case.declined"),
    ("transfer_out", "case.transferred_out"), ("extend", "case.extended"),
    ("reply", "case.replied"), ("close", "case.closed"), ("feedback", "case.feedback_given"),
    ("rate", "case.rated"), ("request_review", "case.review_requested"),
    ("review_decision", "case.reviewed"), ("request_rereview", "case.rereview_requested"),
    ("rereview_decision", "case.rereviewed"),
):
    _cls = type(f"Case{_type.split('.')[1].title().replace('_', '')}", (CaseStep,), {})
    STEP_TYPES[_action] = register(_type, 1)(_cls)


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


@register("deadline.rescheduled", 1)
class DeadlineRescheduled(EventData):
    case_id: str
    kind: str
    old_due_date: date
    new_due_date: date
    provisional: bool
    at: datetime
