"""The pure parts of one calendar truth and of overdue following the facts: when deadlines
withdraws an overdue alert, how statistics folds alerts and withdrawals in any order, which
calendar versions change a year, which starts a year can reach, intake's objection window on
the latest calendar, and routing's assignments stamped with the case's own time."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from services.deadlines import withdrawals
from services.deadlines.calendar_api import years_without_data
from services.deadlines.ladder import OVERDUE
from services.deadlines.outputs import alert_id, overdue_withdrawn
from services.deadlines.plan import Fact, plan
from services.deadlines.reconcile import Policy, Timer, reconcile, recount
from services.intake import steps
from services.routing.decide import CaseFacts as RoutingFacts
from services.routing.decide import route
from services.routing.outputs import Decided, derived_id
from services.routing.rules import load_rule_set
from services.statistics.facts import CaseFacts, apply, derive
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import SHANGHAI, CountingMode, DeadlineKind, compute_due
from shared.domain.schemas import CaseAssigned, DeadlineOverdue, DeadlineOverdueWithdrawn
from shared.domain.vocab import default_vocabulary
from shared.platform.calendar_versions import Folded, starts_reaching, year_changed
from shared.platform.events import Envelope, envelope_for

MODE = CountingMode.calendar_roll_forward
POLICY = Policy(MODE, (7, 3), timedelta(seconds=10))
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def fact(kind: str, at: str, seq: int | None = None) -> Fact:
    return Fact(f"e-{kind}-{at}", "c", kind, sh(at), seq)


def _overdue_acceptance() -> tuple[list[Fact], Timer]:
    registered = fact("case.registered", "2001-03-01T09:00")
    [timer] = [t for t in reconcile("c", plan([registered]), [], WorkingCalendar(), POLICY,
                                    NOW).inserts if t.kind is DeadlineKind.acceptance]
    return [registered], replace(timer, id=1, status="overdue", fired_days=OVERDUE,
                                 overdue_at=sh("2001-03-17T00:00"), next_fire_at=None)


def test_an_acceptance_entered_late_with_an_on_time_date_withdraws_the_alert() -> None:
    facts, timer = _overdue_acceptance()
    accepted = fact("case.accepted", "2001-03-03T10:00", 2)
    [after] = [t for t in reconcile("c", plan([*facts, accepted]), [timer], WorkingCalendar(),
                                    POLICY, NOW).updates if t.kind is DeadlineKind.acceptance]
    assert (after.status, after.outcome) == ("met", "on_time")
    assert withdrawals.reason(timer, after) == withdrawals.MET_ON_TIME
    [event] = withdrawals.of(timer, after, NOW)
    assert isinstance(event.data, DeadlineOverdueWithdrawn)
    assert event.data.alert_id == alert_id("c", "acceptance", 0, timer.due_date,
                                           OVERDUE)
    assert event.id == overdue_withdrawn("c", "acceptance", 0, timer.due_date, "x", NOW).id


def test_an_alert_the_facts_confirm_stands() -> None:
    facts, timer = _overdue_acceptance()
    late = fact("case.accepted", "2001-04-20T10:00", 2)
    [after] = [t for t in reconcile("c", plan([*facts, late]), [timer], WorkingCalendar(),
                                    POLICY, NOW).updates if t.kind is DeadlineKind.acceptance]
    assert after.outcome == "late" and withdrawals.of(timer, after, NOW) == []
    never_fired = replace(timer, status="pending", fired_days=None)
    assert withdrawals.reason(never_fired, after) is None


def test_a_due_date_moved_past_now_withdraws_the_alert_and_one_still_past_does_not() -> None:
    _, timer = _overdue_acceptance()
    due = timer.due_date
    # Every day from the due date to long after "now" a holiday: the limit is not over yet.
    far = WorkingCalendar({due.year: {"holidays": [
        (due + timedelta(days=i)).isoformat() for i in range((date(due.year, 12, 31) - due).days
                                                             + 1)], "workdays": []}})
    moved, change = recount(timer, far, POLICY, sh("2001-03-20T10:00"), "calendar:2001@1")
    assert change is not None and moved.fired_days != OVERDUE
    assert withdrawals.reason(timer, moved) == withdrawals.DUE_DATE_MOVED
    near = WorkingCalendar({due.year: {"holidays": [due.isoformat()], "workdays": []}})
    still, change = recount(timer, near, POLICY, NOW, "calendar:2001@1")
    assert change is not None and still.fired_days == OVERDUE
    assert withdrawals.reason(timer, still) is None


def _alert(unit: str, at: datetime, kind: str = "acceptance") -> Envelope:
    data = DeadlineOverdue(case_id="c", kind=kind, due_date=at.date(), unit=unit, at=at)
    return envelope_for(data, subject="c", source="t", time=at,
                        event_id=alert_id("c", kind, 0, at.date(), OVERDUE))


def test_statistics_uncounts_a_withdrawn_alert_in_any_order() -> None:
    vocab = default_vocabulary()
    first = _alert("a", sh("2001-03-17T00:00"))
    second = _alert("b", sh("2001-05-01T00:00"), kind="handling")
    withdrawn = overdue_withdrawn("c", "acceptance", 0, date(2001, 3, 17), "met_on_time",
                                  NOW)
    results = set()
    for order in itertools.permutations([first, second, withdrawn]):
        facts = CaseFacts("c")
        for e in order:
            facts = apply(facts, e, vocab)
        results.add(facts)
        assert (facts.overdue_at, facts.overdue_unit) == (sh("2001-05-01T00:00"), "b")
    assert len(results) == 1
    everything = CaseFacts("c")
    for e in (first, withdrawn):
        everything = apply(everything, e, vocab)
    assert everything.overdue_at is None


def test_a_row_from_before_alerts_were_kept_keeps_its_alert() -> None:
    legacy = CaseFacts("c", overdue_at=sh("2001-03-17T00:00"), overdue_unit="a")
    later = apply(legacy, _alert("b", sh("2001-03-18T00:00")), default_vocabulary())
    assert (later.overdue_at, later.overdue_unit) == (sh("2001-03-17T00:00"), "a")
    same_instant = apply(legacy, _alert("b", sh("2001-03-17T00:00")),
                         default_vocabulary())
    assert same_instant.overdue_unit == "b"  # of two at one instant, the greater unit


def test_on_time_follows_the_calendar() -> None:
    accepted = sh("2001-03-01T10:00")
    due = compute_due(DeadlineKind.handling, accepted.date(), WorkingCalendar()).due_date
    facts = CaseFacts("c", registered=True, received_at=accepted, accepted_at=accepted,
                      closed_at=sh(f"{due + timedelta(days=1)}T10:00"))
    assert not derive(facts, WorkingCalendar(), MODE).on_time
    holiday = WorkingCalendar({2001: {"holidays": [due.isoformat()], "workdays": []}})
    assert derive(facts, holiday, MODE).on_time


def test_a_version_changes_its_year_only_when_the_days_differ() -> None:
    empty = WorkingCalendar()
    one = WorkingCalendar({2027: {"holidays": ["2027-02-01"], "workdays": []}})
    assert year_changed(Folded(2027, 1, 1, empty, one))
    assert not year_changed(Folded(2027, 2, 2, one, one))
    assert year_changed(Folded(2027, 3, 3, one, empty))
    assert starts_reaching(2027) == (date(2026, 6, 15), date(2027, 12, 31))
    # 90 working days (counting every limit in working days) stay inside that reach
    latest = compute_due(DeadlineKind.handling, date(2026, 6, 15), empty,
                         CountingMode.working_days, extension_days=30)
    assert latest.due_date.year <= 2027 and years_without_data(
        date(2026, 12, 1), date(2027, 2, 1), empty) == [2027]


def test_intake_counts_the_objection_window_on_the_calendar_it_is_given() -> None:
    row = {"case_id": "c", "status": "assigned", "received_at": sh("2027-01-04T09:00"),
           "last_action_at": None, "objection_due": date(2027, 1, 11),
           "objection_from": date(2027, 1, 4), "extended_days": None, "replied_at": None,
           "reviewed_at": None, "rating": None, "extension_requested_days": None,
           "hearing_open": False, "key_case": False, "urges": 0}
    assert steps.state_of(row, WorkingCalendar(), MODE).objection_due == date(2027, 1, 11)
    holiday = WorkingCalendar({2027: {"holidays": ["2027-01-06"], "workdays": []}})
    assert steps.state_of(row, holiday, MODE).objection_due == date(2027, 1, 12)
    older = {**row, "objection_from": None}  # assigned before the start day was kept
    assert steps.state_of(older, holiday, MODE).objection_due == date(2027, 1, 11)


def test_an_assignment_carries_the_case_time() -> None:
    rules = load_rule_set((Path(__file__).parents[2] / "deploy" / "config" /
                           "routing-rules.yaml").read_text("utf-8"))
    received = sh("2001-03-01T09:00")
    d = Decided("c", 1, route(RoutingFacts("jizhou", "fees"), rules), "initial", NOW,
                derived_id("e", "decided"), case_at=received)
    data = d.envelope().data
    assert isinstance(data, CaseAssigned) and data.assigned_at == received
    assert d.envelope().time == NOW  # the decision itself happened now
