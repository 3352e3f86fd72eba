"""Composition root of the routing service: the consumer of case events, the outbox relay of
its decisions, and the rules and assignments API."""

from __future__ import annotations

import asyncio

from aiohttp import web

from services.routing import reconciliation
from services.routing.api import RoutingApi
from services.routing.config import RoutingSettings
from services.routing.handlers import case_events_handler
from services.routing.router import Router
from services.routing.ruleset_store import RuleStore
from shared.domain.calendar import WorkingCalendar, load_overlay
from shared.platform import outbox
from shared.platform.consumer import BatchHandler
from shared.platform.runtime import Infrastructure
from shared.platform.service import ServiceSpec, main
from shared.platform.topics import CASE_EVENTS, ROUTING_EVENTS

# Events per transaction: each batch pays about ten round trips and a commit whatever its
# size, so bigger batches route faster (benchmarks/routing.py), at the price of holding the
# petitioners' locks a little longer.
BATCH_SIZE = 1000
PURGE_INTERVAL_SECONDS = 3600.0


def build_spec(settings: RoutingSettings) -> ServiceSpec:
    rules = RuleStore(settings.routing_rules_file)
    # A broken bootstrap file stops the service at start, not at its first event.
    rules.parse(settings.routing_rules_file.read_text(encoding="utf-8"))
    calendar = WorkingCalendar(
        load_overlay(settings.calendar_overlay) if settings.calendar_overlay else None)
    topic = ROUTING_EVENTS.name(settings.topic_prefix)
    relays: list[outbox.OutboxRelay] = []

    def router(infra: Infrastructure) -> Router:
        return Router(infra.clock, calendar, settings.counting_mode)

    def handler(infra: Infrastructure) -> BatchHandler:
        return case_events_handler(infra.pool, router(infra), rules, topic)

    def routes(app: web.Application, infra: Infrastructure) -> None:
        RoutingApi(infra.pool, rules, router(infra), topic).install(app)
        reconciliation.install(app, infra)

    async def relay(infra: Infrastructure) -> None:
        r = outbox.OutboxRelay(infra.pool, infra.producer)
        relays.append(r)
        await r.run()

    async def purge(infra: Infrastructure) -> None:
        # Published decisions live on the topic; the outbox keeps a day of them for diagnosis.
        # Every instance purges: the delete is idempotent.
        while True:
            await outbox.purge_sent(infra.pool, older_than_hours=24)
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)

    def checks(_: Infrastructure) -> dict[str, bool]:
        # A wedged idempotent producer (aiokafka #1017) shows here; restart the instance.
        return {"outbox_relay": all(r.last_error is None for r in relays)}

    return ServiceSpec(name="routing", consumes=(CASE_EVENTS,), handler=handler, routes=routes,
                       tasks=(relay, purge), extra_checks=checks, batch_size=BATCH_SIZE)


def run() -> None:
    settings = RoutingSettings()
    main(build_spec(settings), settings)


if __name__ == "__main__":
    run()
