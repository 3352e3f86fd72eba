"""Composition root of the intake service: the case API, Open311, imports, the outbox relay,
and the consumer of routing decisions."""

from __future__ import annotations

from aiohttp import web

from services.intake import openapi, reconciliation
from services.intake.actions import ActionApi
from services.intake.api import CaseApi
from services.intake.assignments import RoutingDecisions
from services.intake.config import IntakeSettings
from services.intake.crypto import PiiCipher
from services.intake.handlers import routing_policy
from services.intake.imports import ImportApi
from services.intake.open311 import Open311Api
from services.intake.registrar import Registrar
from services.intake.registration import Keys
from shared.domain.calendar import WorkingCalendar, load_overlay
from shared.domain.vocab import default_vocabulary
from shared.platform.clock import Clock
from shared.platform.runtime import Infrastructure
from shared.platform.service import ServiceSpec, main
from shared.platform.settings import decode_key
from shared.platform.topics import CASE_EVENTS, ROUTING_EVENTS


def keys_from(settings: IntakeSettings) -> Keys:
    return Keys(cipher=PiiCipher(decode_key(settings.pii_key, "XF_PII_KEY")),
                pseudonym_key=decode_key(settings.pseudonym_key, "XF_PSEUDONYM_KEY"))


def build_spec(settings: IntakeSettings) -> ServiceSpec:
    keys = keys_from(settings)  # fail at start-up, not on the first request, if a key is bad
    vocab = default_vocabulary()
    calendar = WorkingCalendar(
        load_overlay(settings.calendar_overlay) if settings.calendar_overlay else None)

    def registrar(infra: Infrastructure, clock: Clock) -> Registrar:
        return Registrar(infra.pool, keys, clock, topic_prefix=settings.topic_prefix,
                         tracking_prefix=settings.tracking_prefix)

    imports: list[ImportApi] = []

    def routes(app: web.Application, infra: Infrastructure) -> None:
        reg = registrar(infra, infra.clock)
        CaseApi(infra.pool, reg, keys, infra.clock, vocab).install(app)
        Open311Api(infra.pool, reg, infra.clock, vocab).install(app)
        importer = ImportApi(infra.pool, reg, infra.clock, vocab, settings.import_dir)
        importer.install(app)
        imports.append(importer)
        openapi.install(app, vocab)
        reconciliation.install(app, infra)
        ActionApi(infra.pool, infra.clock, calendar, settings.counting_mode,
                  settings.topic_prefix).install(app)

    async def resume_imports(_: Infrastructure) -> None:
        for importer in imports:
            await importer.resume_unfinished()

    return ServiceSpec(
        name="intake",
        consumes=(ROUTING_EVENTS,),
        policy=lambda infra: routing_policy(RoutingDecisions(
            calendar, settings.counting_mode, infra.clock, settings.topic_prefix)),
        publishes=(CASE_EVENTS,),
        routes=routes,
        tasks=(resume_imports,),
        # Intake's outbox is the case record's history on its way to the topic; a week of
        # published rows is kept for diagnosis.
        outbox_retention_hours=7 * 24,
    )


def run() -> None:
    settings = IntakeSettings()  # type: ignore[call-arg]  # required keys come from the env
    main(build_spec(settings), settings)


if __name__ == "__main__":
    run()
