"""Warnings, overdue and lapses: what the sweep does when a timer comes due (ladder.py)."""

from __future__ import annotations

from datetime import date, datetime

from services.deadlines.ladder import OVERDUE, advance, next_fire, rearm, rungs
from shared.domain.limits import SHANGHAI

DUE = date(2024, 10, 8)
W = (7, 3)


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_rungs_of_a_duty_and_of_a_window() -> None:
    assert [(r.days, r.at) for r in rungs(DUE, W, False)] == [
        (7, sh("2024-10-01T00:00")), (3, sh("2024-10-05T00:00")),
        (OVERDUE, sh("2024-10-09T00:00"))]
    assert [(r.days, r.at) for r in rungs(DUE, W, True)] == [(OVERDUE, sh("2024-10-09T00:00"))]


def test_climbing_one_rung_at_a_time() -> None:
    nothing = advance(DUE, W, False, None, (), sh("2024-09-30T23:59"))
    assert nothing.rung is None and nothing.next_fire_at == sh("2024-10-01T00:00")
    seven = advance(DUE, W, False, None, (), sh("2024-10-01T00:00"))
    assert seven.rung is not None and seven.rung.days == 7
    assert (seven.status, seven.warned, seven.next_fire_at) == (
        "warned", (7,), sh("2024-10-05T00:00"))
    three = advance(DUE, W, False, 7, (7,), sh("2024-10-05T08:00"))
    assert three.rung is not None and three.rung.days == 3 and three.warned == (7, 3)
    # the due date itself is not overdue: only after its end
    assert advance(DUE, W, False, 3, (7, 3), sh("2024-10-08T23:59:59")).rung is None
    overdue = advance(DUE, W, False, 3, (7, 3), sh("2024-10-09T00:00"))
    assert overdue.rung is not None and overdue.rung.days == OVERDUE
    assert (overdue.status, overdue.next_fire_at, overdue.fired_days) == ("overdue", None, OVERDUE)


def test_late_sweep_sends_only_the_most_severe_rung() -> None:
    late = advance(DUE, W, False, None, (), sh("2025-01-01T00:00"))
    assert late.rung is not None and late.rung.days == OVERDUE
    assert late.warned == () and late.status == "overdue"
    between = advance(DUE, W, False, None, (), sh("2024-10-06T00:00"))
    assert between.rung is not None and between.rung.days == 3 and between.warned == (3,)


def test_a_window_lapses_quietly() -> None:
    assert advance(DUE, W, True, None, (), sh("2024-10-08T12:00")).outcome is None
    lapsed = advance(DUE, W, True, None, (), sh("2024-10-09T00:00"))
    assert lapsed.rung is None
    assert (lapsed.status, lapsed.outcome, lapsed.next_fire_at) == ("met", "lapsed", None)


def test_next_fire_skips_handled_rungs() -> None:
    assert next_fire(DUE, W, False, None) == sh("2024-10-01T00:00")
    assert next_fire(DUE, W, False, 7) == sh("2024-10-05T00:00")
    assert next_fire(DUE, W, False, OVERDUE) is None
    assert next_fire(DUE, (), False, None) == sh("2024-10-09T00:00")


def test_rearm_after_a_move() -> None:
    later = date(2024, 11, 7)
    # an extension after the 7-day warning: warn again before the new date
    assert rearm(DUE, later, W, False, 7, sh("2024-10-02T00:00")) is None
    # overdue under both dates: stays overdue, nothing new to send
    assert rearm(DUE, date(2024, 10, 9), W, False, OVERDUE, sh("2024-11-01T00:00")) == OVERDUE
    # overdue before, but the new date is 3..7 days away: back to "warned at 7", the 3-day
    # warning re-armed; 0..3 days away: "warned at 3"
    assert rearm(DUE, date(2024, 10, 14), W, False, OVERDUE, sh("2024-10-09T12:00")) == 7
    assert rearm(DUE, date(2024, 10, 12), W, False, OVERDUE, sh("2024-10-09T12:00")) == 3
    assert rearm(DUE, DUE, W, False, 3, sh("2024-10-05T00:00")) == 3
    assert rearm(DUE, later, W, False, None, sh("2024-10-05T00:00")) is None
