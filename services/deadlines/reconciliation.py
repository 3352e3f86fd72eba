"""The deadlines service's reconciliation counts per received day: the cases it knows were
registered, and the timers they started. ``cases_received_at`` serves the range, the timers'
``(case_id, kind, round)`` key the EXISTS."""

from __future__ import annotations

from aiohttp import web

from shared.platform import reconcile
from shared.platform.reconcile import per_day
from shared.platform.runtime import Infrastructure


def _timed(*kinds: str) -> str:
    return " AND ".join(
        f"EXISTS (SELECT 1 FROM timers t WHERE t.case_id = cases.case_id AND t.kind = '{k}')"
        for k in kinds)


COUNTS = (
    per_day("cases", "cases"),
    # Every registered case starts its routing and acceptance limits at receipt.
    per_day("timed", "cases", _timed("routing", "acceptance")),
    # Acceptance starts the handling limit.
    per_day("handling", "cases", _timed("handling")),
)


def install(app: web.Application, infra: Infrastructure) -> None:
    reconcile.install(app, "deadlines", infra, COUNTS)
