"""The case lifecycle (docs/domain.md §3): one transition table and a pure decision on each action.

A status names the last milestone a case reached. ``TRANSITIONS`` below is the whole lifecycle
and the only place it is written; ``decide`` adds the rules on an action's details.

Orderings chosen where the contract leaves room (docs/domain.md §3):
- ``in_progress`` is not a stored status: no action marks "work started" and the handling
  limit runs from acceptance (Art. 34), so ``accepted`` and ``extended`` are the in-progress
  statuses. A second ``extend`` is refused by the table (409, Art. 34 note).
- An extension is asked for and answered (Art. 34, 经本行政机关负责人批准): ``extend`` records the
  handler's request (the status stays ``accepted``, the clock keeps running), the unit head's
  ``approve_extension`` makes the case ``extended`` (only that moves the handling due date) and
  ``refuse_extension`` ends the request, after which a new one may be made. Once approved,
  never again: ``extended`` has no ``extend``.
- A hearing (听证, Art. 36) is opened and closed on a re-review request; its days do not count
  towards the re-review decision limit, and no decision is taken while it is open.
- ``urge`` (督办), ``flag_key`` and ``instruct`` (领导批示) are notes on the case, not
  milestones: they keep the status. The second urge makes the case a key case, as ``flag_key``.
- Feedback (反馈) follows closure; a rating follows feedback, because the petitioner rates an
  answer he has been told about. Each happens once.
- A review request needs a closed case (so closure statistics count it) but its 30-day window
  runs from the written answer, the reply's ``at`` (Art. 35); a re-review request's from the
  review decision (Art. 36). Both are Asia/Shanghai dates: the last allowed day is start + 30,
  unless the state carries a precomputed due date (the deadlines service's roll-forward rule).
- The 5-working-day objection window needs the working-day calendar, which this module does
  not know: the caller precomputes its last day (``CaseState.objection_due``, set from the
  ``assign`` command); ``None`` means no limit is known and the objection is allowed.
- Events carry no free text (reasons may name people, docs/domain.md §3 保密); reasons stay in
intake's
  timeline. ``assign`` emits nothing: routing's ``case.assigned`` already is the event. A
  transfer routing decided (``case.transfer_decided``) is applied as ``transfer_out`` and does
  emit ``case.transferred_out``: intake, the system of record, takes that step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.intake.case_model import (
    Action,
    ActionCommand,
    ActionInvalid,
    CaseEvent,
    CaseState,
    Decision,
    Rating,
)
from services.intake.fields import FieldError
from services.intake.normalise import CLOCK_SKEW
from shared.domain.schemas import STEP_OF_ACTION, StepType
from shared.domain.statuses import CaseStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXTENSION_MAX_DAYS = 30  # Art. 34
REVIEW_WINDOW_DAYS = 30  # Art. 35 and 36
MAX_REASON = 2000


S, A = CaseStatus, Action

# Statuses in which the bureau still owes the petitioner something: where urging makes sense.
_OWING = (S.REGISTERED, S.ASSIGNED, S.ACCEPTED, S.EXTENDED, S.REVIEW_REQUESTED,
          S.REREVIEW_REQUESTED)
# Every status a case can still move from: a leader's instruction or a key flag still matter.
_LIVE = (*_OWING, S.REPLIED, S.CLOSED, S.FEEDBACK_GIVEN, S.RATED, S.REVIEWED)

# The milestones: status → {action: next status}. Absent means refused (409).
_MILESTONES: dict[CaseStatus, dict[Action, CaseStatus]] = {
    S.REGISTERED: {A.ASSIGN: S.ASSIGNED, A.TRANSFER_OUT: S.TRANSFERRED_OUT},
    S.ASSIGNED: {
        A.OBJECT: S.REGISTERED, A.ACCEPT: S.ACCEPTED, A.DECLINE: S.DECLINED,
        A.TRANSFER_OUT: S.TRANSFERRED_OUT,
    },
    S.ACCEPTED: {A.EXTEND: S.ACCEPTED, A.APPROVE_EXTENSION: S.EXTENDED,
                 A.REFUSE_EXTENSION: S.ACCEPTED, A.REPLY: S.REPLIED},
    S.EXTENDED: {A.REPLY: S.REPLIED},
    S.REPLIED: {A.CLOSE: S.CLOSED},
    S.CLOSED: {A.FEEDBACK: S.FEEDBACK_GIVEN, A.REQUEST_REVIEW: S.REVIEW_REQUESTED},
    S.FEEDBACK_GIVEN: {A.RATE: S.RATED, A.REQUEST_REVIEW: S.REVIEW_REQUESTED},
    S.RATED: {A.REQUEST_REVIEW: S.REVIEW_REQUESTED},
    S.REVIEW_REQUESTED: {A.REVIEW_DECISION: S.REVIEWED},
    S.REVIEWED: {A.REQUEST_REREVIEW: S.REREVIEW_REQUESTED},
    S.REREVIEW_REQUESTED: {A.HEARING_STARTED: S.REREVIEW_REQUESTED,
                           A.HEARING_ENDED: S.REREVIEW_REQUESTED,
                           A.REREVIEW_DECISION: S.FINAL},
    S.TRANSFERRED_OUT: {},
    S.DECLINED: {},
    S.FINAL: {},
}
# The lifecycle, in one place: the milestones plus the notes that keep the status.
TRANSITIONS: Mapping[CaseStatus, Mapping[Action, CaseStatus]] = {
    status: {**moves,
             **({A.URGE: status} if status in _OWING else {}),
             **({A.FLAG_KEY: status, A.INSTRUCT: status} if status in _LIVE else {})}
    for status, moves in _MILESTONES.items()
}

# Every public action records one typed step event (shared with its consumers).
EVENTS: Mapping[Action, StepType] = {Action(a): step for a, step in STEP_OF_ACTION.items()}

INTERNAL_ACTIONS = frozenset({A.ASSIGN})
PUBLIC_ACTIONS: tuple[str, ...] = tuple(a.value for a in Action if a not in INTERNAL_ACTIONS)
REASON_REQUIRED = frozenset({A.DECLINE, A.EXTEND, A.OBJECT, A.TRANSFER_OUT,
                             A.REFUSE_EXTENSION, A.URGE, A.INSTRUCT})
IN_PROGRESS = frozenset({S.ACCEPTED, S.EXTENDED})
TERMINAL = frozenset(s for s, moves in TRANSITIONS.items() if not moves)

# Why some refusals happen, for a 409 that explains more than "not allowed".
_NOTES: Mapping[tuple[CaseStatus, Action | None], str] = {
    (S.EXTENDED, A.EXTEND): "the handling limit may be extended only once (Art. 34)",
    (S.EXTENDED, A.APPROVE_EXTENSION): "the handling limit may be extended only once (Art. 34)",
    (S.FINAL, None): "the case is final after re-review (Art. 36)",
    (S.DECLINED, None): "the case was declined",
    (S.TRANSFERRED_OUT, None): "the case was transferred out of the bureau",
}


class IllegalTransition(Exception):
    """The action is not possible in the case's status (HTTP 409); nothing changes."""

    def __init__(self, current_status: str, action: str, allowed_actions: list[str],
                 note: str | None = None) -> None:
        self.current_status = current_status
        self.action = action
        self.allowed_actions = allowed_actions
        status = CaseStatus(current_status)
        note = note or _NOTES.get((status, Action(action))) or _NOTES.get((status, None))
        allowed = ", ".join(allowed_actions) or "none"
        super().__init__(
            f"cannot {action} a case that is {current_status}"
            + (f": {note}" if note else "")
            + f"; allowed now: {allowed}"
        )


def allowed_actions(status: CaseStatus | str | CaseState, *,
                    include_internal: bool = False) -> list[str]:
    """The actions allowed now, in the canonical order of ``Action``: the table's for a bare
    status, and with a case's state also its guards (a pending request, an open hearing)."""
    state = status if isinstance(status, CaseState) else None
    moves = TRANSITIONS[status.status if isinstance(status, CaseState) else CaseStatus(status)]
    return [a.value for a in Action if a in moves
            and (include_internal or a not in INTERNAL_ACTIONS)
            and (state is None or guard(state, a) is None)]


def guard(state: CaseState, action: Action) -> str | None:
    """Why the case's own state refuses an action the table allows (a 409), or None."""
    pending = state.extension_requested is not None
    if action is A.EXTEND and pending:
        return "an extension request is waiting for the unit head's answer"
    if action in (A.APPROVE_EXTENSION, A.REFUSE_EXTENSION) and not pending:
        return "no extension request is waiting for an answer"
    if action is A.HEARING_STARTED and state.hearing_open:
        return "a hearing is already open"
    if action is A.HEARING_ENDED and not state.hearing_open:
        return "no hearing is open"
    if action is A.REREVIEW_DECISION and state.hearing_open:
        return "the hearing must end before the re-review decision (Art. 36)"
    if action is A.FLAG_KEY and state.key_case:
        return "the case is a key case already"
    if action is A.INSTRUCT and not state.key_case:
        return "instructions are recorded on key cases (领导包案)"
    return None


def decide(state: CaseState, command: ActionCommand, *, now: datetime) -> Decision:
    """The outcome of ``command`` on ``state``, or IllegalTransition / ActionInvalid."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    action = _action(command)
    target = TRANSITIONS[state.status].get(action)
    why = guard(state, action) if target is not None else None
    if target is None or why is not None:
        allowed = allowed_actions(state, include_internal=command.from_routing)
        raise IllegalTransition(state.status.value, action.value, allowed, why)
    errors: list[FieldError] = []
    at = _at(state, command, now, errors)
    reason = _reason(action, command.reason, errors)
    days, rating, transfer_to = _details(action, command, errors)
    respond_by = _respond_by(action, command, at, errors)
    if at is not None:
        _window(state, action, at, errors)
    if errors or at is None:
        raise ActionInvalid(errors)
    objection_due = state.objection_due
    if action in (A.ASSIGN, A.OBJECT):  # each assignment opens its own objection window
        objection_due = command.objection_due
    if action is A.APPROVE_EXTENSION:
        days = state.extension_requested  # the request's days are what is approved
    requested = {A.EXTEND: days, A.APPROVE_EXTENSION: None, A.REFUSE_EXTENSION: None,
                 A.REPLY: None}.get(action, state.extension_requested)
    urges = state.urges + (action is A.URGE)
    new_state = replace(
        state, status=target, last_action_at=at, objection_due=objection_due,
        extension_days=days if action is A.APPROVE_EXTENSION else state.extension_days,
        replied_at=at if action is A.REPLY else state.replied_at,
        reviewed_at=at if action is A.REVIEW_DECISION else state.reviewed_at,
        rating=rating if action is A.RATE else state.rating,
        extension_requested=requested,
        hearing_open={A.HEARING_STARTED: True, A.HEARING_ENDED: False}.get(
            action, state.hearing_open),
        # Urged twice, a case is a key case (督办 twice means the petition office is worried).
        key_case=state.key_case or action is A.FLAG_KEY or urges >= 2,
        urges=urges,
    )
    event = None
    if action in EVENTS:
        event = CaseEvent(EVENTS[action], state.case_id, at, target, state.status,
                          days if action in (A.EXTEND, A.APPROVE_EXTENSION,
                                             A.REFUSE_EXTENSION) else None,
                          rating, transfer_to, respond_by,
                          urges if action is A.URGE else None)
        if action is A.REFUSE_EXTENSION:
            event = replace(event, days=state.extension_requested)
    return Decision(action, state.status, target, at, reason, new_state, event)


def _action(command: ActionCommand) -> Action:
    try:
        action = Action(command.action)
    except ValueError:
        raise ActionInvalid([FieldError(
            "action", f"action {command.action!r} is unknown; use one of "
            + ", ".join(PUBLIC_ACTIONS)
        )]) from None
    if action in INTERNAL_ACTIONS and not command.from_routing:
        raise ActionInvalid([FieldError(
            "action", f"action {action.value!r} is recorded from routing, not requested"
        )])
    return action


def _at(
    state: CaseState, command: ActionCommand, now: datetime, errors: list[FieldError]
) -> datetime | None:
    at = command.at or now
    if at.tzinfo is None:
        errors.append(FieldError("at", "at must include a UTC offset (Z or +08:00)"))
        return None
    if at > now + CLOCK_SKEW:
        errors.append(FieldError("at", "at must not be in the future"))
    if at < state.received_at:
        errors.append(FieldError("at", "at must not be before the case was received"))
    if state.last_action_at is not None and at < state.last_action_at:
        errors.append(FieldError("at", "at must not be before the case's previous action"))
    return at


def _reason(action: Action, reason: str | None, errors: list[FieldError]) -> str | None:
    text = reason.strip() if isinstance(reason, str) else None
    if reason is not None and not isinstance(reason, str):
        errors.append(FieldError("reason", "reason must be a string"))
    elif not text and action in REASON_REQUIRED:
        errors.append(FieldError("reason", f"reason is required to {action.value}"))
    elif text and len(text) > MAX_REASON:
        errors.append(FieldError("reason", f"reason must be at most {MAX_REASON} characters"))
    return text or None


def _details(
    action: Action, command: ActionCommand, errors: list[FieldError]
) -> tuple[int | None, Rating | None, str | None]:
    """Each detail belongs to one action: required there, refused elsewhere."""
    days, rating = command.days, None
    if action is A.EXTEND:  # the request names the days; the approval takes them as asked
        if days is None:
            errors.append(FieldError("days", "days is required to extend"))
        elif isinstance(days, bool) or not isinstance(days, int):
            errors.append(FieldError("days", "days must be a whole number"))
        elif not 1 <= days <= EXTENSION_MAX_DAYS:
            errors.append(FieldError(
                "days", f"days must be between 1 and {EXTENSION_MAX_DAYS} (Art. 34)"
            ))
    elif days is not None:
        errors.append(FieldError("days", "days applies only to extend"))
    if action is A.RATE:
        try:
            rating = Rating(command.rating) if command.rating is not None else None
        except ValueError:
            pass
        if rating is None:
            errors.append(FieldError(
                "rating", "rating is required to rate: one of " + ", ".join(Rating)
            ))
    elif command.rating is not None:
        errors.append(FieldError("rating", "rating applies only to rate"))
    if command.objection_due is not None and action is not A.ASSIGN:
        errors.append(FieldError("objection_due", "objection_due applies only to assign"))
    to = command.transfer_to.strip() if isinstance(command.transfer_to, str) else None
    if command.transfer_to is not None and action is not A.TRANSFER_OUT:
        errors.append(FieldError("transfer_to", "transfer_to applies only to transfer_out"))
    elif command.transfer_to is not None and not (to and len(to) <= 200):
        errors.append(FieldError("transfer_to", "transfer_to must be 1 to 200 characters"))
    return days, rating, to


def _respond_by(action: Action, command: ActionCommand, at: datetime | None,
                errors: list[FieldError]) -> date | None:
    """An urge names the new date the unit must answer by: not before the urge's own day."""
    respond_by = command.respond_by
    if action is not A.URGE:
        if respond_by is not None:
            errors.append(FieldError("respond_by", "respond_by applies only to urge"))
        return None
    if respond_by is None:
        errors.append(FieldError("respond_by", "respond_by (YYYY-MM-DD) is required to urge"))
    elif at is not None and respond_by < at.astimezone(SHANGHAI).date():
        errors.append(FieldError("respond_by", "respond_by must not be before the urge"))
    return respond_by


def _window(state: CaseState, action: Action, at: datetime, errors: list[FieldError]) -> None:
    """Time windows counted in Asia/Shanghai dates."""
    day = at.astimezone(SHANGHAI).date()
    due: date | None = None
    why = ""
    if action is A.OBJECT:
        due, why = state.objection_due, "5 working days from the transfer, Art. 23"
    elif action is A.REQUEST_REVIEW:
        due = state.review_request_due or _plus_days(state.replied_at, REVIEW_WINDOW_DAYS)
        why = "30 days from the written answer, Art. 35"
    elif action is A.REQUEST_REREVIEW:
        due = state.rereview_request_due or _plus_days(state.reviewed_at, REVIEW_WINDOW_DAYS)
        why = "30 days from the review decision, Art. 36"
    if due is not None and day > due:
        errors.append(FieldError(
            "at", f"the time to {action.value} ended on {due.isoformat()} ({why})"
        ))


def _plus_days(start: datetime | None, days: int) -> date | None:
    """Days count from the day after the start, so the last day is start's date + days."""
    return None if start is None else start.astimezone(SHANGHAI).date() + timedelta(days=days)
