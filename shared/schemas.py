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


@register("case.action", 1)
class CaseActionTaken(EventData):
    """One lifecycle step (accept, extend, reply, close, …) taken on a case."""

    case_id: str
    action: str
    status: str
    at: datetime
    sequence: int
    unit: str | None = None
    days: int | None = None
    rating: str | None = None
    # The unit that objected (so routing never assigns back to it).
    objecting_unit: str | None = None
    transfer_to: str | None = None


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


@register("case.transferred_out", 1)
class CaseTransferredOut(EventData):
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
