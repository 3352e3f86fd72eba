"""The deadlines service's reconciliation counts per received day: the cases it knows were
registered, and the timers they started."""

from __future__ import annotations

from aiohttp import web

from shared.platform import reconcile
from shared.platform.reconcile import LOCAL_DAY, Count
from shared.platform.runtime import Infrastructure


def _count(name: str, condition: str = "true") -> Count:
    # cases_received_at serves the range; timers' (case_id, kind, round) key the EXISTS.
    return Count(name, f"SELECT {LOCAL_DAY}, count(*) FROM cases "
                       f"WHERE received_at >= $1 AND received_at < $2 AND {condition} GROUP BY 1")


def _timed(*kinds: str) -> str:
    return " AND ".join(
        f"EXISTS (SELECT 1 FROM timers t WHERE t.case_id = cases.case_id AND t.kind = '{k}')"
        for k in kinds)


COUNTS = (
    _count("cases"),
    # Every registered case starts its routing and acceptance limits at receipt.
    _count("timed", _timed("routing", "acceptance")),
    # Acceptance starts the handling limit.
    _count("handling", _timed("handling")),
)


def install(app: web.Application, infra: Infrastructure) -> None:
    reconcile.install(app, "deadlines", infra.pool, COUNTS,
                      infra.settings.reconcile_interval_seconds)
