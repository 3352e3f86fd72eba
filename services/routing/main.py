"""Composition root of the routing service."""

from __future__ import annotations

from services.routing.config import RoutingSettings
from shared.inbox import recording_handler
from shared.service import ServiceSpec, main
from shared.topics import CASE_EVENTS

SPEC = ServiceSpec(
    name="routing",
    consumes=(CASE_EVENTS,),
    handler=lambda infra: recording_handler(infra.pool),
)


def run() -> None:
    main(SPEC, RoutingSettings())


if __name__ == "__main__":
    run()
