"""The statistics projection's reconciliation counts per received day: cases counted as
received, and those of them closed (at any time: reconciliation compares the present).
``case_fact_received`` (partial, ``WHERE counted``) serves the range."""

from __future__ import annotations

from aiohttp import web

from shared.platform import reconcile
from shared.platform.reconcile import per_day
from shared.platform.runtime import Infrastructure

COUNTS = (
    per_day("received", "case_fact", "counted"),
    per_day("closed", "case_fact", "counted AND e_closed IS NOT NULL"),
)


def install(app: web.Application, infra: Infrastructure) -> None:
    reconcile.install(app, "statistics", infra, COUNTS)
