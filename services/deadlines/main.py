"""Composition root of the deadlines service."""

from __future__ import annotations

from services.deadlines.config import DeadlinesSettings
from shared.inbox import recording_handler
from shared.service import ServiceSpec, main
from shared.topics import CASE_EVENTS, ROUTING_EVENTS

SPEC = ServiceSpec(
    name="deadlines",
    consumes=(CASE_EVENTS, ROUTING_EVENTS,),
    handler=lambda infra: recording_handler(infra.pool),
)


def run() -> None:
    main(SPEC, DeadlinesSettings())


if __name__ == "__main__":
    run()
