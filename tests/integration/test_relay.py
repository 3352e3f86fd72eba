"""The outbox relay against the real PostgreSQL and Kafka, in a scratch database of its own
(advisory locks are per database: the services' relays hold theirs).

Findings covered: a row sent but never marked sent (a relay killed between the two, or an
acknowledgement lost) is not published a second time; a wedged producer is replaced and a
failing relay lets its shards go to a healthy one, with the backlog age read from the
database all along (2); one case's events stay in order when a send fails part-way (9); the
relay comes back by itself after its database connections are killed, and its health says so
(12).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, OutOfOrderSequenceNumber

from shared.platform.outbox import OUTBOX_DDL, RawRow, add_raw
from shared.platform.relay import FOUND_SENT, OLDEST_AGE, OutboxRelay, RelayHealth
from shared.platform.runtime import start_producer
from shared.platform.sent_check import TopicTail
from shared.tools.stack.postgres import superuser_connect
from shared.tools.testing.helpers import eventually, read_topic


@pytest.fixture
async def db(stack) -> AsyncIterator[asyncpg.Pool]:  # type: ignore[no-untyped-def]
    name = f"relay_{uuid.uuid4().hex[:10]}"
    admin = await superuser_connect(stack.layout)
    await admin.execute(f"CREATE DATABASE {name}")
    pool = await asyncpg.create_pool(host=str(stack.layout.pg_socket_dir),
                                     port=stack.layout.pg_port, user="postgres",
                                     database=name, min_size=1, max_size=12)
    assert pool is not None
    await pool.execute(OUTBOX_DDL)
    try:
        yield pool
    finally:
        # A relay left running by a failed test must not hang the teardown (and the run).
        try:
            await asyncio.wait_for(pool.close(), 10)
        except TimeoutError:
            pool.terminate()
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


@pytest.fixture
async def topic(stack) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    name = f"tests.relay.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(name, 1, 1)])
    try:
        yield name
    finally:
        await admin.delete_topics([name])
        await admin.close()


class Flaky:
    """A real producer whose sends fail as the test says: the first send of each key in
    ``fail_once``, or every send with ``error`` while ``broken``."""

    def __init__(self, real: AIOKafkaProducer, *,
                 fail_once: frozenset[bytes] | set[bytes] = frozenset(),
                 error: type[Exception] = KafkaConnectionError, broken: bool = False) -> None:
        self.real = real
        self.fail_once = set(fail_once)
        self.error = error
        self.broken = broken

    async def send(self, topic: str, **kw: Any) -> asyncio.Future[Any]:
        if self.broken or kw["key"] in self.fail_once:
            self.fail_once.discard(kw["key"])
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(self.error("injected by the test"))
            return failed
        return await self.real.send(topic, **kw)

    async def stop(self) -> None:
        await self.real.stop()

    @property
    def client(self) -> Any:
        return self.real.client


def rows(topic: str, plan: list[tuple[str, str]]) -> list[RawRow]:
    return [RawRow(str(uuid.uuid4()), topic, key, value.encode(), []) for key, value in plan]


async def unsent(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))


async def run(relay: OutboxRelay) -> asyncio.Task[None]:
    return asyncio.create_task(relay.run())


async def stop(relay: OutboxRelay, task: asyncio.Task[None]) -> None:
    relay.stop()
    await asyncio.wait_for(task, 30)


async def test_one_case_stays_in_order_when_a_send_fails_part_way(stack, db, topic) -> None:  # type: ignore[no-untyped-def]
    async with db.acquire() as conn:
        await add_raw(conn, rows(topic, [("case-a", "a1"), ("case-a", "a2"), ("case-b", "b1"),
                                         ("case-a", "a3")]))
    producers: list[Flaky] = []

    async def factory() -> Any:
        real = await start_producer(stack.bootstrap, wait_seconds=0)
        producers.append(Flaky(real, fail_once={b"case-a"} if not producers else set()))
        return producers[-1]

    relay = OutboxRelay(db, factory, RelayHealth(), retry_max=0.2)
    task = await run(relay)
    await eventually(lambda: _zero(unsent(db)), within=30, what="every row sent")
    await stop(relay, task)
    got = await read_topic(stack.bootstrap, topic, until=lambda m: len(m) >= 4, within=20)
    case_a = [r.value.decode() for r, _ in got if r.key == b"case-a"]
    # a1's first send failed: nothing later of case-a went before it was acknowledged.
    assert case_a == ["a1", "a2", "a3"]


async def test_a_wedged_producer_is_replaced(stack, db, topic) -> None:  # type: ignore[no-untyped-def]
    made: list[Flaky] = []

    async def factory() -> Any:
        real = await start_producer(stack.bootstrap, wait_seconds=0)
        made.append(Flaky(real, error=OutOfOrderSequenceNumber, broken=not made))
        return made[-1]

    async with db.acquire() as conn:
        await add_raw(conn, rows(topic, [("case-w", "w1")]))
    health = RelayHealth()
    relay = OutboxRelay(db, factory, health, retry_max=0.2)
    task = await run(relay)
    await eventually(lambda: _zero(unsent(db)), within=30, what="sent by a new producer")
    assert len(made) == 2 and health.failing_since is None
    await stop(relay, task)


async def test_a_producer_wedged_on_one_send_is_replaced(stack, db, topic) -> None:  # type: ignore[no-untyped-def]
    """aiokafka's producer is dead for good after OutOfOrderSequenceNumber, even when the
    other sends of the same round went through: it is replaced at once."""
    made: list[Flaky] = []

    async def factory() -> Any:
        real = await start_producer(stack.bootstrap, wait_seconds=0)
        made.append(Flaky(real, error=OutOfOrderSequenceNumber,
                          fail_once={b"case-w"} if not made else set()))
        return made[-1]

    async with db.acquire() as conn:
        await add_raw(conn, rows(topic, [("case-w", "w1"), ("case-v", "v1")]))
    relay = OutboxRelay(db, factory, RelayHealth(), retry_max=0.2)
    task = await run(relay)
    try:
        await eventually(lambda: _zero(unsent(db)), within=30, what="every row sent")
    finally:
        await stop(relay, task)
    assert len(made) == 2


async def test_a_relay_that_cannot_send_lets_its_shards_go(stack, db, topic) -> None:  # type: ignore[no-untyped-def]
    async def broken() -> Any:
        return Flaky(await start_producer(stack.bootstrap, wait_seconds=0), broken=True)

    async def healthy() -> Any:
        return await start_producer(stack.bootstrap, wait_seconds=0)

    async with db.acquire() as conn:
        await add_raw(conn, rows(topic, [(f"case-{i}", str(i)) for i in range(20)]))
    sick_health = RelayHealth()
    sick = OutboxRelay(db, broken, sick_health, retry_max=0.2, replace_after=1.0,
                       release_after=2.0)
    sick_task = await run(sick)
    await eventually(lambda: _async(sick_health.failing_since), within=20, what="failing")
    # The backlog's age comes from the database while nothing can be sent.
    await eventually(lambda: _async(OLDEST_AGE._value.get() >= 1.0), within=20,
                     what="the oldest unsent row's age to show")
    well = OutboxRelay(db, healthy, RelayHealth(), retry_max=0.2)
    well_task = await run(well)
    try:
        await eventually(lambda: _zero(unsent(db)), within=40,
                         what="the healthy relay to take the shards over and send")
    finally:
        await stop(well, well_task)
        await stop(sick, sick_task)


async def test_the_relay_recovers_when_its_connections_are_killed(stack, db, topic) -> None:  # type: ignore[no-untyped-def]
    health = RelayHealth()

    async def factory() -> Any:
        return await start_producer(stack.bootstrap, wait_seconds=0)

    relay = OutboxRelay(db, factory, health, retry_max=0.2)
    task = await run(relay)
    async with db.acquire() as conn:
        await add_raw(conn, rows(topic, [("case-k", "k1")]))
    await eventually(lambda: _zero(unsent(db)), within=30, what="first row sent")
    admin = await superuser_connect(stack.layout)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            await db.fetchval("SELECT current_database()"))
    finally:
        await admin.close()
    assert killed >= 1
    await db.expire_connections()  # the test's own idle connections were killed too
    async with db.acquire() as conn:
        await add_raw(conn, rows(topic, [("case-k", "k2")]))
    await eventually(lambda: _zero(unsent(db)), within=30, what="sent after the kill")
    await eventually(lambda: _async(health.failing_since is None), within=10, what="healthy")
    assert not task.done()
    await stop(relay, task)


async def _zero(count: Any) -> bool:
    return await count == 0


async def _async(value: Any) -> Any:
    return value


async def test_a_missing_topic_holds_up_nothing_else(stack, db, topic) -> None:  # type: ignore[no-untyped-def]
    """The dead-letter topic missing (finding 1's trigger): the other topics' rows go on, and
    the waiting rows go out once the topic exists."""
    missing = f"tests.relay.missing.{uuid.uuid4().hex[:8]}"

    async def factory() -> Any:
        return await start_producer(stack.bootstrap, wait_seconds=0)

    async with db.acquire() as conn:
        await add_raw(conn, rows(missing, [("case-m", "dead letter")]))
        await add_raw(conn, rows(topic, [(f"case-{i}", str(i)) for i in range(8)]))
    relay = OutboxRelay(db, factory, RelayHealth(), retry_max=0.5)
    task = await run(relay)
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    try:
        async def only_the_missing_left() -> bool:
            return await db.fetchval("SELECT array_agg(DISTINCT topic) FROM outbox "
                                     "WHERE sent_at IS NULL") == [missing]
        await eventually(only_the_missing_left, within=60, what="the healthy topic sent")
        await admin.create_topics([NewTopic(missing, 1, 1)])
        await eventually(lambda: _zero(unsent(db)), within=60, what="the dead letter sent")
    finally:
        await stop(relay, task)
        await admin.delete_topics([missing])
        await admin.close()


async def test_a_relay_without_shards_is_healthy_again_after_an_outage(stack, db, topic) -> None:  # type: ignore[no-untyped-def]
    """The chaos suite's finding: the instance whose peer holds every shard stayed unready
    after a PostgreSQL outage, because only a relay holding shards cleared its failure."""
    async def factory() -> Any:
        return await start_producer(stack.bootstrap, wait_seconds=0)

    holder = OutboxRelay(db, factory, RelayHealth(), retry_max=0.2)
    holder_task = await run(holder)
    idle_health = RelayHealth()
    idle = OutboxRelay(db, factory, idle_health, retry_max=0.2)
    idle_task: asyncio.Task[None] | None = None
    try:
        async def all_held() -> bool:
            # pg_locks is the whole cluster's: count this database's relay locks only.
            return int(await db.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                "database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )) == 4
        await eventually(all_held, within=20, what="the first relay to hold every shard")
        idle_health.failing_since = asyncio.get_running_loop().time()  # as after an outage
        idle_health.last_error = "ConnectionRefusedError: as during the outage"
        idle_task = await run(idle)
        await eventually(lambda: _async(idle_health.failing_since is None), within=20,
                         what="the relay without shards to report healthy")
    finally:
        if idle_task is not None:
            await stop(idle, idle_task)
        await stop(holder, holder_task)


async def messages_on(bootstrap: str, topic: str) -> int:
    """How many messages the (one-partition) topic holds: every send acknowledged is in it."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return int((await consumer.end_offsets([tp]))[tp])
    finally:
        await consumer.stop()


async def send_all_looking_up(stack: Any, db: asyncpg.Pool,
                              factory: Callable[[], Awaitable[Any]]) -> None:
    """Run a relay that looks rows in doubt up on their topic until every row is sent."""
    relay = OutboxRelay(db, factory, RelayHealth(), retry_max=0.2,
                        tail=TopicTail(stack.bootstrap))
    task = await run(relay)
    try:
        await eventually(lambda: _zero(unsent(db)), within=30, what="every row sent")
    finally:
        await stop(relay, task)


async def test_rows_on_the_topic_already_are_not_sent_again(stack, db, topic) -> None:  # type: ignore[no-untyped-def]
    """A relay killed between the broker's acknowledgement and marking the rows sent: the
    relay that takes the shard over finds them on the topic and marks them, sends the rest."""
    plan = rows(topic, [("case-x", "x1"), ("case-y", "y1"), ("case-x", "x2"), ("case-y", "y2")])
    async with db.acquire() as conn:
        await add_raw(conn, plan)
    producer = await start_producer(stack.bootstrap, wait_seconds=0)
    try:
        for r in (plan[0], plan[1]):  # what the killed relay got onto the topic
            await producer.send_and_wait(topic, value=r.value, key=r.key.encode())
    finally:
        await producer.stop()
    found_before = FOUND_SENT._value.get()

    async def factory() -> Any:
        return await start_producer(stack.bootstrap, wait_seconds=0)

    await send_all_looking_up(stack, db, factory)
    assert await messages_on(stack.bootstrap, topic) == 4
    assert FOUND_SENT._value.get() - found_before == 2


class LostAck(Flaky):
    """A producer whose first send of each key in ``lose`` is written but reported failed:
    the request timed out after the broker had taken it."""

    def __init__(self, real: AIOKafkaProducer, lose: set[bytes]) -> None:
        super().__init__(real)
        self.lose = lose

    async def send(self, topic: str, **kw: Any) -> asyncio.Future[Any]:
        if kw["key"] not in self.lose:
            return await self.real.send(topic, **kw)
        self.lose.discard(kw["key"])
        await (await self.real.send(topic, **kw))
        failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        failed.set_exception(KafkaConnectionError("acknowledgement lost, by the test"))
        return failed


async def test_a_send_written_but_reported_failed_is_not_sent_again(stack, db, topic) -> None:  # type: ignore[no-untyped-def]
    async with db.acquire() as conn:
        await add_raw(conn, rows(topic, [("case-l", "l1"), ("case-l", "l2"), ("case-m", "m1")]))

    async def factory() -> Any:
        return LostAck(await start_producer(stack.bootstrap, wait_seconds=0), {b"case-l"})

    await send_all_looking_up(stack, db, factory)
    assert await messages_on(stack.bootstrap, topic) == 3
    got = await read_topic(stack.bootstrap, topic, until=lambda m: len(m) >= 3, within=20)
    assert [r.value for r, _ in got if r.key == b"case-l"] == [b"l1", b"l2"]
