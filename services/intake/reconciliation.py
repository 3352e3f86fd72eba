"""Intake's reconciliation counts per received day, from the case record (the system of
record the other services are compared with)."""

from __future__ import annotations

from aiohttp import web

from shared.platform import reconcile
from shared.platform.reconcile import LOCAL_DAY, Count
from shared.platform.runtime import Infrastructure


def _count(name: str, condition: str = "true") -> Count:
    # cases_received_at serves the range; the timeline's primary key serves the EXISTS.
    return Count(name, f"SELECT {LOCAL_DAY}, count(*) FROM cases "
                       f"WHERE received_at >= $1 AND received_at < $2 AND {condition} GROUP BY 1")


def _reached(action: str) -> str:
    return ("EXISTS (SELECT 1 FROM case_timeline t WHERE t.case_id = cases.case_id "
            f"AND t.action = '{action}')")


NOT_DUPLICATE = "link_kind IS DISTINCT FROM 'duplicate'"
COUNTS = (
    _count("cases"),
    # What statistics counts as received: duplicates are linked, not counted.
    _count("counted", NOT_DUPLICATE),
    _count("assigned", "assignment_version > 0"),
    _count("linked", "linked_to IS NOT NULL"),
    _count("accepted", _reached("accept")),
    _count("closed", f"{NOT_DUPLICATE} AND {_reached('close')}"),
)


def install(app: web.Application, infra: Infrastructure) -> None:
    reconcile.install(app, "intake", infra.pool, COUNTS,
                      infra.settings.reconcile_interval_seconds)
