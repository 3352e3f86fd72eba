"""The deadlines service's small parts: calendar input validation, event ids, settings."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest

from services.deadlines.calendars import FieldProblem, digest, validate_year
from services.deadlines.config import DeadlinesSettings
from services.deadlines.handlers import fact_of
from services.deadlines.ladder import OVERDUE, Rung, rungs
from services.deadlines.outputs import alert
from services.deadlines.plan import Fact, plan
from services.deadlines.reconcile import Policy, reconcile
from shared.domain.calendar import WorkingCalendar, YearDays
from shared.domain.limits import SHANGHAI, CountingMode
from shared.domain.schemas import (
    STEP_TYPES,
    CaseAssigned,
    CaseLinked,
    CaseRegistered,
    DeadlineOverdue,
)
from shared.platform.clock import ShiftedClock, SystemClock
from shared.platform.events import Envelope, envelope_for


def test_a_valid_year() -> None:
    parsed = validate_year("2027", {"holidays": ["2027-01-01", "2027-02-08"],
                                    "workdays": ["2027-02-20"]})
    assert parsed == YearDays(2027, frozenset({date(2027, 1, 1), date(2027, 2, 8)}),
                              frozenset({date(2027, 2, 20)}))


@pytest.mark.parametrize(("year", "body", "field", "words"), [
    ("20x7", {"holidays": [], "workdays": []}, "year", "not a year"),
    ("1800", {"holidays": [], "workdays": []}, "year", "not a year"),
    ("2027", [], "body", "expected an object"),
    ("2027", {"workdays": []}, "holidays", "required"),
    ("2027", {"holidays": "2027-01-01", "workdays": []}, "holidays", "list of dates"),
    ("2027", {"holidays": ["2027-02-30"], "workdays": []}, "holidays[0]", "not a date"),
    ("2027", {"holidays": [20270101], "workdays": []}, "holidays[0]", "not a date"),
    ("2027", {"holidays": ["2027-01-01T08:00"], "workdays": []}, "holidays[0]", "not a date"),
    ("2027", {"holidays": ["2026-12-31"], "workdays": []}, "holidays[0]", "not in 2027"),
    ("2027", {"holidays": [], "workdays": ["2027-02-22"]}, "workdays[0]", "Monday"),
    ("2027", {"holidays": ["2027-02-20"], "workdays": ["2027-02-20"]}, "workdays", "both"),
    ("2027", {"holidays": [], "workdays": [], "note": "x"}, "note", "unknown field"),
])
def test_bad_input_names_the_field(year: str, body: object, field: str, words: str) -> None:
    problems = validate_year(year, body)
    assert isinstance(problems, list)
    assert any(p.field == field and words in p.message for p in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    problems = validate_year("2027", {"holidays": ["x", "2027-01-01", "2026-01-01"]})
    assert isinstance(problems, list)
    assert [p.field for p in problems] == ["holidays[0]", "holidays[2]", "workdays"]
    assert all(isinstance(p, FieldProblem) for p in problems)


def test_digest_ignores_order() -> None:
    a = YearDays(2027, frozenset({date(2027, 1, 1), date(2027, 2, 8)}), frozenset())
    b = YearDays(2027, frozenset({date(2027, 2, 8), date(2027, 1, 1)}), frozenset())
    assert digest(a) == digest(b)
    assert digest(a) != digest(YearDays(2027, frozenset({date(2027, 1, 1)}), frozenset()))


def test_facts_come_from_the_events_own_times() -> None:
    at = datetime(2020, 5, 1, 9, tzinfo=SHANGHAI)
    reg = envelope_for(CaseRegistered(case_id="c", tracking_no="T", channel="letter",
                                      jurisdiction="jizhou", category="fees", received_at=at),
                       subject="c", source="t", time=datetime.now(SHANGHAI))
    assigned = envelope_for(CaseAssigned(case_id="c", unit="u", assignment_version=3,
                                         rule_id="r", rule_version=1, assigned_at=at),
                            subject="c", source="t", time=datetime.now(SHANGHAI))
    step = envelope_for(STEP_TYPES["approve_extension"](case_id="c", at=at, status="extended",
                                             previous_status="accepted", sequence=5, days=9),
                        subject="c", source="t", time=datetime.now(SHANGHAI))
    linked = envelope_for(CaseLinked(case_id="c", linked_to="d", kind="repeat", at=at),
                          subject="c", source="t", time=at)
    assert fact_of(reg) == Fact(reg.id, "c", "case.registered", at)
    assert fact_of(assigned) == Fact(assigned.id, "c", "case.assigned", at, 3, unit="u")
    assert fact_of(step) == Fact(step.id, "c", "case.extended", at, 5, 9)
    assert fact_of(linked) == Fact(linked.id, "c", "case.linked", at)
    rated = envelope_for(STEP_TYPES["rate"](case_id="c", at=at, status="rated",
                                            previous_status="feedback_given", sequence=9,
                                            rating="satisfied"),
                         subject="c", source="t", time=at)
    assert fact_of(rated) is None  # no timer depends on it


def test_alert_ids_are_derived_from_timer_due_date_and_rung() -> None:
    accepted = Fact(str(uuid.uuid4()), "c", "case.accepted",
                    datetime(2024, 3, 1, 10, tzinfo=SHANGHAI), 3)
    policy = Policy(CountingMode.calendar_roll_forward, (7, 3), timedelta(0))
    now = datetime(2024, 6, 1, tzinfo=SHANGHAI)
    [timer] = reconcile("c", plan([accepted]), [], WorkingCalendar(), policy, now).inserts
    overdue = rungs(timer.due_date, (7, 3), False)[-1]
    assert overdue.days == OVERDUE
    def make(rung: Rung) -> Envelope:
        return alert(timer.case_id, timer.kind.value, timer.round, timer.due_date, rung, "u",
                     now)

    first, again = make(overdue), make(overdue)
    assert first.id == again.id and first.type == "deadline.overdue"
    assert isinstance(first.data, DeadlineOverdue)
    assert (first.data.at, first.data.due_date) == (overdue.at, date(2024, 4, 30))
    warning = make(rungs(timer.due_date, (7, 3), False)[0])
    assert warning.id != first.id and warning.type == "deadline.warning"


def test_settings_clock_and_warning_days(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(DeadlinesSettings().clock(), SystemClock)
    monkeypatch.setenv("XF_CLOCK_SPEED", "1440")
    monkeypatch.setenv("XF_CLOCK_OFFSET_DAYS", "-30")
    monkeypatch.setenv("XF_WARNING_DAYS", "[3, 7, 7, 1]")
    settings = DeadlinesSettings()
    clock = settings.clock()
    assert isinstance(clock, ShiftedClock) and clock.speed == 1440
    assert clock.offset == timedelta(days=-30)
    assert settings.warning_days == (7, 3, 1)
    monkeypatch.setenv("XF_WARNING_DAYS", "[0]")
    with pytest.raises(ValueError):
        DeadlinesSettings()
