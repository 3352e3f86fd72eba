"""The sweep's plan for a claimed batch: a timer whose alert cannot be built is parked, the
others fire; a parked timer's wait doubles with each failure, up to a ceiling."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.deadlines.reconcile import Policy
from services.deadlines.sweep import Backoff, Sweep
from shared.domain.limits import CountingMode
from shared.platform.clock import SystemClock

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def _timer(id_: int, due: date) -> dict[str, Any]:
    return {"id": id_, "case_id": f"case-{id_}", "kind": "handling", "round": 0,
            "is_window": False, "due_date": due, "fired_days": None, "warned": [],
            "overdue_at": None, "outcome": None, "sweep_failures": 0, "unit": "u"}


def test_a_timer_whose_alert_cannot_be_built_is_parked_and_the_rest_fire() -> None:
    policy = Policy(CountingMode.calendar_roll_forward, (7, 3), timedelta(0))
    sweep = Sweep(None, SystemClock(), policy, "topic")  # type: ignore[arg-type]  # no I/O
    broken = _timer(1, date(1, 1, 2))  # its warning days fall before the first day there is
    plan = sweep._plan([broken, _timer(2, date(2026, 5, 1))], NOW)  # type: ignore[list-item]
    assert [(r["id"], type(e).__name__) for r, e in plan.parked] == [(1, "OverflowError")]
    assert [m[0] for m in plan.marks] == [2]
    assert [e.subject for e in plan.envelopes] == ["case-2"]
    assert plan.alerts == [("deadline.overdue", "handling")]


def test_the_wait_of_a_parked_timer_doubles_up_to_the_ceiling() -> None:
    backoff = Backoff(timedelta(minutes=1), timedelta(minutes=10))
    assert [backoff.after(n).total_seconds() for n in (1, 2, 3, 4, 5, 1000)] == [
        60, 120, 240, 480, 600, 600]
