"""Composition root of the deadlines service: the consumer of case and routing events, the
sweep, the outbox relay of its alerts, the gauge leader, the overlay file and the API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp import web

from services.deadlines import calendars, reconciliation, report_back
from services.deadlines.api import DeadlinesApi
from services.deadlines.config import DeadlinesSettings
from services.deadlines.handlers import events_policy
from services.deadlines.metrics import run_gauges
from services.deadlines.openapi import document
from services.deadlines.reconcile import Policy
from services.deadlines.sweep import Backoff, Sweep
from shared.domain.calendar import load_overlay
from shared.domain.vocab import default_vocabulary
from shared.platform import audit, openapi
from shared.platform.pipeline import Policy as EventsPolicy
from shared.platform.ratelimit import limit_writes
from shared.platform.runtime import Infrastructure
from shared.platform.service import ServiceSpec, main
from shared.platform.topics import CALENDAR_EVENTS, CASE_EVENTS, DEADLINE_EVENTS, ROUTING_EVENTS


def policy_of(settings: DeadlinesSettings) -> Policy:
    return Policy(settings.counting_mode, settings.warning_days,
                  timedelta(seconds=settings.alert_grace_seconds))


def build_spec(settings: DeadlinesSettings) -> ServiceSpec:
    # A bad overlay file fails the start, not some later recount.
    overlay = load_overlay(settings.calendar_overlay) if settings.calendar_overlay else {}
    limits = (report_back.load(settings.report_back_limits) if settings.report_back_limits
              else report_back.ReportBackLimits())
    policy = policy_of(settings)
    vocab = default_vocabulary()
    topic = DEADLINE_EVENTS.name(settings.topic_prefix)
    calendar_topic = CALENDAR_EVENTS.name(settings.topic_prefix)
    cals = calendars.Calendars()

    def events(infra: Infrastructure) -> EventsPolicy:
        return events_policy(cals, policy, infra.clock, vocab, topic, limits)

    def routes(app: web.Application, infra: Infrastructure) -> None:
        limit_writes(app, infra.settings.write_rate_per_minute)
        DeadlinesApi(infra.pool, infra.clock, vocab, policy, topic, calendar_topic).install(app)
        audit.install(app, infra.pool)
        openapi.install(app, document())
        reconciliation.install(app, infra)

    backoff = Backoff(timedelta(seconds=settings.sweep_retry_base_seconds),
                      timedelta(seconds=settings.sweep_retry_max_seconds))

    async def sweep(infra: Infrastructure) -> None:
        await asyncio.gather(*(
            Sweep(infra.pool, infra.clock, policy, topic, batch=settings.sweep_batch,
                  interval=settings.sweep_interval_seconds, backoff=backoff).run()
            for _ in range(settings.sweep_workers)))

    async def gauges(infra: Infrastructure) -> None:
        await run_gauges(infra.pool, infra.clock, settings.gauge_interval_seconds)

    overlay_applied: list[bool] = []

    async def overlay_file(infra: Infrastructure) -> None:
        # The file is only the seed of the calendar: what it changes is published like a
        # change made through the API, and versions stored before versions were published
        # go out first, so every service counts on what this database holds.
        await calendars.announce_unpublished(infra.pool, calendar_topic)
        if overlay:
            await calendars.apply_file(infra.pool, overlay, policy=policy, clock=infra.clock,
                                       topic=topic, calendar_topic=calendar_topic)
        overlay_applied.append(True)

    def checks(_: Infrastructure) -> dict[str, bool]:
        # Not ready before the overlay file is in the database: until then the instance
        # would answer with the calendar as it was.
        return {"calendar_overlay": bool(overlay_applied)}

    return ServiceSpec(
        name="deadlines",
        consumes=(CASE_EVENTS, ROUTING_EVENTS),
        policy=events,
        publishes=(DEADLINE_EVENTS, CALENDAR_EVENTS),
        routes=routes,
        tasks=(overlay_file, sweep, gauges),
        extra_checks=checks,
        # Published alerts live on the topic. The timers themselves guard against a second
        # alert; the outbox rows (deterministic ids) are a second guard, kept for a week.
        outbox_retention_hours=7 * 24,
    )


def run() -> None:
    settings = DeadlinesSettings()
    main(build_spec(settings), settings, clock=settings.clock())


if __name__ == "__main__":
    run()
