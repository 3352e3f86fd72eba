"""Transactional outbox: events are written in the transaction that decides them, and a relay
publishes them to Kafka in order per case.

Ordering with several instances: rows are sharded by a hash of their key (the case id); a relay
publishes a shard only while it holds that shard's session advisory lock, so one case's events
are never published by two relays at once. A dead instance's connection drops its locks and
another instance takes the shard over.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Gauge

from shared.platform.events import Envelope, encode, kafka_headers
from shared.platform.logging import get_logger

log = get_logger(__name__)

OUTBOX_SHARDS = 4
# Advisory lock namespace of the relay: (class id, shard).
_LOCK_CLASS = 0x5846  # "XF"

OUTBOX_DDL = f"""
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    topic       text        NOT NULL,
    key         text        NOT NULL,
    shard       smallint    NOT NULL CHECK (shard >= 0 AND shard < {OUTBOX_SHARDS}),
    value       bytea       NOT NULL,
    headers     jsonb       NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);
CREATE INDEX outbox_unsent ON outbox (shard, id) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
"""

BACKLOG = Gauge("xinfang_outbox_backlog_events", "Unsent outbox rows of the shards this "
                "instance relays (sum across instances)", ["shard"])
OLDEST_AGE = Gauge("xinfang_outbox_oldest_unsent_age_seconds", "Age of the oldest unsent "
                   "outbox row of the shards this instance relays (max across instances)",
                   ["shard"])
PUBLISHED = Counter("xinfang_outbox_published_total", "Outbox events published to Kafka",
                    ["topic"])
PUBLISH_FAILURES = Counter("xinfang_outbox_publish_failures_total",
                           "Outbox batches that failed to publish and will be retried")


def shard_of(key: str) -> int:
    return zlib.crc32(key.encode()) % OUTBOX_SHARDS


async def add(conn: asyncpg.Connection, topic: str, envelopes: Sequence[Envelope]) -> None:
    """Write events to the outbox; call inside the transaction that made the decision.

    ``ON CONFLICT DO NOTHING`` on the event id: a re-applied decision with a deterministic event
    id adds nothing.
    """
    if not envelopes:
        return
    await conn.execute(
        f"""
        INSERT INTO outbox (event_id, topic, key, shard, value, headers)
        SELECT e, $6, k, s, v, h::jsonb FROM {UNNEST_ROWS}
        ON CONFLICT (event_id) DO NOTHING
        """,
        *row_arrays(envelopes), topic,
    )


# The rows of ``row_arrays`` as a set, for a caller that folds the outbox insert into a larger
# statement (one round trip for a whole registration): parameters $1..$5.
UNNEST_ROWS = ("unnest($1::uuid[], $2::text[], $3::smallint[], $4::bytea[], $5::text[])"
               " AS t(e, k, s, v, h)")


def row_arrays(envelopes: Sequence[Envelope]) -> tuple[list[Any], ...]:
    """(event ids, keys, shards, encoded values, headers as JSON) — one list per column."""
    return (
        [e.id for e in envelopes], [e.subject for e in envelopes],
        [shard_of(e.subject) for e in envelopes], [encode(e) for e in envelopes],
        [orjson.dumps([[k, v.decode()] for k, v in kafka_headers(e)]).decode()
         for e in envelopes],
    )


class OutboxRelay:
    """Publishes unsent rows of the shards it holds, oldest first, and marks them sent."""

    def __init__(self, pool: asyncpg.Pool, producer: AIOKafkaProducer, *, batch_size: int = 500,
                 idle_interval: float = 0.05, retry_max: float = 5.0) -> None:
        self._pool = pool
        self._producer = producer
        self._batch_size = batch_size
        self._idle = idle_interval
        self._retry_max = retry_max
        self._held: dict[int, asyncpg.Connection] = {}
        self._stats_at: dict[int, float] = {}
        self._stopping = asyncio.Event()
        self.last_error: str | None = None

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        backoff = self._idle
        last_claim = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not self._stopping.is_set():
                if loop.time() - last_claim > 2.0:
                    await self._claim_shards()
                    last_claim = loop.time()
                try:
                    published = 0
                    for shard, conn in list(self._held.items()):
                        published += await self._relay_shard(shard, conn)
                    self.last_error = None
                    backoff = self._idle
                    if published == 0:
                        await self._sleep(self._idle)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # broker or database away: keep the rows, try later
                    PUBLISH_FAILURES.inc()
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("outbox_publish_failed", error=self.last_error)
                    await self._drop_broken_connections()
                    backoff = min(max(backoff * 2, 0.1), self._retry_max)
                    await self._sleep(backoff)
        finally:
            await self._release_all()

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    async def _claim_shards(self) -> None:
        for shard in range(OUTBOX_SHARDS):
            if shard in self._held:
                continue
            try:
                conn = await self._pool.acquire()
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                return
            try:
                got = await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", _LOCK_CLASS,
                                          shard)
            except Exception:
                await self._pool.release(conn)
                raise
            if got:
                self._held[shard] = conn
                log.info("outbox_shard_claimed", shard=shard)
            else:
                await self._pool.release(conn)
                BACKLOG.labels(str(shard)).set(0)
                OLDEST_AGE.labels(str(shard)).set(0)

    async def _relay_shard(self, shard: int, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(
            """
            SELECT id, topic, key, value, headers FROM outbox
            WHERE shard = $1 AND sent_at IS NULL ORDER BY id LIMIT $2
            """,
            shard, self._batch_size,
        )
        if rows:
            # Sends of one batch are queued in order and awaited together: the idempotent
            # producer keeps their order per partition.
            futures = [
                await self._producer.send(
                    r["topic"], value=bytes(r["value"]), key=r["key"].encode(),
                    headers=[(k, v.encode()) for k, v in orjson.loads(r["headers"])],
                )
                for r in rows
            ]
            await asyncio.gather(*futures)
            await conn.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])",
                               [r["id"] for r in rows])
            for r in rows:
                PUBLISHED.labels(r["topic"]).inc()
        now = asyncio.get_running_loop().time()
        if now - self._stats_at.get(shard, 0.0) >= 1.0:
            self._stats_at[shard] = now
            await self._observe_backlog(shard, conn)
        return len(rows)

    async def _observe_backlog(self, shard: int, conn: asyncpg.Connection) -> None:
        stats = await conn.fetchrow(
            """
            SELECT count(*) AS backlog, min(created_at) AS oldest FROM
            (SELECT created_at FROM outbox WHERE shard = $1 AND sent_at IS NULL
             ORDER BY id LIMIT 100000) unsent
            """,
            shard,
        )
        BACKLOG.labels(str(shard)).set(stats["backlog"])
        oldest: datetime | None = stats["oldest"]
        age = 0.0
        if oldest is not None:
            age = max(0.0, (await conn.fetchval("SELECT now()") - oldest).total_seconds())
        OLDEST_AGE.labels(str(shard)).set(age)

    async def _drop_broken_connections(self) -> None:
        for shard, conn in list(self._held.items()):
            if conn.is_closed():
                del self._held[shard]
                await self._pool.release(conn)

    async def _release_all(self) -> None:
        for shard, conn in list(self._held.items()):
            try:
                await conn.execute("SELECT pg_advisory_unlock($1, $2)", _LOCK_CLASS, shard)
            except Exception:
                pass
            await self._pool.release(conn)
        self._held.clear()


async def purge_sent(pool: asyncpg.Pool, older_than_hours: int = 24) -> int:
    """Delete rows published long ago; the topic is the record from then on."""
    result = await pool.execute(
        "DELETE FROM outbox WHERE sent_at < now() - make_interval(hours => $1)", older_than_hours
    )
    return int(result.split()[-1])
