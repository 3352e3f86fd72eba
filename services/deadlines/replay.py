"""What a replay of the topics deadlines consumes into a fresh database must reproduce
(``xf replay``).

Deadlines' own inputs that no consumed topic carries are the calendar (its API and overlay
file): a replay copies it, so every timer is counted on the calendar the live one stands on now.
Timers are derived from a case's whole set of facts, so the same events give the same timers
in any order. What the sweep does with time is not replayed: a running timer compares as
running whichever alert it is at (warned, overdue), and so does a window the sweep let lapse
at its end (met, outcome ``lapsed``).
"""

from __future__ import annotations

from services.deadlines.schema import OPEN_STATUSES

COPIED = ("calendar_years", "calendar_history")

_OPEN = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
# Where the timer stands by the sweep's clock, not by the case's events.
_BY_TIME = f"(status IN ({_OPEN}) OR outcome = 'lapsed')"

COMPARED = {
    "cases": "SELECT case_id, received_at, jurisdiction, unit FROM cases",
    "facts": "SELECT event_id, case_id, type, at, sequence, days, unit FROM case_facts",
    "timers": f"""
        SELECT case_id, kind, round, is_window, start_event_id, start_type, start_at,
               start_date, mode, day_unit, length_days, extension_days, rule, article, due_date,
               provisional, paused_days,
               CASE WHEN {_BY_TIME} THEN 'running' ELSE status END AS status,
               CASE WHEN {_BY_TIME} THEN NULL ELSE outcome END AS outcome,
               CASE WHEN {_BY_TIME} THEN NULL ELSE ended_at END AS ended_at,
               ended_by, ended_by_type
        FROM timers""",
}
