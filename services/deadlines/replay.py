"""What a replay of the topics deadlines consumes into a fresh database must reproduce
(``xf replay``).

Deadlines' own inputs that no consumed topic carries are the calendar (its API and overlay
file): a replay copies it, so every timer is counted on the calendar the live one stands on now.
Timers are derived from a case's whole set of facts, so the same events give the same timers
in any order. What the sweep does with time (warned, overdue) is not replayed: a running timer
compares as running, whichever alert it is at.
"""

from __future__ import annotations

from services.deadlines.schema import OPEN_STATUSES

COPIED = ("calendar_years", "calendar_history")

_OPEN = ", ".join(f"'{s}'" for s in OPEN_STATUSES)

COMPARED = {
    "cases": "SELECT case_id, received_at, jurisdiction, unit FROM cases",
    "facts": "SELECT event_id, case_id, type, at, sequence, days, unit FROM case_facts",
    "timers": f"""
        SELECT case_id, kind, round, is_window, start_event_id, start_type, start_at,
               start_date, mode, day_unit, length_days, extension_days, rule, article, due_date,
               provisional, paused_days,
               CASE WHEN status IN ({_OPEN}) THEN 'running' ELSE status END AS status,
               CASE WHEN status IN ({_OPEN}) THEN NULL ELSE outcome END AS outcome,
               ended_at, ended_by, ended_by_type
        FROM timers""",
}
