"""Routing's reconciliation counts per received day: the petitions it has seen and how it
disposed of them. ``petitions_received_at`` serves the range, the assignments' primary key the
EXISTS."""

from __future__ import annotations

from aiohttp import web

from shared.platform import reconcile
from shared.platform.reconcile import per_day
from shared.platform.runtime import Infrastructure

COUNTS = (
    per_day("petitions", "petitions"),
    # Cases given to a unit at least once (intake records each such decision).
    per_day("assigned", "petitions", "EXISTS (SELECT 1 FROM assignments a "
            "WHERE a.case_id = petitions.case_id AND a.unit IS NOT NULL)"),
    per_day("linked", "petitions", "outcome = 'linked'"),
)


def install(app: web.Application, infra: Infrastructure) -> None:
    reconcile.install(app, "routing", infra, COUNTS)
