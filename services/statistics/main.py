"""Composition root of the statistics service."""

from __future__ import annotations

from services.statistics.config import StatisticsSettings
from shared.inbox import recording_handler
from shared.service import ServiceSpec, main
from shared.topics import CASE_EVENTS, DEADLINE_EVENTS, ROUTING_EVENTS

SPEC = ServiceSpec(
    name="statistics",
    consumes=(CASE_EVENTS, ROUTING_EVENTS, DEADLINE_EVENTS,),
    handler=lambda infra: recording_handler(infra.pool),
)


def run() -> None:
    main(SPEC, StatisticsSettings())


if __name__ == "__main__":
    run()
