"""The outbox relay: publishes unsent rows of the shards it holds, oldest first, in order per
case, and marks them sent.

What a broken broker or producer must never do:
- reorder one case's events: sends of one key to one topic go one at a time (the next only
  after the broker acknowledged the last), so a partly failed batch leaves the topic with a
  prefix of each case's events, never E2 before E1;
- let one broken topic hold up the others: a topic whose send failed waits (backing off) while
  the rest goes on;
- wedge the instance: after ``OutOfOrderSequenceNumber`` (aiokafka's idempotent producer is dead
  for good after it) or a run of failed sends, the producer is replaced; a relay that has not
  sent for ``release_after`` lets its shards go so a healthy instance takes them over;
- publish one event twice: a row whose send is in doubt (its send failed, or the shard was
  just taken over, maybe from a relay killed between the send and the mark) is looked up on
  its topic before it is sent again (``sent_check.py``);
- hide: :class:`RelayHealth` says how long the relay has been unable to send (readiness and
  liveness read it), and the backlog gauges come from the database, not from the last success.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import OutOfOrderSequenceNumber
from prometheus_client import Counter, Gauge

from shared.platform import faults
from shared.platform.logging import get_logger
from shared.platform.outbox import OUTBOX_SHARDS, oldest_unsent_age
from shared.platform.sent_check import TopicTail, fingerprint

log = get_logger(__name__)

# Advisory lock namespace of the relay: (class id, shard).
_LOCK_CLASS = 0x5846  # "XF"

BACKLOG = Gauge("xinfang_outbox_backlog_events",
                "Unsent outbox rows (every shard; each instance reports the same: take max)")
OLDEST_AGE = Gauge("xinfang_outbox_oldest_unsent_age_seconds",
                   "Age of the oldest unsent outbox row (every shard; take max)")
PUBLISHED = Counter("xinfang_outbox_published_total", "Outbox events published to Kafka",
                    ["topic"])
PUBLISH_FAILURES = Counter("xinfang_outbox_publish_failures_total",
                           "Outbox batches that failed to publish and will be retried")
PRODUCERS_REPLACED = Counter("xinfang_outbox_producers_replaced_total",
                             "Producers replaced after they stopped sending")
FOUND_SENT = Counter("xinfang_outbox_found_sent_total",
                     "Rows in doubt found on their topic already, marked sent, not sent again")
SHARDS_HELD = Gauge("xinfang_outbox_shards_held", "Outbox shards this instance relays")

ProducerFactory = Callable[[], Awaitable[AIOKafkaProducer]]


@dataclass
class RelayHealth:
    """Shared by the running relay and the health checks; survives a relay's restart."""

    failing_since: float | None = None
    last_error: str | None = None
    producer: AIOKafkaProducer | None = field(default=None, repr=False)

    def failing_for(self, now: float) -> float:
        return 0.0 if self.failing_since is None else now - self.failing_since


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, new_producer: ProducerFactory, health: RelayHealth,
                 *, batch_size: int = 500, idle_interval: float = 0.05, retry_max: float = 5.0,
                 replace_after: float = 30.0, release_after: float = 60.0,
                 tail: TopicTail | None = None) -> None:
        self._pool = pool
        self._tail = tail
        self._new_producer = new_producer
        self._health = health
        self._batch_size = batch_size
        self._idle = idle_interval
        self._retry_max = retry_max
        self._replace_after = replace_after
        self._release_after = release_after
        self._held: dict[int, asyncpg.Connection] = {}
        self._stopping = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._failed_since_replace: float | None = None
        self._cooldown_until = 0.0
        self._topic_wait: dict[str, tuple[float, float]] = {}  # topic -> (retry at, delay)
        # Doubt: shards just claimed (their last holder may have died between a send and its
        # mark), and rows whose send failed (it may have been written anyway) or whose mark
        # failed after the send.
        self._unchecked: set[int] = set()
        self._doubtful: set[int] = set()
        self._wedged = False

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = self._idle
        last_claim = 0.0
        try:
            while not self._stopping.is_set():
                try:
                    now = loop.time()
                    checked = False
                    if now - last_claim > 2.0:
                        last_claim = now
                        await self._observe_backlog()
                        if now >= self._cooldown_until:
                            await self._claim_shards()
                        checked = True
                    published = 0
                    if not self._held and checked and now >= self._cooldown_until:
                        # Another instance relays every shard and this one reached the
                        # database: nothing of ours is failing (after an outage too). Not
                        # while it stands back after failing to send: that is still failing.
                        self._health.failing_since = None
                        self._health.last_error = None
                    if self._held:
                        if self._producer is None:
                            self._producer = await self._new_producer()
                            self._health.producer = self._producer
                        failure: BaseException | None = None
                        blocked = 0
                        for shard, conn in list(self._held.items()):
                            sent, waiting, failed = await self._relay_shard(shard, conn)
                            published += sent
                            blocked += waiting
                            failure = failure or failed
                        if self._wedged:
                            PRODUCERS_REPLACED.inc()
                            log.warning("outbox_producer_replaced", wedged=True)
                            self._wedged = False
                            await self._drop_producer()
                        if blocked and not published:
                            raise failure or RuntimeError(
                                f"{blocked} rows wait for topics that failed to send")
                        # Only a relay that holds shards and sent (or had nothing to send)
                        # has shown it can send.
                        self._health.failing_since = None
                        self._health.last_error = None
                        self._failed_since_replace = None
                    backoff = self._idle
                    if published == 0:
                        await self._sleep(self._idle)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # broker or database away: keep the rows, try later
                    await self._failed(exc, loop.time())
                    backoff = min(max(backoff * 2, 0.1), self._retry_max)
                    await self._sleep(backoff)
        finally:
            await self._release_all()
            await self._drop_producer()
            if self._tail is not None:
                await self._tail.close()

    async def _failed(self, exc: Exception, now: float) -> None:
        PUBLISH_FAILURES.inc()
        h = self._health
        h.last_error = f"{type(exc).__name__}: {exc}"
        h.failing_since = h.failing_since or now
        self._failed_since_replace = self._failed_since_replace or now
        log.warning("outbox_publish_failed", error=h.last_error)
        await self._drop_broken_connections()
        wedged = isinstance(exc, OutOfOrderSequenceNumber)
        if self._producer is not None and (
                wedged or now - self._failed_since_replace >= self._replace_after):
            PRODUCERS_REPLACED.inc()
            log.warning("outbox_producer_replaced", wedged=wedged)
            await self._drop_producer()
            self._failed_since_replace = now
        if self._held and h.failing_for(now) >= self._release_after:
            log.warning("outbox_shards_released", shards=sorted(self._held),
                        failing_for=round(h.failing_for(now), 1))
            await self._release_all()
            # Stand back long enough for a healthy instance to take the shards over.
            self._cooldown_until = now + self._release_after

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await asyncio.wait_for(producer.stop(), 5.0)
            except Exception as exc:  # a dead producer may not stop cleanly; it is gone anyway
                log.info("outbox_producer_stop_failed", error=f"{type(exc).__name__}: {exc}")

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    async def _claim_shards(self) -> None:
        for shard in range(OUTBOX_SHARDS):
            if shard in self._held:
                continue
            conn = await self._pool.acquire()
            try:
                got = await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", _LOCK_CLASS,
                                          shard)
            except BaseException:
                await self._discard(conn)
                raise
            if got:
                self._held[shard] = conn
                self._unchecked.add(shard)
                log.info("outbox_shard_claimed", shard=shard)
            else:
                await self._pool.release(conn)
        SHARDS_HELD.set(len(self._held))

    async def _observe_backlog(self) -> None:
        async with self._pool.acquire() as conn:
            backlog, age = await oldest_unsent_age(conn)
        BACKLOG.set(backlog)
        OLDEST_AGE.set(age)

    async def _relay_shard(self, shard: int, conn: asyncpg.Connection
                           ) -> tuple[int, int, BaseException | None]:
        """Send what this shard has: (rows sent, rows left waiting, the first failure). A
        topic whose send failed waits before it is tried again, so one broken topic (a
        missing dead-letter topic, say) does not hold up the others."""
        rows = await conn.fetch(
            """
            SELECT id, topic, key, value, headers, created_at FROM outbox
            WHERE shard = $1 AND sent_at IS NULL ORDER BY id LIMIT $2
            """,
            shard, self._batch_size,
        )
        if shard in self._unchecked:
            self._unchecked.discard(shard)
            self._doubtful.update(r["id"] for r in rows)
        rows = await self._skip_sent(conn, rows)
        now = asyncio.get_running_loop().time()
        pending: dict[tuple[str, str], list[asyncpg.Record]] = {}
        for r in rows:
            if self._topic_wait.get(r["topic"], (0.0, 0.0))[0] <= now:
                pending.setdefault((r["topic"], r["key"]), []).append(r)
        assert self._producer is not None
        producer = self._producer
        sent: list[asyncpg.Record] = []
        failure: BaseException | None = None
        failed_topics: set[str] = set()
        # Rounds: each round sends the next row of every (topic, key) at once and waits for
        # all of them, so rows of one case on one topic go strictly one after the other.
        while pending:
            heads = [queue.pop(0) for queue in pending.values()]

            async def deliver(r: asyncpg.Record) -> None:
                if faults.tripped("relay.wedged_producer"):
                    raise OutOfOrderSequenceNumber("injected by XF_FAULT_POINT")
                delivery = await producer.send(
                    r["topic"], value=bytes(r["value"]), key=r["key"].encode(),
                    headers=[(k, v.encode()) for k, v in orjson.loads(r["headers"])])
                await delivery

            results = await asyncio.gather(*(deliver(r) for r in heads), return_exceptions=True)
            for r, result in zip(heads, results, strict=True):
                if isinstance(result, BaseException):
                    self._doubtful.add(r["id"])  # a timed-out send may have been written
                    if isinstance(result, OutOfOrderSequenceNumber):
                        self._wedged = True  # it will never send again, whatever else did
                    failure = failure or result
                    pending.pop((r["topic"], r["key"]), None)  # nothing later of it this time
                    if r["topic"] not in failed_topics:
                        failed_topics.add(r["topic"])
                        self._topic_failed(r["topic"], result)
                else:
                    sent.append(r)
                    self._topic_wait.pop(r["topic"], None)
            pending = {k: q for k, q in pending.items() if q}
        faults.point("relay.after_send")
        if sent:
            try:
                await conn.execute(
                    "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])",
                    [r["id"] for r in sent])
            except BaseException:
                self._doubtful.update(r["id"] for r in sent)  # on the topic, not marked
                raise
            by_topic: dict[str, int] = {}
            for r in sent:
                by_topic[r["topic"]] = by_topic.get(r["topic"], 0) + 1
            for topic, n in by_topic.items():
                PUBLISHED.labels(topic).inc(n)
        return len(sent), len(rows) - len(sent), failure

    async def _skip_sent(self, conn: asyncpg.Connection, rows: list[asyncpg.Record]
                         ) -> list[asyncpg.Record]:
        """The rows to send: those in doubt that are on their topic already are marked sent
        instead. A topic that cannot be read is treated as one whose send failed."""
        doubtful = [r for r in rows if r["id"] in self._doubtful and
                    self._topic_wait.get(r["topic"], (0.0, 0.0))[0]
                    <= asyncio.get_running_loop().time()]
        if not doubtful or self._tail is None:
            self._doubtful.difference_update(r["id"] for r in doubtful)
            return rows
        by_topic: dict[str, list[asyncpg.Record]] = {}
        for r in doubtful:
            by_topic.setdefault(r["topic"], []).append(r)
        found: list[int] = []
        for topic, group in by_topic.items():
            marks = {fingerprint(r["key"].encode(), bytes(r["value"])): r["id"] for r in group}
            since = min(int(r["created_at"].timestamp() * 1000) for r in group)
            try:
                on_topic = await self._tail.find(topic, since, marks)
            except Exception as exc:  # the broker cannot be read now: the rows stay in doubt
                self._topic_failed(topic, exc)
                continue
            found.extend(marks[m] for m in on_topic)
            self._doubtful.difference_update(r["id"] for r in group)
        if found:
            await conn.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])",
                               found)
            FOUND_SENT.inc(len(found))
            log.info("outbox_found_sent", rows=len(found))
        done = set(found)
        return [r for r in rows if r["id"] not in done]

    def _topic_failed(self, topic: str, error: BaseException) -> None:
        delay = min(max(self._topic_wait.get(topic, (0.0, 0.05))[1] * 2, 0.1), self._retry_max)
        self._topic_wait[topic] = (asyncio.get_running_loop().time() + delay, delay)
        log.warning("outbox_topic_send_failed", topic=topic, retry_in=delay,
                    error=f"{type(error).__name__}: {error}"[:300])

    async def _discard(self, conn: asyncpg.Connection) -> None:
        """Give a held connection back whatever state it is in; a broken one is terminated
        (closing the session drops its advisory locks too). asyncpg hands a pooled connection
        back to its pool by itself when the connection closes: then there is nothing to do."""
        try:
            conn.terminate()
        except asyncpg.InterfaceError:
            return  # given back already
        try:
            await self._pool.release(conn)
        except Exception as exc:  # the pool closed: nothing to keep
            log.info("outbox_connection_release_failed", error=f"{type(exc).__name__}")

    async def _drop_broken_connections(self) -> None:
        for shard, conn in list(self._held.items()):
            try:
                alive = not conn.is_closed() and bool(
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), 2.0))
            except Exception:  # InterfaceError: closed and given back to the pool already
                alive = False
            if not alive:
                del self._held[shard]
                await self._discard(conn)
        SHARDS_HELD.set(len(self._held))

    async def _release_all(self) -> None:
        held, self._held = self._held, {}
        for shard, conn in held.items():
            try:
                await asyncio.wait_for(
                    conn.execute("SELECT pg_advisory_unlock($1, $2)", _LOCK_CLASS, shard), 2.0)
            except Exception:
                await self._discard(conn)
                continue
            try:
                await self._pool.release(conn)
            except Exception as exc:
                log.info("outbox_connection_release_failed", error=f"{type(exc).__name__}")
        SHARDS_HELD.set(0)
