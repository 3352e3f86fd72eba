"""The statistics projection's pure rules: facts from events in any order, derived counts,
points and their deltas."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta
from typing import TypedDict, Unpack

import pytest

from services.statistics.facts import (
    CLOSED,
    ELIGIBLE,
    FEEDBACK,
    NOT_COUNTED,
    ON_TIME,
    OVERDUE,
    PEOPLE,
    RECEIVED,
    UNASSIGNED,
    URGES,
    CaseFacts,
    N,
    apply,
    derive,
    diff,
    points,
)
from shared.domain.calendar import WorkingCalendar
from shared.domain.event_types import EventData
from shared.domain.limits import CountingMode
from shared.domain.schemas import (
    STEP_TYPES,
    CaseAssigned,
    CaseLinked,
    CaseRegistered,
    DeadlineOverdue,
    DeadlineWarning,
)
from shared.domain.vocab import default_vocabulary
from shared.platform.events import Envelope, envelope_for

CAL = WorkingCalendar()
MODE = CountingMode.calendar_roll_forward
VOCAB = default_vocabulary()
T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
CASE = "c-1"


class StepFields(TypedDict, total=False):
    """The optional fields of a CaseStep, as keyword arguments."""

    unit: str | None
    days: int | None
    rating: str | None
    transfer_to: str | None
    respond_by: date | None
    urge_count: int | None


def env(data: EventData) -> Envelope:
    return envelope_for(data, subject=CASE, source="test", time=T0)


def step(action: str, at: datetime, sequence: int = 2, **extra: Unpack[StepFields]
         ) -> Envelope:
    cls = STEP_TYPES[action]
    return env(cls(case_id=CASE, at=at, status="x", previous_status="y", sequence=sequence,
                   **extra))


def registered(**extra: object) -> Envelope:
    fields: dict[str, object] = dict(case_id=CASE, tracking_no="XF-1", channel="来信",
                                     jurisdiction="jizhou", category="fees", received_at=T0,
                                     reachable=True)
    fields.update(extra)
    return env(CaseRegistered(**fields))  # type: ignore[arg-type]


def assigned(unit: str, version: int, at: datetime) -> Envelope:
    return env(CaseAssigned(case_id=CASE, unit=unit, assignment_version=version, rule_id="r",
                            rule_version=1, assigned_at=at))


def overdue(at: datetime, unit: str | None, kind: str = "handling") -> Envelope:
    return env(DeadlineOverdue(case_id=CASE, kind=kind, due_date=at.date(), unit=unit, at=at))


def lifecycle() -> list[Envelope]:
    day = timedelta(days=1)
    return [
        registered(),
        assigned("jizhou_bureau", 1, T0 + timedelta(hours=1)),
        step("accept", T0 + 2 * day),
        step("approve_extension", T0 + 10 * day, days=10),
        assigned("jian_bureau", 2, T0 + 3 * day),
        step("reply", T0 + 70 * day),
        step("close", T0 + 70 * day),
        step("close", T0 + 80 * day),  # a second closure never moves the first
        overdue(T0 + 90 * day, "jian_bureau", "review_decision"),
        step("feedback", T0 + 71 * day),
        step("rate", T0 + 72 * day, rating="basically_satisfied"),
        env(DeadlineWarning(case_id=CASE, kind="handling", due_date=date(2025, 5, 1),
                            days_left=3, at=T0)),
    ]


def fold(events: list[Envelope]) -> CaseFacts:
    facts = CaseFacts(CASE)
    for e in events:
        facts = apply(facts, e, VOCAB)
    return facts


def test_facts_do_not_depend_on_arrival_order() -> None:
    events = lifecycle()
    expected = fold(events)
    rng = random.Random(7)
    for _ in range(200):
        shuffled = events[:]
        rng.shuffle(shuffled)
        assert fold(shuffled) == expected
    assert expected.channel == "letter"  # a Chinese label is stored as its code
    assert expected.unit == "jian_bureau"  # highest assignment version
    assert expected.closed_at == T0 + timedelta(days=70)
    assert expected.extension_days == 10


def test_redelivered_events_change_nothing() -> None:
    events = lifecycle()
    assert fold(events + events) == fold(events)


def test_steps_before_registration_are_kept_and_counted_once_it_arrives() -> None:
    early = fold([step("accept", T0), step("reply", T0), step("close", T0 + timedelta(days=1))])
    assert derive(early, CAL, MODE) == NOT_COUNTED
    later = apply(early, registered(), VOCAB)
    d = derive(later, CAL, MODE)
    assert d.counted and d.e_closed == T0 + timedelta(days=1) and d.on_time


def test_a_duplicate_is_never_a_case() -> None:
    link = env(CaseLinked(case_id=CASE, linked_to="other", kind="duplicate", at=T0))
    for order in itertools.permutations([registered(), link, step("close", T0)]):
        assert derive(fold(list(order)), CAL, MODE) == NOT_COUNTED
    repeat = env(CaseLinked(case_id=CASE, linked_to="other", kind="repeat", at=T0))
    assert derive(fold([registered(), repeat]), CAL, MODE).counted


def test_on_time_uses_the_handling_due_date_with_extension() -> None:
    # Accepted Mon 2025-03-03; 60 days → Fri 2025-05-02 falls in the May Day holiday
    # (1–5 May 2025), rolled forward to Tue 2025-05-06.
    accepted = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)

    def on_time(closed_local: datetime, extension: int = 0) -> bool:
        events = [registered(), step("accept", accepted), step("close", closed_local)]
        if extension:
            events.append(step("approve_extension", accepted + timedelta(days=1), days=extension))
        return derive(fold(events), CAL, MODE).on_time

    sh = timedelta(hours=8)
    assert on_time(datetime(2025, 5, 6, 23, 59, tzinfo=UTC) - sh)
    assert not on_time(datetime(2025, 5, 7, 0, 0, tzinfo=UTC) - sh)
    # 61..64 days still land on the 6th (holiday roll-forward); 65 days is the 7th itself.
    assert not on_time(datetime(2025, 5, 7, 0, 0, tzinfo=UTC) - sh, extension=4)
    assert on_time(datetime(2025, 5, 7, 0, 0, tzinfo=UTC) - sh, extension=5)


def test_closed_without_acceptance_is_not_on_time() -> None:
    d = derive(fold([registered(), step("close", T0)]), CAL, MODE)
    assert d.e_closed == T0 and not d.on_time


def test_feedback_needs_a_reachable_petitioner_and_never_precedes_closure() -> None:
    d = derive(fold([registered(reachable=False), step("close", T0), step("feedback", T0)]),
               CAL, MODE)
    assert not d.eligible and d.e_feedback is None
    early = T0 - timedelta(days=1)
    d = derive(fold([registered(), step("close", T0), step("feedback", early)]), CAL, MODE)
    assert d.eligible and d.e_feedback == T0


def test_petitioner_windows_are_not_overdue() -> None:
    facts = fold([registered(), overdue(T0, "x", "review_request"),
                  overdue(T0, "x", "objection")])
    assert facts.overdue_at is None


def test_points_and_their_effective_instants() -> None:
    d = derive(fold(lifecycle()), CAL, MODE)
    pts = points(d)
    assert pts[(T0, "jian_bureau")][RECEIVED] == 1
    closed = pts[(T0 + timedelta(days=70), "jian_bureau")]
    assert closed[CLOSED] == 1 and closed[ELIGIBLE] == 1 and closed[ON_TIME] == 1
    assert pts[(T0 + timedelta(days=71), "jian_bureau")][FEEDBACK] == 1
    assert pts[(T0 + timedelta(days=90), "jian_bureau")][OVERDUE] == 1
    assert pts[(T0, "jian_bureau")][PEOPLE] == 1  # one petitioner
    assert sum(sum(v) for v in pts.values()) == 1 + 1 + 3 + 1 + 2 + 1  # people; rated + basic


def test_overdue_is_filed_under_the_unit_it_went_overdue_with() -> None:
    d = derive(fold([registered(), assigned("a", 1, T0), overdue(T0, "a"),
                     assigned("b", 2, T0)]), CAL, MODE)
    assert d.unit == "b" and d.overdue_unit == "a"
    d = derive(fold([registered(), overdue(T0, None)]), CAL, MODE)
    assert d.overdue_unit == UNASSIGNED


def test_diff_moves_points_when_the_unit_changes_and_removes_duplicates() -> None:
    before = derive(fold([registered(), assigned("a", 1, T0), step("close", T0)]), CAL, MODE)
    after = derive(fold([registered(), assigned("a", 1, T0), step("close", T0),
                         assigned("b", 2, T0)]), CAL, MODE)
    deltas = diff(before, after)
    assert {(d.unit, d.counts[RECEIVED], d.counts[CLOSED]) for d in deltas} == {
        ("a", -1, -1), ("b", 1, 1)}
    assert diff(after, after) == []
    gone = diff(after, NOT_COUNTED)
    assert sum(d.counts[RECEIVED] for d in gone) == -1


def test_diffs_telescope_to_the_final_points() -> None:
    events = lifecycle()
    total = [0] * N
    previous = NOT_COUNTED
    facts = CaseFacts(CASE)
    for e in events:
        facts = apply(facts, e, VOCAB)
        current = derive(facts, CAL, MODE)
        for d in diff(previous, current):
            total = [a + b for a, b in zip(total, d.counts, strict=True)]
        previous = current
    final = [sum(v[i] for v in points(previous).values()) for i in range(N)]
    assert total == final


@pytest.mark.parametrize("rating,satisfied", [("satisfied", (1, 0)),
                                              ("basically_satisfied", (0, 1)),
                                              ("unsatisfied", (0, 0))])
def test_ratings(rating: str, satisfied: tuple[int, int]) -> None:
    pts = points(derive(fold([registered(), step("rate", T0, rating=rating)]), CAL, MODE))
    vector = [sum(v[i] for v in pts.values()) for i in range(N)]
    assert (vector[6], vector[7]) == satisfied and vector[5] == 1


def test_people_are_the_head_count_and_urges_count_at_their_instants() -> None:
    group = [registered(signers=30), assigned("jian_bureau", 1, T0),
             step("urge", T0 + timedelta(days=3), 3, respond_by=date(2020, 1, 10)),
             step("urge", T0 + timedelta(days=5), 4)]
    d = derive(fold(group), CAL, MODE)
    assert d.people == 30
    assert d.e_urges == (T0 + timedelta(days=3), T0 + timedelta(days=5))
    pts = points(d)
    assert pts[(T0, "jian_bureau")][PEOPLE] == 30 and pts[(T0, "jian_bureau")][RECEIVED] == 1
    assert pts[(T0 + timedelta(days=5), "jian_bureau")][URGES] == 1
    # Folded in any order, the same facts; the same urge twice (one sequence) counts once.
    assert derive(fold(list(reversed(group))), CAL, MODE) == d
    assert derive(fold([*group, group[-1], group[-2]]), CAL, MODE) == d
    # An urge before a backdated receipt counts from the receipt, like every other count.
    early = derive(fold([registered(), step("urge", T0 - timedelta(days=1))]), CAL, MODE)
    assert early.e_urges == (T0,)
