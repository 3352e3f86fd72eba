"""A service's shape in one declaration, and the one way to run it.

Each service module declares a :class:`ServiceSpec` (its name, port, the topics it consumes,
how to build its batch handler, its HTTP routes and background tasks); :func:`compose` is the
composition root that wires a spec to settings, a clock and tokens, and :func:`main` runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import faust

from shared.platform.access import credentials
from shared.platform.auth import TokenBook
from shared.platform.clock import Clock, SystemClock
from shared.platform.consumer import BatchHandler, BatchProcessor, DeadLetters, attach_consumer
from shared.platform.logging import configure_logging
from shared.platform.runtime import (
    BackgroundTask,
    Infrastructure,
    ReadyCheck,
    RouteInstaller,
    Runtime,
    new_faust_app,
    run_worker,
)
from shared.platform.settings import ServiceSettings
from shared.platform.topics import DEAD_LETTERS, TopicSpec

HandlerFactory = Callable[[Infrastructure], BatchHandler]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    consumes: Sequence[TopicSpec] = ()
    handler: HandlerFactory | None = None
    routes: RouteInstaller | None = None
    tasks: Sequence[BackgroundTask] = field(default_factory=tuple)
    extra_checks: ReadyCheck | None = None
    batch_size: int = 500


def compose(spec: ServiceSpec, settings: ServiceSettings, *, clock: Clock,
            tokens: TokenBook) -> tuple[faust.App, Runtime]:
    """The composition root: a faust app and the runtime that owns every connection."""
    app = new_faust_app(settings)
    runtime = Runtime(settings, clock=clock, tokens=tokens, routes=spec.routes,
                      tasks=spec.tasks, extra_checks=spec.extra_checks)
    if spec.consumes and spec.handler is not None:
        handler_factory = spec.handler
        dlq_topic = DEAD_LETTERS[spec.name].name(settings.topic_prefix)
        built: list[BatchProcessor] = []

        def processor() -> BatchProcessor:
            # Built on first use: the runtime has connected by the time agents consume.
            if not built:
                infra = runtime.infra
                built.append(BatchProcessor(
                    handler_factory(infra),
                    DeadLetters(infra.producer, dlq_topic, spec.name,
                                settings.dead_letter_cap_per_minute),
                ))
            return built[0]

        attach_consumer(app, name=f"{spec.name}-events",
                        topics=[t.name(settings.topic_prefix) for t in spec.consumes],
                        processor=processor, batch_size=spec.batch_size)
    return app, runtime


def main(spec: ServiceSpec, settings: ServiceSettings, clock: Clock | None = None) -> None:
    configure_logging(spec.name, settings.log_level)
    # Refuses development secrets outside the local stack, before anything connects. Tokens
    # expire in real time (the issuer's), even where a demo runs the service's clock fast.
    tokens = credentials(settings, SystemClock())
    app, runtime = compose(spec, settings, clock=clock or SystemClock(), tokens=tokens)
    run_worker(app, runtime)
