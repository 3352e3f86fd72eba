"""Composition root of the routing service: the consumer of case events, the outbox relay of
its decisions, and the rules and assignments API."""

from __future__ import annotations

from aiohttp import web

from services.routing import reconciliation
from services.routing.api import RoutingApi
from services.routing.config import RoutingSettings
from services.routing.handlers import case_events_policy
from services.routing.openapi import document
from services.routing.router import Router
from services.routing.ruleset_store import RuleStore
from shared.platform import audit, openapi
from shared.platform.calendar_versions import CalendarView
from shared.platform.pipeline import Policy
from shared.platform.ratelimit import limit_writes
from shared.platform.runtime import Infrastructure
from shared.platform.service import ServiceSpec, main
from shared.platform.topics import CALENDAR_EVENTS, CASE_EVENTS, ROUTING_EVENTS

# Events per transaction: each batch pays about ten round trips and a commit whatever its
# size, so bigger batches route faster (benchmarks/routing.py), at the price of holding the
# petitioners' locks a little longer.
BATCH_SIZE = 1000


def build_spec(settings: RoutingSettings) -> ServiceSpec:
    rules = RuleStore(settings.routing_rules_file)
    # A broken bootstrap file stops the service at start, not at its first event.
    rules.parse(settings.routing_rules_file.read_text(encoding="utf-8"))
    calendar = CalendarView()  # deadlines' calendar, as folded into this database
    topic = ROUTING_EVENTS.name(settings.topic_prefix)

    def router(infra: Infrastructure) -> Router:
        return Router(infra.clock, calendar, settings.counting_mode)

    def policy(infra: Infrastructure) -> Policy:
        return case_events_policy(router(infra), rules, topic)

    def routes(app: web.Application, infra: Infrastructure) -> None:
        limit_writes(app, infra.settings.write_rate_per_minute)
        RoutingApi(infra.pool, rules, router(infra), topic, infra.clock).install(app)
        audit.install(app, infra.pool)
        openapi.install(app, document())
        reconciliation.install(app, infra)

    return ServiceSpec(name="routing", consumes=(CASE_EVENTS, CALENDAR_EVENTS), policy=policy,
                       publishes=(ROUTING_EVENTS,), routes=routes, batch_size=BATCH_SIZE)


def run() -> None:
    settings = RoutingSettings()
    main(build_spec(settings), settings)


if __name__ == "__main__":
    run()
