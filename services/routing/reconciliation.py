"""Routing's reconciliation counts per received day: the petitions it has seen and how it
disposed of them."""

from __future__ import annotations

from aiohttp import web

from shared.platform import reconcile
from shared.platform.reconcile import LOCAL_DAY, Count
from shared.platform.runtime import Infrastructure


def _count(name: str, condition: str = "true") -> Count:
    # petitions_received_at serves the range; the assignments' primary key the EXISTS.
    return Count(name, f"SELECT {LOCAL_DAY}, count(*) FROM petitions "
                       f"WHERE received_at >= $1 AND received_at < $2 AND {condition} GROUP BY 1")


COUNTS = (
    _count("petitions"),
    # Cases given to a unit at least once (intake records each such decision).
    _count("assigned", "EXISTS (SELECT 1 FROM assignments a WHERE a.case_id = petitions.case_id "
                       "AND a.unit IS NOT NULL)"),
    _count("linked", "outcome = 'linked'"),
)


def install(app: web.Application, infra: Infrastructure) -> None:
    reconcile.install(app, "routing", infra.pool, COUNTS,
                      infra.settings.reconcile_interval_seconds)
