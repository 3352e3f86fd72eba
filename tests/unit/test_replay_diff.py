"""The replay's comparison: rows are multisets, and drift names what is on one side only."""

from __future__ import annotations

from shared.tools.replay import ReplayReport, diff


def test_the_same_rows_in_another_order_are_no_drift() -> None:
    assert diff("timers", [(1, "a"), (2, "b")], [(2, "b"), (1, "a")]) is None


def test_a_row_on_one_side_only_is_drift_on_that_side() -> None:
    drift = diff("timers", [(1, "a"), (2, "b")], [(1, "a"), (3, "c")])
    assert drift is not None
    assert (drift.missing, drift.extra) == (1, 1)
    assert (drift.only_live, drift.only_replayed) == ([(2, "b")], [(3, "c")])
    assert "timers: 1 row(s) only live, 1 only replayed" in str(drift)


def test_a_row_held_twice_on_one_side_is_drift() -> None:
    drift = diff("assignments", [(1,), (1,)], [(1,)])
    assert drift is not None and (drift.missing, drift.extra, drift.live) == (1, 0, 2)


def test_events_the_live_service_never_published_are_a_problem() -> None:
    report = ReplayReport("routing", "routing_replay_x", unpublished=["e1"])
    assert report.problems == ["1 event(s) the replay would publish are on no topic: e1"]
    assert ReplayReport("routing", "routing_replay_x").problems == []
