"""The statistics tests' case generator: random case lifecycles that keep every statutory
limit except where they mark a case overdue, and the events intake, routing and deadlines would
publish for each (on their three topics).

The ground truth computed from these cases is in statistics_truth; producing them and waiting
for the services is in test_statistics_support.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from random import Random
from typing import Any

from shared.domain.calendar import WorkingCalendar
from shared.domain.event_types import EventData
from shared.domain.limits import compute_due, local_date, overdue_after
from shared.domain.schemas import (
    STEP_TYPES,
    CaseAssigned,
    CaseLinked,
    CaseRegistered,
    DeadlineOverdue,
    DeadlineWarning,
)
from shared.domain.vocab import Vocabulary
from shared.platform.events import Envelope, envelope_for
from shared.platform.topics import CASE_EVENTS, DEADLINE_EVENTS, ROUTING_EVENTS

CAL = WorkingCalendar()
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")
CASE_TOPIC, ROUTING_TOPIC, DEADLINE_TOPIC = (t.name() for t in (CASE_EVENTS, ROUTING_EVENTS,
                                                                 DEADLINE_EVENTS))
Produced = tuple[str, Envelope]


def overdue_at(due: date) -> datetime:
    # In UTC: before 1901 Shanghai kept LMT (+08:05:43), and an offset with seconds does not
    # survive RFC 3339 (pydantic writes +08:05); the instant is the same.
    return overdue_after(due).astimezone(UTC)


def _hours(rng: Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=rng.uniform(low * 3600, high * 3600))


@dataclass
class Case:
    case_id: str
    channel: str
    jurisdiction: str
    category: str
    received_at: datetime
    reachable: bool
    duplicate: bool = False
    units: list[tuple[str, datetime]] = field(default_factory=list)
    objected_at: datetime | None = None
    transferred_at: datetime | None = None
    declined_at: datetime | None = None
    accepted_at: datetime | None = None
    extension_days: int = 0
    extended_at: datetime | None = None
    closed_at: datetime | None = None
    feedback_at: datetime | None = None
    rating: str | None = None
    rated_at: datetime | None = None
    overdue_at: datetime | None = None
    overdue_kind: str = "handling"
    # The assessment indicators' facts (docs/domain.md §5).
    replied_at: datetime | None = None  # None: answered at the closure
    link_kind: str | None = None  # repeat | final_repeat (a duplicate is ``duplicate``)
    linked_at: datetime | None = None
    key_case: bool = False
    review_requested_at: datetime | None = None
    assigned_by: str | None = None
    report_back_due: date | None = None

    @property
    def answered_at(self) -> datetime | None:
        return self.replied_at or self.closed_at

    @property
    def decided_at(self) -> datetime | None:
        return min((t for t in (self.accepted_at, self.declined_at, self.transferred_at) if t),
                   default=None)
    signers: int = 1  # the head count: people (人次)
    urged_at: list[datetime] = field(default_factory=list)

    @property
    def unit(self) -> str:
        return self.units[-1][0] if self.units else "unassigned"

    def due(self) -> date:
        assert self.accepted_at is not None
        return compute_due("handling", local_date(self.accepted_at), CAL,
                           extension_days=self.extension_days).due_date

    def on_time(self) -> bool:
        return self.closed_at is not None and local_date(self.closed_at) <= self.due()

    @classmethod
    def new(cls, rng: Random, received: datetime, vocab: Vocabulary,
            **fixed: Any) -> Case:
        values: dict[str, Any] = dict(
            case_id=str(uuid.uuid4()), channel=rng.choice(vocab.channels.codes),
            jurisdiction=rng.choice(vocab.jurisdictions.codes),
            category=rng.choice(vocab.categories.codes), received_at=received,
            reachable=rng.random() < 0.7, signers=rng.choice((1, 1, 1, 1, 6, 30)))
        values.update(fixed)
        return cls(**values)

    @classmethod
    def random(cls, rng: Random, received: datetime, vocab: Vocabulary,
               units: list[str]) -> Case:
        """A random lifecycle that keeps every statutory limit except where it marks the case
        overdue itself, at the instant the deadlines service would (the end of the due date).
        """
        c = cls._lifecycle(rng, received, vocab, units)
        # The assessment indicators' facts: repeats, key cases, answers before the closure,
        # review requests.
        if not c.duplicate and rng.random() < 0.04:
            c.link_kind = rng.choice(["repeat", "final_repeat"])
            c.linked_at = c.received_at + _hours(rng, 0, 30)
        c.key_case = rng.random() < 0.08
        if c.closed_at is not None:
            c.replied_at = max(c.closed_at - _hours(rng, 0, 72), c.accepted_at or c.closed_at)
            if rng.random() < 0.15:
                c.review_requested_at = (c.feedback_at or c.closed_at) + _hours(rng, 1, 200)
        return c

    @classmethod
    def _lifecycle(cls, rng: Random, received: datetime, vocab: Vocabulary,
                   units: list[str]) -> Case:
        c = cls.new(rng, received, vocab, duplicate=rng.random() < 0.05)
        # Every case is assigned (versions from 1000): routing, which also sees these
        # registrations, assigns them too, with version 1, and must never win.
        c.units.append((rng.choice(units), received + _hours(rng, 0.1, 20)))
        if rng.random() < 0.15:  # urged (督办) once or twice, some before a backdated receipt
            c.urged_at = sorted(received + _hours(rng, -24, 2000)
                                for _ in range(rng.randint(1, 2)))
        r = rng.random()
        if r < 0.05:  # assigned, never accepted: the 15-day acceptance limit passes
            due = compute_due("acceptance", local_date(received), CAL).due_date
            c.overdue_at, c.overdue_kind = overdue_at(due), "acceptance"
            return c
        if r < 0.10:
            c.transferred_at = c.units[-1][1] + _hours(rng, 1, 72)
            return c
        if rng.random() < 0.1:
            c.objected_at = c.units[-1][1] + _hours(rng, 1, 48)
            c.units.append((rng.choice(units), c.objected_at + _hours(rng, 1, 20)))
        if rng.random() < 0.06:
            c.declined_at = c.units[-1][1] + _hours(rng, 1, 72)
            return c
        c.accepted_at = c.units[-1][1] + _hours(rng, 1, 96)
        if rng.random() < 0.25:
            c.extension_days = rng.randint(1, 30)
        due = c.due()
        if rng.random() < 0.8:
            latest = datetime.combine(due, datetime.min.time(), tzinfo=UTC) + timedelta(days=25)
            span = (latest - c.accepted_at).total_seconds()
            c.closed_at = c.accepted_at + timedelta(seconds=rng.uniform(0.2, 1.0) * span)
            if c.extension_days:
                # Approved while the original 60 days still run, and before the answer.
                window = min(c.closed_at - c.accepted_at, timedelta(days=50))
                c.extended_at = c.accepted_at + window * rng.uniform(0.05, 0.95)
            if not c.on_time():
                c.overdue_at = overdue_at(due)
            if rng.random() < (0.8 if c.reachable else 0.3):
                c.feedback_at = c.closed_at + _hours(rng, 0.5, 120)
                if rng.random() < 0.6:
                    c.rated_at = c.feedback_at + _hours(rng, 0, 240)
                    c.rating = rng.choice(RATINGS)
        else:
            c.extension_days = 0  # an open case here was never extended
            c.overdue_at = overdue_at(c.due())
        return c

    def events(self, rng: Random | None = None) -> list[Produced]:
        """The case's events on the three topics (routing's and deadlines' included)."""
        out: list[Produced] = []
        sequence = 1

        def emit(topic: str, data: EventData, at: datetime) -> None:
            out.append((topic, envelope_for(data, subject=self.case_id, source="tests",
                                            time=at, event_id=str(uuid.uuid4()))))

        def unit_at(at: datetime) -> str | None:
            held = [u for u, t in self.units if t <= at]
            return held[-1] if held else None

        def step(action: str, at: datetime | None, **extra: Any) -> None:
            nonlocal sequence
            if at is None:
                return
            sequence += 1
            emit(CASE_TOPIC, STEP_TYPES[action](case_id=self.case_id, at=at, status=action,
                                               previous_status="x", sequence=sequence,
                                               unit=unit_at(at), **extra), at)

        emit(CASE_TOPIC, CaseRegistered(
            case_id=self.case_id, tracking_no=f"XF-T{self.case_id[:8]}", channel=self.channel,
            jurisdiction=self.jurisdiction, category=self.category,
            received_at=self.received_at, reachable=self.reachable,
            anonymous=not self.reachable, signers=self.signers), self.received_at)
        if self.duplicate:
            emit(ROUTING_TOPIC, CaseLinked(case_id=self.case_id, linked_to=str(uuid.uuid4()),
                                           kind="duplicate", at=self.received_at),
                 self.received_at)
        if self.link_kind is not None and self.linked_at is not None:
            emit(ROUTING_TOPIC, CaseLinked(case_id=self.case_id, linked_to=str(uuid.uuid4()),
                                           kind=self.link_kind, at=self.linked_at),
                 self.linked_at)
        last = len(self.units) - 1
        for i, (unit, at) in enumerate(self.units):
            emit(ROUTING_TOPIC, CaseAssigned(case_id=self.case_id, unit=unit,
                                             assignment_version=1000 + i, rule_id="test",
                                             rule_version=1, assigned_at=at,
                                             key_case=self.key_case and i == last), at)
        step("object", self.objected_at)
        step("transfer_out", self.transferred_at)
        step("decline", self.declined_at)
        step("accept", self.accepted_at)
        step("approve_extension", self.extended_at, days=self.extension_days)
        step("reply", self.answered_at if self.closed_at else None)
        step("close", self.closed_at)
        step("feedback", self.feedback_at)
        step("rate", self.rated_at, rating=self.rating)
        step("request_review", self.review_requested_at)
        for urged in self.urged_at:
            step("urge", urged, respond_by=local_date(urged) + timedelta(days=7))
        if self.overdue_at is not None:
            overdue = DeadlineOverdue(case_id=self.case_id, kind=self.overdue_kind,
                                      due_date=local_date(self.overdue_at) - timedelta(1),
                                      unit=unit_at(self.overdue_at), at=self.overdue_at)
            emit(DEADLINE_TOPIC, overdue, self.overdue_at)
        if rng is not None and rng.random() < 0.1:
            # Noise statistics must ignore: a warning, and the petitioner's review window.
            at = self.received_at + timedelta(days=3)
            emit(DEADLINE_TOPIC, DeadlineWarning(case_id=self.case_id, kind="acceptance",
                                                 due_date=local_date(at), days_left=3, at=at),
                 at)
            emit(DEADLINE_TOPIC, DeadlineOverdue(case_id=self.case_id, kind="review_request",
                                                 due_date=local_date(at), at=at), at)
        return out
