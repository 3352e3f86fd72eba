"""What every service's composition root plugs into: connections, HTTP, background tasks, and
a faust worker that stops cleanly on SIGTERM.

Nothing connects at import time. :class:`Runtime` opens the pool and the producer when the
worker starts it (before the faust app, so agents find them ready) and closes them on stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
import faust
import mode
from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.platform.auth import TokenBook
from shared.platform.clock import Clock
from shared.platform.db import create_pool, database_ready
from shared.platform.logging import get_logger, logging_config
from shared.platform.settings import ServiceSettings
from shared.platform.web import create_metrics_app, create_web_app

log = get_logger(__name__)


@dataclass(frozen=True)
class Infrastructure:
    """The I/O a service's parts receive from its composition root."""

    settings: ServiceSettings
    pool: asyncpg.Pool
    clock: Clock

    async def new_producer(self) -> AIOKafkaProducer:
        """A started idempotent producer, or an error at once when the broker is away (the
        caller owns it and stops it)."""
        return await start_producer(self.settings.kafka_bootstrap, wait_seconds=0)


RouteInstaller = Callable[[web.Application, Infrastructure], None]
BackgroundTask = Callable[[Infrastructure], Awaitable[None]]
ReadyCheck = Callable[[Infrastructure], dict[str, bool]]
LiveCheck = Callable[[], dict[str, bool]]


class ProducerHolder(Protocol):
    producer: AIOKafkaProducer | None


def new_faust_app(settings: ServiceSettings) -> faust.App:
    return faust.App(
        f"{settings.topic_prefix}-{settings.service_name}",
        broker=f"kafka://{settings.kafka_bootstrap}",
        autodiscover=False,
        web_enabled=False,  # our own aiohttp server serves the API; no /table exposure
        topic_allow_declare=False,  # topics are declared once, in shared.platform.topics
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_commit_every=500,
        broker_commit_interval=1.0,
        store="memory://",
        # faust would wait, unbounded, for every message taken to be acked before it stops
        # or gives partitions up in a rebalance. Ours are held until applied (consumer.py), so
        # during a database outage that wait never ends. Not waiting is safe: an unapplied
        # message is never acked, so never committed, and is redelivered to whoever owns its
        # partition next; the inbox makes a second application of it a no-op.
        stream_wait_empty=False,
    )


async def start_producer(bootstrap: str, wait_seconds: float = 120.0) -> AIOKafkaProducer:
    """An idempotent producer (acks=all); waits for the broker while it is starting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True,
                                    acks="all", linger_ms=5, request_timeout_ms=15000)
        try:
            await producer.start()
            return producer
        except KafkaError as exc:
            await producer.stop()
            if loop.time() >= deadline:
                raise
            log.warning("broker_unreachable", error=str(exc))
            await asyncio.sleep(1.0)


async def broker_ready(producer: AIOKafkaProducer, within: float = 3.0) -> bool:
    try:
        async with asyncio.timeout(within):
            await producer.client.fetch_all_metadata()
        return True
    except Exception:
        return False


class Runtime(mode.Service):
    """Owns the pool, the producer, the HTTP server and the service's background tasks."""

    def __init__(self, settings: ServiceSettings, *, clock: Clock, tokens: TokenBook,
                 routes: RouteInstaller | None = None,
                 tasks: Sequence[BackgroundTask] = (),
                 extra_checks: ReadyCheck | None = None, liveness: LiveCheck | None = None,
                 broker_probe: ProducerHolder | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._liveness = liveness
        self._broker_probe = broker_probe
        self.settings = settings
        self.clock = clock
        self._tokens = tokens
        self._routes = routes
        self._background = tasks
        self._extra_checks = extra_checks
        self._infra: Infrastructure | None = None
        self._runner: web.AppRunner | None = None
        self._metrics_runner: web.AppRunner | None = None
        self._running: list[asyncio.Task[None]] = []
        self._probe: AIOKafkaProducer | None = None
        self.ready = asyncio.Event()

    @property
    def infra(self) -> Infrastructure:
        if self._infra is None:
            raise RuntimeError("runtime not started")
        return self._infra

    async def on_start(self) -> None:
        s = self.settings
        pool = await create_pool(s.database_url.get_secret_value(), min_size=s.db_pool_min,
                                 max_size=s.db_pool_max,
                                 command_timeout=s.db_command_timeout_seconds)
        # Waits for the broker while it starts; afterwards only asked for metadata when no
        # relay producer is there to ask.
        self._probe = await start_producer(s.kafka_bootstrap)
        self._infra = Infrastructure(settings=s, pool=pool, clock=self.clock)
        app = create_web_app(self._tokens, self.readiness, self.liveness)
        if self._routes is not None:
            self._routes(app, self._infra)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, s.http_host, s.http_port, reuse_address=True).start()
        self._metrics_runner = web.AppRunner(create_metrics_app(), access_log=None)
        await self._metrics_runner.setup()
        await web.TCPSite(self._metrics_runner, s.metrics_host, s.metrics_listen_port,
                          reuse_address=True).start()
        for task in self._background:
            self._running.append(asyncio.create_task(self._supervise(task)))
        self.ready.set()
        log.info("service_started", port=s.http_port, metrics_port=s.metrics_listen_port,
                 instance=s.instance_id)

    async def _supervise(self, task: BackgroundTask) -> None:
        """Run a background task; restart it after a crash rather than die silently."""
        while True:
            try:
                await task(self.infra)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background_task_crashed", task=getattr(task, "__name__", "?"))
                await asyncio.sleep(1.0)

    async def readiness(self) -> dict[str, bool]:
        if self._infra is None:
            return {"database": False, "broker": False}
        probe = (self._broker_probe.producer if self._broker_probe is not None else None)
        db, broker = await asyncio.gather(database_ready(self._infra.pool),
                                          broker_ready(probe or self._probe))
        checks = {"database": db, "broker": broker}
        if self._extra_checks is not None:
            checks.update(self._extra_checks(self._infra))
        return checks

    def liveness(self) -> dict[str, bool]:
        return self._liveness() if self._liveness is not None else {}

    async def on_stop(self) -> None:
        # Bounded at every step: a stop during a database or broker outage must still end
        # (nothing unapplied was acknowledged, so nothing is lost by leaving).
        grace = self.settings.stop_grace_seconds
        for task in self._running:
            task.cancel()
        await _within(asyncio.gather(*self._running, return_exceptions=True), grace, "tasks")
        for runner in (self._runner, self._metrics_runner):
            if runner is not None:
                await _within(runner.cleanup(), grace, "http")
        if self._probe is not None:
            await _within(self._probe.stop(), grace, "producer")
        if self._infra is not None:
            pool = self._infra.pool
            if not await _within(pool.close(), grace, "database pool"):
                pool.terminate()
        log.info("service_stopped")


async def _within(work: Awaitable[Any], seconds: float, what: str) -> bool:
    try:
        await asyncio.wait_for(work, seconds)
        return True
    except Exception as exc:
        log.warning("stop_step_abandoned", step=what, error=f"{type(exc).__name__}: {exc}")
        return False


def run_worker(app: faust.App, runtime: Runtime) -> None:
    """Run until SIGTERM/SIGINT; mode's worker stops the app and the runtime in order."""
    worker = faust.Worker(
        app, runtime,
        loglevel=runtime.settings.log_level,
        logging_config=logging_config(runtime.settings.log_level),
        redirect_stdouts=False,
        quiet=True,
        override_logging=True,
    )
    worker.execute_from_commandline()
