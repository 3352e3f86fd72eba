"""Intake's reconciliation counts per received day, from the case record (the system of
record the other services are compared with). ``cases_received_at`` serves the range, the
timeline's primary key the EXISTS."""

from __future__ import annotations

from aiohttp import web

from shared.platform import reconcile
from shared.platform.reconcile import per_day
from shared.platform.runtime import Infrastructure


def _reached(action: str) -> str:
    return ("EXISTS (SELECT 1 FROM case_timeline t WHERE t.case_id = cases.case_id "
            f"AND t.action = '{action}')")


NOT_DUPLICATE = "link_kind IS DISTINCT FROM 'duplicate'"
COUNTS = (
    per_day("cases", "cases"),
    # What statistics counts as received: duplicates are linked, not counted.
    per_day("counted", "cases", NOT_DUPLICATE),
    per_day("assigned", "cases", "assignment_version > 0"),
    per_day("linked", "cases", "linked_to IS NOT NULL"),
    per_day("accepted", "cases", _reached("accept")),
    per_day("closed", "cases", f"{NOT_DUPLICATE} AND {_reached('close')}"),
)


def install(app: web.Application, infra: Infrastructure) -> None:
    reconcile.install(app, "intake", infra, COUNTS)
