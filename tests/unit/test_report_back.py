"""The report back to an assigning body: its configured limits, its due date and its timer
(services/deadlines/report_back.py, plan.py, reconcile.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.deadlines.plan import Fact, plan
from services.deadlines.reconcile import Policy, new_timer, recount
from services.deadlines.report_back import LimitsInvalid, ReportBackLimits, load, parse
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import CountingMode, DeadlineKind, compute_due
from shared.platform.settings import REPO_ROOT

K = DeadlineKind
CAL = WorkingCalendar()
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Monday
POLICY = Policy(CountingMode.calendar_roll_forward, (7, 3), timedelta(0))
LIMITS = parse({"channels": {"provincial_transfer": 60, "superior_assigned": 45},
                "bodies": {"吉安市人民政府办公室": 30}})


def test_a_body_limit_wins_over_its_channel() -> None:
    assert LIMITS.days_for("provincial_transfer", "江西省信访局") == 60
    assert LIMITS.days_for("provincial_transfer", " 吉安市人民政府办公室 ") == 30
    assert LIMITS.days_for("city_transfer", None) is None  # no limit configured
    assert LIMITS.days_for("letter", "吉安市人民政府办公室") is None  # not a hand-off
    assert ReportBackLimits().days_for("superior_assigned", "x") is None


@pytest.mark.parametrize("raw", [
    {"channels": {"letter": 30}}, {"channels": {"city_transfer": 0}},
    {"bodies": {"x": 400}}, {"bodies": {"x": True}}, {"limits": {}}, ["x"],
    {"channels": [1]},
])
def test_bad_limits_are_refused(raw: object) -> None:
    with pytest.raises(LimitsInvalid):
        parse(raw)


def test_the_local_file_loads() -> None:
    limits = load(REPO_ROOT / "deploy" / "local" / "report-back-limits.yaml")
    assert limits.days_for("provincial_transfer", "江西省信访局") == 60
    with pytest.raises(LimitsInvalid):
        load(Path("/nonexistent/limits.yaml"))


def test_configured_length_is_counted_like_the_law() -> None:
    # 30 days from 2026-03-02 = 04-01 (a Wednesday); from 04-06 (清明 holiday) 30 days = 05-06,
    # the day after the Labour Day holiday that ends on 05-05
    assert compute_due(K.report_back, date(2026, 3, 2), CAL, days=30).due_date == date(2026, 4, 1)
    assert compute_due(K.report_back, date(2026, 4, 6), CAL, days=30).due_date == date(2026, 5, 6)
    with pytest.raises(ValueError):
        compute_due(K.handling, date(2026, 3, 2), CAL, days=30)
    with pytest.raises(ValueError):
        compute_due(K.report_back, date(2026, 3, 2), CAL, days=0)


def _fact(kind: str, day: float, seq: int | None = None, **kw: object) -> Fact:
    return Fact(str(uuid.uuid4()), "c", kind, T0 + timedelta(days=day), seq, **kw)  # type: ignore[arg-type]


def _report_back(facts: list[Fact]) -> object:
    found = [p for p in plan(facts) if p.kind is K.report_back]
    return found[0] if found else None


def test_report_back_timer_from_receipt_met_by_closure_or_decline() -> None:
    registered = _fact("case.registered", 0, days=30)
    assert _report_back([_fact("case.registered", 0)]) is None  # no limit: no timer
    p = _report_back([registered])
    assert p is not None and p.end is None and p.length_days == 30  # type: ignore[attr-defined]
    closed = _report_back([registered, _fact("case.accepted", 2, 2),
                           _fact("case.replied", 20, 3), _fact("case.closed", 21, 4)])
    assert closed.end.event_type == "case.closed"  # type: ignore[attr-defined]
    declined = _report_back([registered, _fact("case.declined", 3, 2)])
    assert declined.end.event_type == "case.declined"  # type: ignore[attr-defined]
    linked = _report_back([registered, _fact("case.linked", 1)])
    assert linked.end.outcome == "linked"  # type: ignore[attr-defined]
    moved = _report_back([registered, _fact("case.transferred_out", 1, 2)])
    assert moved.end.status == "cancelled"  # type: ignore[attr-defined]


def test_report_back_keeps_its_length_when_the_calendar_changes() -> None:
    p = _report_back([_fact("case.registered", 0, days=30)])
    timer = new_timer(p, "c", CAL, POLICY, T0)  # type: ignore[arg-type]
    assert (timer.due_date, timer.length_days) == (date(2026, 4, 1), 30)
    holiday = CAL.with_overlay({2026: {"holidays": [date(2026, 4, 1)], "workdays": []}})
    moved, change = recount(timer, holiday, POLICY, T0, "calendar:2026@1")
    assert change is not None and moved.due_date == date(2026, 4, 2) and moved.length_days == 30
    late = new_timer(_report_back([_fact("case.registered", 0, days=30),  # type: ignore[arg-type]
                                   _fact("case.declined", 31, 2)]), "c", CAL, POLICY, T0)
    assert (late.status, late.outcome) == ("met", "late")
