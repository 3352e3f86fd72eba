"""The statistics projection's reconciliation counts per received day: cases counted as
received, and those of them closed (at any time: reconciliation compares the present)."""

from __future__ import annotations

from aiohttp import web

from shared.platform import reconcile
from shared.platform.reconcile import LOCAL_DAY, Count
from shared.platform.runtime import Infrastructure


def _count(name: str, condition: str = "true") -> Count:
    # case_fact_received (partial, WHERE counted) serves the range.
    return Count(name, f"SELECT {LOCAL_DAY}, count(*) FROM case_fact WHERE counted "
                       f"AND received_at >= $1 AND received_at < $2 AND {condition} GROUP BY 1")


COUNTS = (
    _count("received"),
    _count("closed", "e_closed IS NOT NULL"),
)


def install(app: web.Application, infra: Infrastructure) -> None:
    reconcile.install(app, "statistics", infra.pool, COUNTS,
                      infra.settings.reconcile_interval_seconds)
