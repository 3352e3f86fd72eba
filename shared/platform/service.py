"""A service's shape in one declaration, and the one way to run it.

Each service declares a :class:`ServiceSpec`: its name, the topics it consumes and its policy
for them, the topics its outbox publishes, its HTTP routes and background tasks. :func:`compose`
is the composition root that wires a spec to settings, a clock and tokens, and adds what every
service gets: the consumer pipeline with its dead letters, the outbox relay with its health and
retention, the dead-letter API, readiness and liveness.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import faust
from aiohttp import web

from shared.platform import deadletters, faults, outbox
from shared.platform.access import credentials
from shared.platform.auth import TokenBook
from shared.platform.clock import Clock, SystemClock
from shared.platform.consumer import attach_consumer
from shared.platform.logging import configure_logging
from shared.platform.pipeline import (
    ChunkSize,
    ConsumerHealth,
    DeadLetterPolicy,
    Pipeline,
    Policy,
)
from shared.platform.relay import OutboxRelay, RelayHealth
from shared.platform.runtime import (
    BackgroundTask,
    Infrastructure,
    ReadyCheck,
    RouteInstaller,
    Runtime,
    new_faust_app,
    run_worker,
)
from shared.platform.sent_check import TopicTail
from shared.platform.settings import ServiceSettings
from shared.platform.topics import DEAD_LETTERS, TopicSpec

PolicyFactory = Callable[[Infrastructure], Policy]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    consumes: Sequence[TopicSpec] = ()
    policy: PolicyFactory | None = None
    # Topics this service's outbox writes (its dead-letter topic comes on top when it consumes).
    publishes: Sequence[TopicSpec] = ()
    routes: RouteInstaller | None = None
    tasks: Sequence[BackgroundTask] = field(default_factory=tuple)
    extra_checks: ReadyCheck | None = None
    batch_size: int = 500
    # Published rows are kept this long for diagnosis; the topic is the record after that.
    outbox_retention_hours: int = 24


@dataclass
class Delivery:
    """The delivery parts compose() built, for checks and tests."""

    relay: RelayHealth = field(default_factory=RelayHealth)
    consumer: ConsumerHealth = field(default_factory=ConsumerHealth)
    pipeline: Pipeline | None = None


def compose(spec: ServiceSpec, settings: ServiceSettings, *, clock: Clock,
            tokens: TokenBook) -> tuple[faust.App, Runtime]:
    """The composition root: a faust app and the runtime that owns every connection."""
    faults.arm(settings.fault_point)
    app = new_faust_app(settings)
    delivery = Delivery()
    consuming = bool(spec.consumes and spec.policy is not None)
    relaying = consuming or bool(spec.publishes)
    policy_factory = spec.policy
    dlq_topic = DEAD_LETTERS[spec.name].name(settings.topic_prefix) if consuming else ""

    def pipeline(infra: Infrastructure) -> Pipeline:
        # Built on first use: the runtime has connected by the time agents consume.
        if delivery.pipeline is None:
            assert policy_factory is not None
            delivery.pipeline = Pipeline(
                infra.pool, policy_factory(infra), service=spec.name,
                dead_letter_topic=dlq_topic,
                dead_letter_policy=DeadLetterPolicy(
                    max_consecutive=settings.dead_letter_max_consecutive,
                    max_ratio=settings.dead_letter_max_ratio,
                    window=settings.dead_letter_window),
                chunk=ChunkSize(spec.batch_size), health=delivery.consumer)
        return delivery.pipeline

    async def relay(infra: Infrastructure) -> None:
        await OutboxRelay(
            infra.pool, infra.new_producer, delivery.relay,
            replace_after=settings.relay_replace_producer_seconds,
            release_after=settings.relay_release_shards_seconds,
            tail=TopicTail(settings.kafka_bootstrap)).run()

    async def purge(infra: Infrastructure) -> None:
        # Every instance purges: the delete is idempotent.
        while True:
            await outbox.purge_sent(infra.pool, older_than_hours=spec.outbox_retention_hours)
            await asyncio.sleep(3600)

    def routes(web_app: web.Application, infra: Infrastructure) -> None:
        if spec.routes is not None:
            spec.routes(web_app, infra)
        if consuming:
            deadletters.install(web_app, infra.pool, pipeline(infra))

    def checks(infra: Infrastructure) -> dict[str, bool]:
        now = asyncio.get_running_loop().time()
        found = dict(spec.extra_checks(infra)) if spec.extra_checks else {}
        if relaying:
            found["outbox_relay"] = delivery.relay.failing_since is None
        if consuming:
            c = delivery.consumer
            found["consumer"] = c.halted is None and (
                c.retrying_since is None
                or now - c.retrying_since < settings.consumer_retry_unready_seconds)
        return found

    def alive() -> dict[str, bool]:
        now = asyncio.get_running_loop().time()
        return {"consumer": delivery.consumer.halted is None,
                "outbox_relay": delivery.relay.failing_for(now) < settings.relay_stall_seconds}

    tasks = [*spec.tasks, *((relay, purge) if relaying else ())]
    runtime = Runtime(settings, clock=clock, tokens=tokens, routes=routes, tasks=tasks,
                      extra_checks=checks, liveness=alive, broker_probe=delivery.relay)
    if consuming:
        attach_consumer(app, name=f"{spec.name}-events",
                        topics=[t.name(settings.topic_prefix) for t in spec.consumes],
                        pipeline=lambda: pipeline(runtime.infra), batch_size=spec.batch_size)
    return app, runtime


def main(spec: ServiceSpec, settings: ServiceSettings, clock: Clock | None = None) -> None:
    configure_logging(spec.name, settings.log_level)
    # Refuses development secrets outside the local stack, before anything connects. Tokens
    # expire in real time (the issuer's), even where a demo runs the service's clock fast.
    tokens = credentials(settings, SystemClock())
    app, runtime = compose(spec, settings, clock=clock or SystemClock(), tokens=tokens)
    run_worker(app, runtime)
