"""What statistics knows about one case, and what the case contributes to the figures (pure).

Every event about a case folds into its ``CaseFacts`` by a rule that does not depend on the
order events arrive in: first registration wins, the earliest closure, feedback, rating and
overdue alert not withdrawn win, the assignment with the highest ``assignment_version`` wins, and a
``duplicate`` link is never undone. So a step that overtakes its ``case.registered`` (routing and
deadline events travel on other topics than case events) is kept and counted once the
registration arrives, and replaying the topics in any interleaving gives the same facts.

``derive`` turns facts into the columns the queries read, and ``points`` into the case's
*contribution*: for each instant at which one of its counts starts to hold (received, closed,
closed on time, feedback due / given, rated, satisfied, overdue, urged), a vector of +1s — and
at receipt the case's head count in ``people`` (人次: one for a single petitioner, the signers of
a joint letter, the head count of a group visit), so people are counted by the same dimensions
as cases (件次). A figure "as
of T" is the sum of every point with ``eff_at <= T``. The effective instant of a count is never
earlier than the counts it implies (closure is effective no earlier than receipt, feedback no
earlier than closure), so the counts are consistent at every instant, even for odd timestamps.
When facts change, ``diff`` gives the signed point deltas the aggregates must absorb.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

import orjson

from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import (
    MAX_EXTENSION_DAYS,
    CountingMode,
    DeadlineKind,
    compute_due,
    local_date,
)
from shared.domain.schemas import (
    CaseAssigned,
    CaseLinked,
    CaseRegistered,
    CaseStep,
    DeadlineOverdue,
    DeadlineOverdueWithdrawn,
    StepType,
)
from shared.domain.vocab import Vocabulary
from shared.platform.events import Envelope

UNASSIGNED = "unassigned"
# Indexes into a count vector; the order of the aggregate tables' columns.
COUNTERS: tuple[str, ...] = ("received", "closed", "closed_on_time", "feedback_eligible",
                             "feedback_given", "rated", "satisfied", "basically_satisfied",
                             "overdue", "people", "urges")
N = len(COUNTERS)
(RECEIVED, CLOSED, ON_TIME, ELIGIBLE, FEEDBACK, RATED, SATISFIED, BASIC, OVERDUE, PEOPLE,
 URGES) = range(N)

# Deadlines the bureau owes. The review and re-review *request* windows are the petitioner's
# and the objection window is a unit's right: their expiry is not the bureau being late.
OVERDUE_KINDS = frozenset({DeadlineKind.routing, DeadlineKind.acceptance, DeadlineKind.handling,
                           DeadlineKind.review_decision, DeadlineKind.rereview_decision})
_RATING_CLASS = {"satisfied": 2, "basically_satisfied": 1}


@dataclass(frozen=True)
class CaseFacts:
    """The raw facts, exactly as the events told them."""

    case_id: str
    registered: bool = False
    duplicate: bool = False
    channel: str | None = None
    jurisdiction: str | None = None
    category: str | None = None
    received_at: datetime | None = None
    reachable: bool = False
    unit: str | None = None
    unit_version: int = -1
    unit_at: datetime | None = None
    step_unit: str | None = None
    step_unit_at: datetime | None = None
    accepted_at: datetime | None = None
    extension_days: int = 0
    extended_at: datetime | None = None
    closed_at: datetime | None = None
    feedback_at: datetime | None = None
    rating: str | None = None
    rated_at: datetime | None = None
    overdue_at: datetime | None = None  # the earliest overdue alert not withdrawn
    overdue_unit: str | None = None
    # Every overdue alert seen and every withdrawal (deadline.overdue_withdrawn), as canonical
    # JSON (see `alerts_of`), so that an alert the facts later contradicted is un-counted
    # whatever order the alert and its withdrawal come in.
    overdue_alerts: str = ""
    # The assessment indicators' facts (assessment.py), folded by the same order-free rules.
    decided_at: datetime | None = None  # accepted, declined or transferred out: the earliest
    declined_at: datetime | None = None
    replied_at: datetime | None = None
    link_kind: str | None = None  # repeat | final_repeat | duplicate
    linked_at: datetime | None = None
    key_case: bool = False  # the current assignment's (highest version)
    flagged_key: bool = False  # flagged at registration
    review_requested_at: datetime | None = None
    assigned_by: str | None = None
    report_back_due: date | None = None
    report_back_due_at: datetime | None = None  # when that due date was announced
    signers: int = 0  # the head count (people, 人次); 0 until the registration is known
    # Every urge (督办): (its step's sequence, its instant), one per sequence, so an urge
    # delivered twice (even twice in one batch) is counted once.
    urged_at: tuple[tuple[int, datetime], ...] = ()


# One overdue alert as `overdue_alerts` keeps it: [at (ISO) or None, unit, withdrawn].
Alert = list[object]


def alerts_of(facts: CaseFacts) -> dict[str, Alert]:
    """The alerts by event id. A row written before alerts were kept one by one has only its
    earliest alert, under the id "" (it cannot be withdrawn)."""
    if facts.overdue_alerts:
        return {str(a[0]): list(a[1:]) for a in orjson.loads(facts.overdue_alerts)}
    if facts.overdue_at is not None:
        return {"": [facts.overdue_at.isoformat(), facts.overdue_unit, False]}
    return {}


def with_alerts(facts: CaseFacts, alerts: dict[str, Alert]) -> CaseFacts:
    """`facts` with these alerts, and the earliest standing one as the overdue fact (of two at
    the same instant, the greater unit: the rule alerts were always folded by)."""
    standing = [(datetime.fromisoformat(str(at)), unit if isinstance(unit, str) else None)
                for at, unit, withdrawn in alerts.values() if at is not None and not withdrawn]
    first = min(standing, key=lambda a: (a[0], _desc(a[1] or "")), default=None)
    return replace(
        facts, overdue_at=first[0] if first else None, overdue_unit=first[1] if first else None,
        overdue_alerts=orjson.dumps(sorted([k, *v] for k, v in alerts.items())).decode())


def _desc(text: str) -> tuple[int, ...]:
    return (*tuple(-ord(c) for c in text), 1)


def _alert(facts: CaseFacts, envelope: Envelope, data: DeadlineOverdue) -> CaseFacts:
    alerts = alerts_of(facts)
    entry = alerts.setdefault(envelope.id, [None, None, False])
    entry[0], entry[1] = data.at.isoformat(), data.unit
    return with_alerts(facts, alerts)


def _withdrawal(facts: CaseFacts, data: DeadlineOverdueWithdrawn) -> CaseFacts:
    alerts = alerts_of(facts)
    alerts.setdefault(data.alert_id, [None, None, False])[2] = True
    return with_alerts(facts, alerts)


def _earlier(candidate: datetime, current: datetime | None) -> bool:
    return current is None or candidate < current


def _step(facts: CaseFacts, event_type: str, step: CaseStep) -> CaseFacts:
    at = step.at
    if step.unit and event_type != StepType.OBJECTED and _earlier_or_none(facts.step_unit_at, at):
        facts = replace(facts, step_unit=step.unit, step_unit_at=at)
    if event_type == StepType.ACCEPTED and _earlier(at, facts.accepted_at):
        return replace(facts, accepted_at=at)
    if event_type == StepType.EXTENDED and _earlier(at, facts.extended_at):
        return replace(facts, extended_at=at, extension_days=step.days or 0)
    if event_type == StepType.CLOSED and _earlier(at, facts.closed_at):
        return replace(facts, closed_at=at)
    if event_type == StepType.FEEDBACK_GIVEN and _earlier(at, facts.feedback_at):
        return replace(facts, feedback_at=at)
    if event_type == StepType.URGED:
        if any(seq == step.sequence for seq, _ in facts.urged_at):
            return facts
        return replace(facts, urged_at=tuple(sorted((*facts.urged_at, (step.sequence, at)))))
    if event_type == StepType.RATED and step.rating and (
        _earlier(at, facts.rated_at)
        or (at == facts.rated_at and step.rating > (facts.rating or ""))
    ):
        return replace(facts, rated_at=at, rating=step.rating)
    return facts


def _earlier_or_none(current: datetime | None, candidate: datetime) -> bool:
    # The latest step's unit is the fallback unit: keep the later observation.
    return current is None or candidate >= current


def apply(facts: CaseFacts, envelope: Envelope, vocab: Vocabulary) -> CaseFacts:
    """``facts`` after ``envelope``; events that say nothing statistics counts change nothing."""
    data = envelope.data
    if isinstance(data, CaseRegistered):
        if facts.registered:
            return facts  # first registration wins: a re-sent one must not move the case
        return replace(
            facts, registered=True,
            channel=vocab.channels.resolve(data.channel) or data.channel,
            jurisdiction=vocab.jurisdictions.resolve(data.jurisdiction) or data.jurisdiction,
            category=vocab.categories.resolve(data.category) or data.category,
            received_at=data.received_at, reachable=data.reachable,
            signers=max(1, data.signers),
        )
    if isinstance(data, CaseAssigned):
        # The highest assignment version is the current one whatever order events come in.
        mine = (data.assignment_version, data.assigned_at, data.unit)
        if facts.unit_at is None or mine > (facts.unit_version, facts.unit_at, facts.unit or ""):
            return replace(facts, unit=data.unit, unit_version=data.assignment_version,
                           unit_at=data.assigned_at)
        return facts
    if isinstance(data, CaseLinked):
        return replace(facts, duplicate=True) if data.kind == "duplicate" else facts
    if isinstance(data, DeadlineOverdue):
        return _alert(facts, envelope, data) if data.kind in OVERDUE_KINDS else facts
    if isinstance(data, DeadlineOverdueWithdrawn):
        return _withdrawal(facts, data) if data.kind in OVERDUE_KINDS else facts
    if isinstance(data, CaseStep):
        return _step(facts, envelope.type, data)
    return facts


@dataclass(frozen=True)
class Derived:
    """The columns the queries read: counts' effective instants and the case's dimensions."""

    counted: bool = False
    received_at: datetime | None = None
    r_day: date | None = None
    channel: str = ""
    jurisdiction: str = ""
    category: str = ""
    unit: str = UNASSIGNED
    e_closed: datetime | None = None
    on_time: bool = False
    eligible: bool = False
    e_feedback: datetime | None = None
    e_rated: datetime | None = None
    rating_class: int = 0  # 2 satisfied, 1 basically satisfied, 0 unsatisfied or none
    e_overdue: datetime | None = None
    overdue_unit: str = UNASSIGNED
    people: int = 0
    e_urges: tuple[datetime, ...] = ()

    @property
    def e_last_urge(self) -> datetime | None:
        return self.e_urges[-1] if self.e_urges else None


NOT_COUNTED = Derived()


def handling_on_time(facts: CaseFacts, calendar: WorkingCalendar, mode: CountingMode) -> bool:
    """Closed on or before the handling due date (Art. 34: 60 days from acceptance, plus the
    extension), computed from the facts so the answer never depends on when alerts arrived.
    A case closed without a known acceptance has no due date and is not counted on time."""
    if facts.closed_at is None or facts.accepted_at is None:
        return False
    extension = max(0, min(MAX_EXTENSION_DAYS, facts.extension_days))
    due = compute_due(DeadlineKind.handling, local_date(facts.accepted_at), calendar, mode,
                      extension)
    return local_date(facts.closed_at) <= due.due_date


def derive(facts: CaseFacts, calendar: WorkingCalendar, mode: CountingMode) -> Derived:
    if not facts.registered or facts.duplicate or facts.received_at is None:
        return NOT_COUNTED
    received = facts.received_at
    unit = facts.unit or facts.step_unit or UNASSIGNED
    e_closed = max(received, facts.closed_at) if facts.closed_at else None
    eligible = e_closed is not None and facts.reachable
    e_feedback = (max(e_closed, facts.feedback_at)
                  if eligible and e_closed is not None and facts.feedback_at else None)
    e_rated = max(received, facts.rated_at) if facts.rated_at and facts.rating else None
    return Derived(
        counted=True,
        received_at=received,
        r_day=local_date(received),
        channel=facts.channel or "",
        jurisdiction=facts.jurisdiction or "",
        category=facts.category or "",
        unit=unit,
        e_closed=e_closed,
        on_time=e_closed is not None and handling_on_time(facts, calendar, mode),
        eligible=eligible,
        e_feedback=e_feedback,
        e_rated=e_rated,
        rating_class=_RATING_CLASS.get(facts.rating or "", 0) if e_rated else 0,
        e_overdue=max(received, facts.overdue_at) if facts.overdue_at else None,
        overdue_unit=facts.overdue_unit or unit,
        people=max(1, facts.signers),
        e_urges=tuple(sorted(max(received, at) for _, at in facts.urged_at)),
    )


# (eff_at, unit) → counts that start to hold at eff_at, filed under unit.
PointKey = tuple[datetime, str]


def points(d: Derived) -> dict[PointKey, list[int]]:
    if not d.counted or d.received_at is None:
        return {}
    out: dict[PointKey, list[int]] = {}

    def add(at: datetime, unit: str, *pairs: tuple[int, int]) -> None:
        vector = out.setdefault((at, unit), [0] * N)
        for index, value in pairs:
            vector[index] += value

    add(d.received_at, d.unit, (RECEIVED, 1), (PEOPLE, d.people))
    for urged in d.e_urges:  # filed under the case's unit: "urges by unit"
        add(urged, d.unit, (URGES, 1))
    if d.e_closed is not None:
        add(d.e_closed, d.unit, (CLOSED, 1), (ON_TIME, int(d.on_time)), (ELIGIBLE, int(d.eligible)))
    if d.e_feedback is not None:
        add(d.e_feedback, d.unit, (FEEDBACK, 1))
    if d.e_rated is not None:
        add(d.e_rated, d.unit, (RATED, 1), (SATISFIED, int(d.rating_class == 2)),
            (BASIC, int(d.rating_class == 1)))
    if d.e_overdue is not None:
        # Overdue is filed under the unit that held the case when it went overdue, so the
        # report's overdue list by unit does not move when a case is reassigned later.
        add(d.e_overdue, d.overdue_unit, (OVERDUE, 1))
    return out


@dataclass(frozen=True)
class Delta:
    """A signed change of the counts of one point, with the dimensions it is filed under."""

    r_day: date
    channel: str
    jurisdiction: str
    category: str
    unit: str
    eff_at: datetime
    e_day: date
    counts: tuple[int, ...]


def _keyed(d: Derived, sign: int) -> Iterable[tuple[tuple[object, ...], list[int]]]:
    for (at, unit), vector in points(d).items():
        yield (d.r_day, d.channel, d.jurisdiction, d.category, unit, at), [sign * v for v in vector]


def diff(old: Derived, new: Derived) -> list[Delta]:
    """What the aggregates must add so that they hold ``new`` instead of ``old``."""
    if old == new:
        return []
    merged: dict[tuple[object, ...], list[int]] = {}
    for key, vector in (*_keyed(old, -1), *_keyed(new, +1)):
        into = merged.setdefault(key, [0] * N)
        for i, v in enumerate(vector):
            into[i] += v
    out = []
    for key, vector in merged.items():
        if any(vector):
            r_day, channel, jurisdiction, category, unit, at = key
            assert isinstance(at, datetime) and isinstance(r_day, date)
            out.append(Delta(r_day, str(channel), str(jurisdiction), str(category), str(unit),
                             at, local_date(at), tuple(vector)))
    return out
