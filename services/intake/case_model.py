"""The words of the case lifecycle: its actions, a case's state as the lifecycle sees it, a
requested action, and what deciding one yields (pure data; the rules are in lifecycle.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from services.intake.fields import FieldError
from shared.domain.schemas import StepType
from shared.domain.statuses import CaseStatus


class Action(StrEnum):
    ASSIGN = "assign"  # internal
    OBJECT = "object"
    ACCEPT = "accept"
    DECLINE = "decline"
    TRANSFER_OUT = "transfer_out"
    EXTEND = "extend"
    REPLY = "reply"
    CLOSE = "close"
    FEEDBACK = "feedback"
    RATE = "rate"
    REQUEST_REVIEW = "request_review"
    REVIEW_DECISION = "review_decision"
    REQUEST_REREVIEW = "request_rereview"
    REREVIEW_DECISION = "rereview_decision"
    APPROVE_EXTENSION = "approve_extension"
    REFUSE_EXTENSION = "refuse_extension"
    HEARING_STARTED = "hearing_started"
    HEARING_ENDED = "hearing_ended"
    URGE = "urge"
    FLAG_KEY = "flag_key"
    INSTRUCT = "instruct"


class Rating(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


@dataclass(frozen=True)
class CaseState:
    """What the lifecycle needs to know about a case (intake's row, minus personal data)."""

    case_id: str
    status: CaseStatus
    received_at: datetime
    last_action_at: datetime | None = None
    objection_due: date | None = None  # last Asia/Shanghai day an objection is allowed
    extension_days: int | None = None
    replied_at: datetime | None = None
    reviewed_at: datetime | None = None
    review_request_due: date | None = None  # precomputed; else date(replied_at) + 30
    rereview_request_due: date | None = None  # precomputed; else date(reviewed_at) + 30
    rating: Rating | None = None
    extension_requested: int | None = None  # days of a request awaiting the unit head
    hearing_open: bool = False
    key_case: bool = False
    urges: int = 0


@dataclass(frozen=True)
class ActionCommand:
    """One requested action: the body of ``POST /v1/cases/{id}/actions`` or routing's event."""

    action: Action | str
    at: datetime | None = None  # defaults to now
    reason: str | None = None
    days: int | None = None  # extend only
    rating: Rating | str | None = None  # rate only
    transfer_to: str | None = None  # transfer_out only: the body it goes to (no personal data)
    objection_due: date | None = None  # assign only: last day the new unit may object
    respond_by: date | None = None  # urge only: the new date the unit must answer by
    from_routing: bool = False  # applied from routing.events: internal actions allowed


@dataclass(frozen=True)
class CaseEvent:
    """An event for ``case.events``: no free text, no personal data."""

    type: StepType
    case_id: str
    at: datetime
    status: CaseStatus
    previous_status: CaseStatus
    days: int | None = None
    rating: Rating | None = None
    transfer_to: str | None = None
    respond_by: date | None = None
    urge_count: int | None = None

    def payload(self) -> dict[str, object]:
        body: dict[str, object] = {
            "case_id": self.case_id, "at": self.at.isoformat(), "status": self.status.value,
            "previous_status": self.previous_status.value,
        }
        if self.days is not None:
            body["days"] = self.days
        if self.rating is not None:
            body["rating"] = self.rating.value
        if self.transfer_to is not None:
            body["transfer_to"] = self.transfer_to
        if self.respond_by is not None:
            body["respond_by"] = self.respond_by.isoformat()
        if self.urge_count is not None:
            body["urge_count"] = self.urge_count
        return body


@dataclass(frozen=True)
class Decision:
    action: Action
    previous_status: CaseStatus
    status: CaseStatus
    at: datetime
    reason: str | None  # for intake's timeline only
    state: CaseState  # the case after the action: what to persist
    event: CaseEvent | None  # what to publish, None when nothing is


class ActionInvalid(ValueError):
    """The action is possible but its details break a rule (HTTP 422); nothing changes."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors
