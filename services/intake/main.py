"""Composition root of the intake service: the case API, Open311, imports, the outbox relay,
and the consumer of routing decisions."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from services.intake import openapi, reconciliation
from services.intake.actions import ActionApi
from services.intake.api import CaseApi, TrackLimits
from services.intake.assignments import RoutingDecisions
from services.intake.caselist import CaseListApi
from services.intake.config import IntakeSettings
from services.intake.handlers import routing_policy
from services.intake.handoff_report import HandoffReportApi
from services.intake.imports import ImportApi
from services.intake.keyring import MissingKey, key_ring, parse_old_keys
from services.intake.open311 import Open311Api
from services.intake.registrar import Registrar
from services.intake.registration import Keys
from services.intake.selfservice import SelfServiceApi, tracking_options
from services.intake.similar import SimilarApi
from shared.domain.vocab import default_vocabulary
from shared.platform import audit
from shared.platform.calendar_versions import CalendarView
from shared.platform.clock import Clock
from shared.platform.logging import get_logger
from shared.platform.ratelimit import RateLimiter, limit_writes
from shared.platform.runtime import Infrastructure
from shared.platform.service import ServiceSpec, main
from shared.platform.settings import decode_key
from shared.platform.topics import CALENDAR_EVENTS, CASE_EVENTS, HANDOFF_EVENTS, ROUTING_EVENTS
from shared.platform.web import error

log = get_logger(__name__)


def keys_from(settings: IntakeSettings) -> Keys:
    old = parse_old_keys(settings.pii_old_keys.get_secret_value()) if settings.pii_old_keys \
        else {}
    ring = key_ring(settings.pii_key_id, decode_key(settings.pii_key, "XF_PII_KEY"), old)
    return Keys(cipher=ring,
                pseudonym_key=decode_key(settings.pseudonym_key, "XF_PSEUDONYM_KEY"))


@web.middleware
async def missing_key_answer(request: web.Request, handler: Any) -> web.StreamResponse:
    """A ciphertext under a key that is not configured: say which key, not a traceback."""
    try:
        return await handler(request)  # type: ignore[no-any-return]
    except MissingKey as exc:
        log.error("pii_key_missing", key_id=exc.kid)
        raise error(503, str(exc), key_id=exc.kid) from None


def build_spec(settings: IntakeSettings) -> ServiceSpec:
    keys = keys_from(settings)  # fail at start-up, not on the first request, if a key is bad
    vocab = default_vocabulary()
    # The calendar deadlines publishes, as folded into this service's database.
    calendar = CalendarView()

    def registrar(infra: Infrastructure, clock: Clock) -> Registrar:
        return Registrar(infra.pool, keys, clock, topic_prefix=settings.topic_prefix,
                         tracking_prefix=settings.tracking_prefix)

    imports: list[ImportApi] = []

    def routes(app: web.Application, infra: Infrastructure) -> None:
        app.middlewares.append(missing_key_answer)
        reg = registrar(infra, infra.clock)
        limit_writes(app, settings.write_rate_per_minute)
        track = TrackLimits(RateLimiter(settings.track_rate_per_address_per_minute),
                            RateLimiter(settings.track_rate_per_number_per_minute))
        CaseApi(infra.pool, reg, keys, infra.clock, vocab, settings.earliest_day, track,
                public_options=tracking_options(calendar, settings.counting_mode,
                                                infra.clock)).install(app)
        CaseListApi(infra.pool, vocab).install(app)
        SimilarApi(infra.pool, keys, infra.clock, vocab).install(app)
        Open311Api(infra.pool, reg, infra.clock, vocab, settings.earliest_day).install(app)
        importer = ImportApi(infra.pool, reg, infra.clock, vocab, settings)
        importer.install(app)
        imports.append(importer)
        openapi.install(app, vocab)
        audit.install(app, infra.pool)
        reconciliation.install(app, infra)
        ActionApi(infra.pool, infra.clock, calendar, settings.counting_mode,
                  settings.topic_prefix, settings.earliest_day).install(app)
        HandoffReportApi(infra.pool, infra.clock, vocab, calendar,
                         settings.counting_mode).install(app)
        # The petitioner's own rating and review request spend tracking's allowances.
        SelfServiceApi(infra.pool, reg, infra.clock, calendar, settings.counting_mode,
                       settings.topic_prefix, track).install(app)

    async def resume_imports(_: Infrastructure) -> None:
        await asyncio.gather(*(importer.resume_forever() for importer in imports))

    async def calendar_refresh(infra: Infrastructure) -> None:
        # The tracking page's options read the calendar without a connection of their own.
        await calendar.refresh_forever(infra.pool)

    return ServiceSpec(
        name="intake",
        consumes=(ROUTING_EVENTS, CALENDAR_EVENTS),
        policy=lambda infra: routing_policy(RoutingDecisions(
            calendar, settings.counting_mode, infra.clock, settings.topic_prefix)),
        publishes=(CASE_EVENTS, HANDOFF_EVENTS),
        routes=routes,
        tasks=(resume_imports, calendar_refresh),
        # Intake's outbox is the case record's history on its way to the topic; a week of
        # published rows is kept for diagnosis.
        outbox_retention_hours=7 * 24,
    )


def run() -> None:
    settings = IntakeSettings()  # type: ignore[call-arg]  # required keys come from the env
    main(build_spec(settings), settings)


if __name__ == "__main__":
    run()
