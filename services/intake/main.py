"""Composition root of the intake service."""

from __future__ import annotations

from services.intake.config import IntakeSettings
from shared.inbox import recording_handler
from shared.service import ServiceSpec, main
from shared.topics import ROUTING_EVENTS

SPEC = ServiceSpec(
    name="intake",
    consumes=(ROUTING_EVENTS,),
    handler=lambda infra: recording_handler(infra.pool),
)


def run() -> None:
    main(SPEC, IntakeSettings())


if __name__ == "__main__":
    run()
