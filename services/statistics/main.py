"""Composition root of the statistics service: the projection consumer, the leader (folder and
gauges), and the figures API."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from aiohttp import web

from services.statistics import reconciliation
from services.statistics.api import StatsApi
from services.statistics.config import StatisticsSettings
from services.statistics.leader import lead
from services.statistics.openapi import document
from services.statistics.reader import Reader, load_unit_names
from services.statistics.store import Projector
from shared.domain.vocab import default_vocabulary
from shared.platform import openapi
from shared.platform.calendar_versions import CalendarView
from shared.platform.pipeline import Applied, Delivered, Policy
from shared.platform.ratelimit import limit_writes
from shared.platform.runtime import Infrastructure
from shared.platform.service import ServiceSpec, main
from shared.platform.topics import CALENDAR_EVENTS, CASE_EVENTS, DEADLINE_EVENTS, ROUTING_EVENTS


def projector_for(settings: StatisticsSettings) -> Projector:
    """On-time is judged on the calendar deadlines publishes, as folded into the projection."""
    return Projector(CalendarView(), settings.counting_mode, default_vocabulary())


def build_spec(settings: StatisticsSettings) -> ServiceSpec:
    projector = projector_for(settings)
    vocab = default_vocabulary()
    units = load_unit_names(settings.routing_rules_file)

    def policy(_: Infrastructure) -> Policy:
        async def apply(conn: asyncpg.Connection, fresh: Sequence[Delivered]) -> Applied | None:
            await projector.apply_events(conn, [d.envelope for d in fresh])
            return None

        return apply

    def routes(app: web.Application, infra: Infrastructure) -> None:
        limit_writes(app, infra.settings.write_rate_per_minute)
        StatsApi(Reader(infra.pool, vocab, units), infra.clock, vocab).install(app)
        openapi.install(app, document())
        reconciliation.install(app, infra)

    async def leader(infra: Infrastructure) -> None:
        await lead(infra, settings, vocab)

    return ServiceSpec(
        name="statistics",
        consumes=(CASE_EVENTS, ROUTING_EVENTS, DEADLINE_EVENTS, CALENDAR_EVENTS),
        policy=policy,
        routes=routes,
        tasks=(leader,),
        # Larger batches than the default: one transaction applies them all, and the inbox
        # claim, the row locks and the journal COPY cost per batch, not per event.
        batch_size=2000,
    )


def run() -> None:
    settings = StatisticsSettings()
    main(build_spec(settings), settings)


if __name__ == "__main__":
    run()
