"""Reconciliation without the stack: the comparison of ``xf reconcile``, the settled horizon of
the exported totals, the received-day bounds, and the recording rules that repeat the pairs."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime, timedelta

import yaml

from shared.domain.limits import SHANGHAI
from shared.platform.reconcile import SETTLE_SECONDS, bounds, settled_horizon, totals
from shared.tools.cli.reconcile import PAIRS, SERVICES, Drift, compare, render
from tests.unit.test_alert_rules import PROMETHEUS_DIR


def _answers(**changes: int) -> dict[str, dict[str, dict[str, int]]]:
    """Two days on which every service agrees, with ``service__quantity=n`` changed on the
    second day."""
    day = {"intake": {"cases": 5, "counted": 4, "assigned": 3, "linked": 1, "accepted": 2,
                      "closed": 1},
           "routing": {"petitions": 5, "assigned": 3, "linked": 1},
           "deadlines": {"cases": 5, "timed": 5, "handling": 2},
           "statistics": {"received": 4, "closed": 1}}
    second = {s: dict(q) for s, q in day.items()}
    for key, n in changes.items():
        service, quantity = key.split("__")
        second[service][quantity] = n
    return {s: {"2026-11-30": day[s], "2026-12-01": second[s]} for s in day}


def test_no_drift_when_every_pair_agrees() -> None:
    answers = _answers()
    assert compare(answers) == []
    assert render([], answers).endswith("drift: 0")


def test_a_lost_and_a_doubled_case_are_drift_on_their_day_and_pair() -> None:
    drifts = compare(_answers(routing__petitions=4, statistics__received=5))
    assert drifts == [Drift("2026-12-01", "routing_petitions", 5, 4),
                      Drift("2026-12-01", "statistics_received", 4, 5)]
    assert [d.amount for d in drifts] == [1, 1]
    text = render(drifts, _answers())
    assert "routing_petitions" in text and text.endswith("drift: 2")


def test_a_day_a_service_does_not_know_counts_as_zero_there() -> None:
    answers = _answers()
    del answers["deadlines"]["2026-12-01"]
    got = {(d.pair, d.held) for d in compare(answers)}
    assert got == {("deadlines_cases", 0), ("deadlines_timers", 0), ("deadlines_handling", 0)}


def test_every_pair_names_quantities_its_services_count() -> None:
    declared = {s: {c.name for c in importlib.import_module(
        f"services.{s}.reconciliation").COUNTS} for s in SERVICES}
    for pair in PAIRS:
        for service, quantity in (pair.source, pair.held):
            assert quantity in declared[service], (pair, declared[service])


def test_the_recording_rules_are_the_pairs() -> None:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text(encoding="utf-8"))
    recorded = {r["labels"]["pair"]: r["expr"] for g in rules["groups"] for r in g["rules"]
                if r.get("record") == "xinfang_reconcile_drift"}

    def side(q: tuple[str, str]) -> str:
        return f'max(xinfang_reconcile_count{{service="{q[0]}", quantity="{q[1]}"}})'

    assert recorded == {p.name: f"abs({side(p.source)} - {side(p.held)})" for p in PAIRS}


def test_the_horizon_is_the_same_within_a_step_and_one_step_back() -> None:
    t = datetime(2026, 12, 1, 9, 20, 0, tzinfo=UTC)
    h = settled_horizon(t)
    assert h == datetime(2026, 12, 1, 9, 10, tzinfo=UTC)
    assert settled_horizon(t + timedelta(seconds=SETTLE_SECONDS - 1)) == h
    assert settled_horizon(t + timedelta(seconds=SETTLE_SECONDS)) == h + timedelta(
        seconds=SETTLE_SECONDS)


def test_bounds_are_the_received_days_in_shanghai() -> None:
    start, end = bounds(date(2026, 12, 1), date(2026, 12, 2))
    assert start == datetime(2026, 12, 1, tzinfo=SHANGHAI)
    assert end == datetime(2026, 12, 3, tzinfo=SHANGHAI)
    assert start.astimezone(UTC) == datetime(2026, 11, 30, 16, tzinfo=UTC)
    lo, hi = bounds(None, None)
    assert lo.year == 1 and hi.year == 9999


def test_totals_sum_the_days() -> None:
    from services.routing.reconciliation import COUNTS

    days = {"2026-11-30": {"petitions": 2, "assigned": 1, "linked": 0},
            "2026-12-01": {"petitions": 3, "assigned": 3, "linked": 1}}
    assert totals(days, COUNTS) == {"petitions": 5, "assigned": 4, "linked": 1}
