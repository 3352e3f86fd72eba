"""Which timers a case has, from the facts its events told (pure; docs/domain.md §4).

Timers are *derived*: given every fact of a case, `plan` says which timers exist, when each
started and whether (and by what) it ended. Applying the same facts in any order gives the same
plan, which is what makes the consumer tolerant of events that arrive late or out of order
(a case's steps come in order on case.events, but its assignments come on routing.events and
may overtake or trail them). Steps are ordered by their `sequence`, assignments by their
version; `at` places an assignment among the steps.

Kinds and their clocks:
- routing: from receipt; met by the first assignment, transfer decision or link to an earlier
  case (any later step of the case also proves it was routed, at the latest by that step's
  time).
- acceptance: from receipt; met by accepted, declined or transferred_out (or, implicitly, by any
  later handling step); cancelled by a link to an earlier case (a repeat or duplicate is
  handled under that case and not accepted again, Art. 19 and 36).
- objection (one per assignment made while the case awaited acceptance, round = version): a
  window for the unit; met by objected or accepted, cancelled by declined / transferred_out or
  when a newer assignment replaces it. A window left unused lapses (the sweep marks it).
- handling: from accepted, 60 days (+ the extension's days); met by replied.
- review_request / rereview_request: the petitioner's windows from replied / reviewed; met
  (used) by the request, else they lapse.
- review_decision / rereview_decision: from the request; met by reviewed / rereviewed. Hearings
  held on a re-review request (hearing_started … hearing_ended) pause the re-review decision:
  their days are added to its limit (Art. 36), and while one is open the timer sends nothing.
- An extension moves the handling limit only once the unit head approved it: that approval is
  the ``case.extended`` step; a request (``case.extension_requested``) changes no timer.
- report_back: a handed-off case's report to the body that assigned it, from receipt, of that
  body's configured length (carried by the registration fact); met by the closing report
  (closed) or the notice of a decline (declined); cancelled by a link or a transfer out.
A transferred-out, declined or closed case cancels what remains of the bureau's duties that no
longer apply (the request windows after a reply stay: the petitioner may still ask).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from shared.domain.event_types import type_of
from shared.domain.limits import DeadlineKind, local_date
from shared.domain.schemas import (
    CaseAssigned,
    CaseLinked,
    CaseRegistered,
    CaseTransferDecided,
    StepType,
)

K = DeadlineKind

# A party's option, not the bureau's duty: never warned, never overdue; they lapse.
WINDOW_KINDS = frozenset({K.objection, K.review_request, K.rereview_request})

REGISTERED = type_of(CaseRegistered)
ASSIGNED = type_of(CaseAssigned)
TRANSFER_DECIDED = type_of(CaseTransferDecided)
LINKED = type_of(CaseLinked)
OBJECTED, ACCEPTED, DECLINED, TRANSFERRED_OUT, EXTENDED, REPLIED, CLOSED = (
    StepType.OBJECTED, StepType.ACCEPTED, StepType.DECLINED, StepType.TRANSFERRED_OUT,
    StepType.EXTENDED, StepType.REPLIED, StepType.CLOSED)
REVIEW_REQUESTED, REVIEWED, REREVIEW_REQUESTED, REREVIEWED = (
    StepType.REVIEW_REQUESTED, StepType.REVIEWED, StepType.REREVIEW_REQUESTED,
    StepType.REREVIEWED)
HEARING_STARTED, HEARING_ENDED = StepType.HEARING_STARTED, StepType.HEARING_ENDED

# The events this service keeps (the others change no timer).
RELEVANT_TYPES = frozenset({
    REGISTERED, ASSIGNED, TRANSFER_DECIDED, LINKED, OBJECTED, ACCEPTED, DECLINED, TRANSFERRED_OUT,
    EXTENDED, REPLIED, CLOSED, REVIEW_REQUESTED, REVIEWED, REREVIEW_REQUESTED, REREVIEWED,
    HEARING_STARTED, HEARING_ENDED,
})
# Steps that prove the case was past routing / past the acceptance decision.
_AFTER_ACCEPTANCE = frozenset({ACCEPTED, DECLINED, TRANSFERRED_OUT, EXTENDED, REPLIED, CLOSED,
                               REVIEW_REQUESTED, REVIEWED, REREVIEW_REQUESTED, REREVIEWED,
                               HEARING_STARTED, HEARING_ENDED})
_ROUTED = _AFTER_ACCEPTANCE | {OBJECTED}
# What a terminal step cancels of what is still running.
_CANCELS: dict[str, frozenset[DeadlineKind]] = {
    TRANSFERRED_OUT: frozenset(K),
    DECLINED: frozenset({K.routing, K.objection, K.handling}),
    CLOSED: frozenset({K.routing, K.acceptance, K.objection, K.handling}),
}


@dataclass(frozen=True, slots=True)
class Fact:
    """One event as this service keeps it: no personal data, only what timers need."""

    event_id: str
    case_id: str
    type: str
    at: datetime
    sequence: int | None = None  # step sequence; assignment version for case.assigned
    # extend: the extension's days; case.registered: the report-back limit, if the case owes one
    days: int | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class End:
    status: str  # met | cancelled
    outcome: str  # done | used | objected | accepted | superseded | cancelled
    at: datetime
    event_id: str
    event_type: str


@dataclass(frozen=True, slots=True)
class TimerPlan:
    kind: DeadlineKind
    round: int
    start: Fact
    extension_days: int = 0
    end: End | None = None
    extended: Fact | None = None  # the extension that moved the due date, if any
    length_days: int | None = None  # a configured length (report_back); None: the law's
    # Hearings (re-review decision): the local first and last day of each one that ended, the
    # first day of one still open (the timer is paused), and the step that last changed them.
    hearings: tuple[tuple[date, date], ...] = ()
    paused_since: date | None = None
    hearing: Fact | None = None

    @property
    def is_window(self) -> bool:
        return self.kind in WINDOW_KINDS


def _order(fact: Fact) -> tuple[datetime, int, str]:
    return (fact.at, fact.sequence or 0, fact.event_id)


def _first(facts: Iterable[Fact], types: frozenset[str] | set[str]) -> Fact | None:
    """The earliest fact of these types: steps by sequence (then time), others by time."""
    found = [f for f in facts if f.type in types]
    if not found:
        return None
    return min(found, key=_order)


def _met(fact: Fact | None, outcome: str = "done") -> End | None:
    if fact is None:
        return None
    return End("met", outcome, fact.at, fact.event_id, fact.type)


def case_unit(facts: Sequence[Fact]) -> str | None:
    """The unit the case is with: the highest assignment version wins whatever the arrival
    order; before any assignment is known, the unit named by the latest step."""
    assignments = [f for f in facts if f.type == ASSIGNED and f.unit]
    if assignments:
        return max(assignments, key=lambda f: (f.sequence or 0, f.at)).unit
    steps = [f for f in facts if f.unit and f.type != REGISTERED]
    if steps:
        return max(steps, key=lambda f: (f.sequence or 0, f.at)).unit
    return None


def plan(facts: Sequence[Fact]) -> list[TimerPlan]:
    """Every timer the facts of one case call for, each with its start and its end if any."""
    steps = sorted((f for f in facts if f.type not in (REGISTERED, ASSIGNED,
                                                        TRANSFER_DECIDED, LINKED)),
                   key=lambda f: (f.sequence or 0, f.at, f.event_id))
    assignments = sorted((f for f in facts if f.type == ASSIGNED),
                         key=lambda f: (f.sequence or 0, f.at, f.event_id))
    registered = _first(facts, {REGISTERED})
    timers: list[TimerPlan] = []
    if registered is not None:
        routed = _first(facts, {ASSIGNED, TRANSFER_DECIDED, TRANSFERRED_OUT, LINKED})
        if routed is None:  # a later step proves routing happened, at the latest then
            routed = _first(steps, _ROUTED)
        timers.append(TimerPlan(K.routing, 0, registered, end=_met(routed)))
        answered = _met(_first(steps, _AFTER_ACCEPTANCE))
        linked = _first(facts, {LINKED})
        if answered is None and linked is not None:
            # Linked to an earlier case (repeat, final repeat, duplicate): handled under that
            # case, never accepted on its own (Art. 19, 36); nothing is owed on this one.
            answered = End("cancelled", "linked", linked.at, linked.event_id, linked.type)
        timers.append(TimerPlan(K.acceptance, 0, registered, end=answered))
        if registered.days:
            reported = _met(_first(steps, {CLOSED, DECLINED}))
            if reported is None and linked is not None:
                reported = End("cancelled", "linked", linked.at, linked.event_id, linked.type)
            timers.append(TimerPlan(K.report_back, 0, registered, end=reported,
                                    length_days=registered.days))
    timers.extend(_objection_windows(assignments, steps))
    accepted = _first(steps, {ACCEPTED})
    if accepted is not None:
        extensions = [f for f in steps if f.type == EXTENDED and f.days]
        extended = max(extensions, key=lambda f: f.sequence or 0) if extensions else None
        timers.append(TimerPlan(K.handling, 0, accepted, (extended.days or 0) if extended else 0,
                                _met(_first(steps, {REPLIED})), extended))
    for start_type, kind, end_type, outcome in (
        (REPLIED, K.review_request, REVIEW_REQUESTED, "used"),
        (REVIEW_REQUESTED, K.review_decision, REVIEWED, "done"),
        (REVIEWED, K.rereview_request, REREVIEW_REQUESTED, "used"),
        (REREVIEW_REQUESTED, K.rereview_decision, REREVIEWED, "done"),
    ):
        start = _first(steps, {start_type})
        if start is not None:
            timer = TimerPlan(kind, 0, start, end=_met(_first(steps, {end_type}), outcome))
            if kind is K.rereview_decision:
                timer = _paused(timer, steps)
            timers.append(timer)
    return [_cancel_remaining(t, steps) for t in timers]


def _paused(timer: TimerPlan, steps: Sequence[Fact]) -> TimerPlan:
    """The hearings held on the re-review request, in step order: each start opens one, the
    next end closes it (the lifecycle allows one open hearing at a time)."""
    spans: list[tuple[date, date]] = []
    opened: Fact | None = None
    last: Fact | None = None
    for step in steps:
        if step.type == HEARING_STARTED and opened is None:
            opened, last = step, step
        elif step.type == HEARING_ENDED and opened is not None:
            spans.append((local_date(opened.at), local_date(step.at)))
            opened, last = None, step
    if last is None:
        return timer
    return replace(timer, hearings=tuple(spans),
                   paused_since=local_date(opened.at) if opened is not None else None,
                   hearing=last)


def _objection_windows(assignments: Sequence[Fact], steps: Sequence[Fact]) -> list[TimerPlan]:
    """One window per assignment made while the case awaited the unit's answer."""
    decided = _first(steps, {ACCEPTED, DECLINED, TRANSFERRED_OUT})
    opening = [a for a in assignments if decided is None or a.at < decided.at]
    windows = []
    for i, assignment in enumerate(opening):
        following = opening[i + 1] if i + 1 < len(opening) else None
        answer = _first((s for s in steps if s.at >= assignment.at
                         and (following is None or s.at <= following.at)),
                        {OBJECTED, ACCEPTED, DECLINED, TRANSFERRED_OUT})
        end: End | None = None
        if answer is not None and answer.type in (OBJECTED, ACCEPTED):
            end = End("met", answer.type.removeprefix("case."), answer.at, answer.event_id,
                      answer.type)
        elif answer is not None:
            end = End("cancelled", "cancelled", answer.at, answer.event_id, answer.type)
        elif following is not None:
            end = End("cancelled", "superseded", following.at, following.event_id,
                      following.type)
        windows.append(TimerPlan(K.objection, assignment.sequence or 0, assignment, end=end))
    return windows


def _cancel_remaining(timer: TimerPlan, steps: Sequence[Fact]) -> TimerPlan:
    if timer.end is not None:
        return timer
    for step in steps:
        if timer.kind in _CANCELS.get(step.type, ()):
            end = End("cancelled", "cancelled", step.at, step.event_id, step.type)
            return replace(timer, end=end)
    return timer
