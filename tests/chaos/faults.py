"""The faults themselves, on the local stack's own broker and PostgreSQL cluster and on the
services' processes (by pid). Each records what it did and how long every instance took to
answer ready again once the fault was over."""

from __future__ import annotations

import asyncio
import random
import signal
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from shared.platform.topics import CASE_EVENTS, DEAD_LETTERS
from shared.tools.stack import kafka, postgres
from shared.tools.stack.layout import SERVICES, Layout
from shared.tools.testing.helpers import eventually, read_topic
from tests.chaos.cluster import READY_WITHIN, Cluster, ExtraInstance, Instance, kill9

# The grace period an orchestrator gives a process between SIGTERM and SIGKILL (Kubernetes'
# default): a service must stop within it, even while its database is down.
STOP_GRACE = 30.0
LATE_READY_WITHIN = 150.0
ROLES = [postgres.role_name(s) for s in SERVICES]

# Points where the platform kills its own process with SIGKILL when XF_FAULT_POINT names them
# (shared/platform/faults.py), with the service whose second instance is armed. Points the
# platform does not have yet are listed too: their rows say so.
FAULT_POINTS: tuple[tuple[str, str], ...] = (
    ("relay.after_send", "deadlines"),  # alerts on the topic, their rows not marked sent
    ("relay.after_send", "intake"),
    ("consumer.before_commit", "routing"),  # a batch applied, its transaction not committed
    ("consumer.before_commit", "statistics"),
    ("sweep.after_commit", "deadlines"),  # an alert committed, its relay not yet sent
    ("fold.before_commit", "statistics"),  # a fold chunk done, not committed
)


@dataclass
class Faults:
    layout: Layout
    cluster: Cluster
    http: aiohttp.ClientSession
    rng: random.Random
    dbs: dict[str, asyncpg.Pool] = field(default_factory=dict)
    year: int = 0  # the scenario's cases are received in it
    injected: list[str] = field(default_factory=list)
    ready_seconds: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def _ready_after(self, what: str, which: list[Instance] | None = None) -> None:
        took = await self.cluster.wait_ready(self.http, which, within=READY_WITHIN)
        if took is None:
            names = await self.cluster.not_ready(self.http)
            # Waits on past the limit to tell "slow" from "never" in the report.
            later = await self.cluster.wait_ready(self.http, which, within=LATE_READY_WITHIN)
            when = (f"ready after {READY_WITHIN + later:.0f}s" if later is not None
                    else f"still not ready after {READY_WITHIN + LATE_READY_WITHIN:.0f}s")
            self.problems.append(f"after {what}: not ready within {READY_WITHIN:.0f}s: "
                                 f"{', '.join(names)}; {when}")
            self.ready_seconds.append(READY_WITHIN + later if later is not None
                                      else float("inf"))
        else:
            self.ready_seconds.append(took)

    async def pause(self, low: float, high: float) -> None:
        # A random moment of the load for the next fault (not a wait for a condition).
        await asyncio.sleep(self.rng.uniform(low, high))

    # -- processes -------------------------------------------------------------------------

    async def kill9(self, service: str) -> None:
        instance = self.rng.choice(self.cluster.instances[service])
        if not kill9(instance):
            self.problems.append(f"{instance.name} was not running when it was to be killed")
            return
        self.injected.append(f"kill -9 {instance.name}")
        if not await instance.wait_exit(10):
            self.problems.append(f"{instance.name} survived SIGKILL")
            return
        await self.pause(0.0, 1.5)  # the supervisor's restart delay
        await instance.start()
        await self._ready_after(f"kill -9 {instance.name}", [instance])

    async def sigterm_in_outage(self) -> None:
        """PostgreSQL down, then SIGTERM to each service's second instance: each must exit
        within the grace period; then the database returns and they are started again."""
        await self._pg_stop()
        self.injected.append("postgres stopped")
        extras = self.cluster.extras()
        for extra in extras:
            extra.signal(signal.SIGTERM)
        self.injected.append(f"SIGTERM ×{len(extras)} during the outage")
        loop = asyncio.get_running_loop()
        sent = loop.time()

        async def stop_time(extra: ExtraInstance) -> float | None:
            # Waits past the grace to tell "slow" from "never" in the report.
            return loop.time() - sent if await extra.wait_exit(3 * STOP_GRACE) else None

        times = await asyncio.gather(*(stop_time(e) for e in extras))
        for extra, took in zip(extras, times, strict=True):
            if took is None or took > STOP_GRACE:
                self.problems.append(
                    f"{extra.name} stopped {f'after {took:.0f}s' if took else 'never'} of "
                    f"SIGTERM during a database outage (grace {STOP_GRACE:.0f}s; exit code "
                    f"{extra.returncode()})")
            if took is None:
                kill9(extra)
                await extra.wait_exit(10)
        await self._pg_start()
        for extra in extras:
            await extra.start()
        await self._ready_after("SIGTERM during a database outage")

    async def fault_point(self, point: str, service: str) -> None:
        """The service's second instance runs with XF_FAULT_POINT and must kill itself there;
        it is then started again without it. The first instance is killed meanwhile so that
        the armed one holds every shard and partition and is sure to reach the point."""
        extra = extra_of(self.cluster, service)
        first = next(i for i in self.cluster.instances[service] if i is not extra)
        await extra.stop()
        kill9(first)
        await first.wait_exit(10)
        await extra.start({"XF_FAULT_POINT": point})
        if not await extra.wait_exit(90):
            self.problems.append(f"{extra.name} never reached {point} under the load")
            await extra.stop()
        elif extra.returncode() != -signal.SIGKILL:
            self.problems.append(f"{extra.name} exited with {extra.returncode()} at {point}, "
                                 "not by SIGKILL")
        self.injected.append(f"SIGKILL at {point}")
        await first.start()
        await extra.start()
        await self._ready_after(f"the fault point {point}")

    async def _hold_everything(self, service: str, env: dict[str, str]) -> ExtraInstance:
        """The second instance restarted with ``env`` while the first is down, so that it
        holds every shard and partition; the caller starts the first again."""
        extra = extra_of(self.cluster, service)
        first = next(i for i in self.cluster.instances[service] if i is not extra)
        await extra.stop()
        kill9(first)
        await first.wait_exit(10)
        await extra.start(env)
        return extra

    async def wedged_producer(self, service: str) -> None:
        """The producer of the instance that holds every shard wedges (aiokafka's
        OutOfOrderSequenceNumber, after which it never sends again): the relay must replace
        it and send on, with nothing lost or sent twice."""
        extra = await self._hold_everything(service, {"XF_FAULT_POINT": "relay.wedged_producer"})
        url = f"http://127.0.0.1:{extra.port + 1000}/metrics"

        async def replaced() -> bool:
            try:
                async with self.http.get(url) as r:
                    text = await r.text()
            except aiohttp.ClientError:
                return False
            return any(line.startswith("xinfang_outbox_producers_replaced_total ")
                       and float(line.split()[1]) >= 1 for line in text.splitlines())

        try:
            await eventually(replaced, within=90, every=0.5, what="the producer replaced")
            self.injected.append(f"producer wedged ({service})")
        except AssertionError:
            self.problems.append(f"{extra.name}: the wedged producer was never replaced")
        first = next(i for i in self.cluster.instances[service] if i is not extra)
        await first.start()
        await self._ready_after("a wedged producer")

    async def dead_letter_topic_missing(self, service: str, seconds: float = 15.0) -> None:
        """The service's dead-letter topic deleted, then a poison message on its input: the
        dead letter waits in the outbox while the rest goes on; once the topic is back it is
        published, once."""
        topic = DEAD_LETTERS[service].name("xinfang")
        admin = AIOKafkaAdminClient(bootstrap_servers=self.layout.bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()
        key = f"chaos-poison-{uuid.uuid4()}"
        producer = AIOKafkaProducer(bootstrap_servers=self.layout.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(CASE_EVENTS.name("xinfang"), key=key.encode(),
                                         value=b'{"specversion": "1.0", "id": ')
        finally:
            await producer.stop()
        self.injected.append(f"{topic} deleted, a poison message sent")
        db = self.dbs[service]

        async def waiting() -> bool:
            return bool(await db.fetchval(
                "SELECT count(*) FROM outbox WHERE topic = $1 AND key = $2 AND sent_at IS NULL",
                topic, key))
        try:
            await eventually(waiting, within=60, every=0.5, what="the dead letter parked")
        except AssertionError:
            self.problems.append(f"{service} never parked the poison message")
        await asyncio.sleep(seconds)  # the outage of the topic is the fault, not a wait
        await kafka.create_topics(self.layout.bootstrap)

        async def sent() -> bool:
            return not await db.fetchval(
                "SELECT count(*) FROM outbox WHERE topic = $1 AND sent_at IS NULL", topic)
        try:
            await eventually(sent, within=90, every=0.5, what="the dead letter sent")
        except AssertionError:
            self.problems.append(f"{service}'s dead letters were not sent once {topic} was back")
        copies = [m for m, _ in await read_topic(self.layout.bootstrap, topic, within=5)
                  if m.key == key.encode()]
        if len(copies) != 1:
            self.problems.append(f"the dead letter is on {topic} {len(copies)} times, not once")
        await self._ready_after("a missing dead-letter topic")

    async def rebalance_in_outage(self, seconds: float = 10.0) -> None:
        """Batches stalled by a PostgreSQL outage while their partitions move: the second
        instances leave (SIGTERM) during it and come back the moment it ends, so the first
        instances give partitions up with batches still held."""
        await self._pg_stop()
        extras = self.cluster.extras()
        for extra in extras:
            extra.signal(signal.SIGTERM)
        for extra in extras:
            if not await extra.wait_exit(STOP_GRACE):
                self.problems.append(f"{extra.name} did not stop within {STOP_GRACE:.0f}s")
                kill9(extra)
                await extra.wait_exit(10)
        await asyncio.sleep(seconds)  # batches stall on the first instances meanwhile
        await self._pg_start()
        for extra in extras:
            await extra.start()
        self.injected.append(f"rebalance ×2 with batches stalled ({len(extras)} services)")
        # The fault is over once the database is back: the instances that lived through it
        # are held to the 30 s; the second instances are new processes (their start-up, with
        # five at once on two cores, is not a recovery) and only must come up at all.
        await self._ready_after("a rebalance with stalled batches",
                                [i for i in self.cluster.all() if i not in extras])
        if await self.cluster.wait_ready(self.http, list(extras),
                                         within=LATE_READY_WITHIN) is None:
            self.problems.append("the second instances never came up after the rebalance")

    # -- the broker ------------------------------------------------------------------------

    async def broker_restart(self) -> None:
        await asyncio.to_thread(kafka.stop, self.layout)
        await asyncio.to_thread(kafka.start, self.layout)
        await kafka.wait_ready(self.layout.bootstrap)
        self.injected.append("broker restart")
        await self._ready_after("a broker restart")

    # -- PostgreSQL ------------------------------------------------------------------------

    async def _pg_stop(self) -> None:
        await asyncio.to_thread(postgres.stop, self.layout)

    async def _pg_start(self) -> None:
        bindir = postgres.bin_dir()
        assert bindir is not None
        await asyncio.to_thread(postgres.start, self.layout, bindir)

    async def postgres_outage(self, seconds: float) -> None:
        await self._pg_stop()
        self.injected.append(f"postgres stopped {seconds:.0f}s")
        await asyncio.sleep(seconds)  # the outage's length is the fault, not a wait
        await self._pg_start()
        await self._ready_after("a PostgreSQL outage")

    async def read_only(self, seconds: float) -> None:
        """As after a failover to a replica: every new transaction is read-only (25006)."""
        await self._set_read_only(True)
        self.injected.append(f"default_transaction_read_only {seconds:.0f}s")
        try:
            await asyncio.sleep(seconds)
        finally:
            await self._set_read_only(False)
        await self._ready_after("read-only transactions")

    async def _set_read_only(self, on: bool) -> None:
        conn = await postgres.superuser_connect(self.layout)
        try:
            if on:
                await conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
            else:
                await conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    async def cancel_queries(self, seconds: float, every: float = 0.3) -> None:
        """``pg_cancel_backend`` on every running statement of the services (57014)."""
        conn = await postgres.superuser_connect(self.layout)
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        cancelled = 0
        try:
            while loop.time() < end:
                cancelled += await conn.fetchval(
                    "SELECT count(*) FILTER (WHERE pg_cancel_backend(pid)) FROM pg_stat_activity "
                    "WHERE usename = ANY($1) AND state = 'active' AND pid <> pg_backend_pid()",
                    ROLES)
                await asyncio.sleep(every)
        finally:
            await conn.close()
        self.injected.append(f"pg_cancel_backend ×{cancelled}")
        await self._ready_after("cancelled statements")


def fault_point_support(root: Path, point: str) -> str | None:
    """None when the platform honours XF_FAULT_POINT and reaches ``point``; else why not."""
    sources = [p.read_text(encoding="utf-8") for folder in ("shared/platform", "services")
               for p in (root / folder).rglob("*.py")]
    if not any("XF_FAULT_POINT" in s or "fault_point" in s for s in sources):
        return "the platform does not honour XF_FAULT_POINT yet"
    if not any(f'"{point}"' in s for s in sources):
        return f"no fault point named {point} in the code yet"
    return None


def extra_of(cluster: Cluster, service: str) -> ExtraInstance:
    return next(e for e in cluster.extras() if e.service == service)
