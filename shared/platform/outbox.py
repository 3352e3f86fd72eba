"""Transactional outbox: events are written in the transaction that decides them; a relay
publishes them to Kafka in order per case and marks them sent.

Ordering with several instances: rows are sharded by a hash of their key (the case id); a relay
publishes a shard only while it holds that shard's session advisory lock, so one case's events
are never published by two relays at once. A dead instance's connection drops its locks and
another instance takes the shard over; a relay that cannot send lets its shards go (see
``relay.py``).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from shared.platform.events import Envelope, encode, kafka_headers

OUTBOX_SHARDS = 4

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


def shard_of(key: str) -> int:
    return zlib.crc32(key.encode()) % OUTBOX_SHARDS


@dataclass(frozen=True)
class RawRow:
    """An outbox row that is not an envelope of ours (a dead letter keeps the original bytes)."""

    event_id: str
    topic: str
    key: str
    value: bytes
    headers: list[tuple[str, str]]


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


async def add_raw(conn: asyncpg.Connection, rows: Sequence[RawRow]) -> None:
    if not rows:
        return
    await conn.execute(
        """
        INSERT INTO outbox (event_id, topic, key, shard, value, headers)
        SELECT e, t, k, s, v, h::jsonb
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::smallint[], $5::bytea[],
                    $6::text[]) AS r(e, t, k, s, v, h)
        ON CONFLICT (event_id) DO NOTHING
        """,
        [r.event_id for r in rows], [r.topic for r in rows], [r.key for r in rows],
        [shard_of(r.key) for r in rows], [r.value for r in rows],
        [orjson.dumps(r.headers).decode() for r in rows],
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


async def purge_sent(pool: asyncpg.Pool, older_than_hours: int = 24) -> int:
    """Delete rows published long ago; the topic is the record from then on."""
    result = await pool.execute(
        "DELETE FROM outbox WHERE sent_at < now() - make_interval(hours => $1)", older_than_hours
    )
    return int(result.split()[-1])


async def oldest_unsent_age(conn: asyncpg.Connection) -> tuple[int, float]:
    """(unsent rows, age in seconds of the oldest) over every shard, from the database: true
    during a broker outage or a wedged producer, whoever holds the shards."""
    row = await conn.fetchrow(
        f"""
        SELECT (SELECT count(*) FROM (SELECT 1 FROM outbox WHERE sent_at IS NULL
                                      LIMIT 100000) u) AS backlog,
               extract(epoch FROM now() - min(oldest)) AS age
        FROM (SELECT (SELECT created_at FROM outbox WHERE shard = s AND sent_at IS NULL
                      ORDER BY id LIMIT 1) AS oldest
              FROM generate_series(0, {OUTBOX_SHARDS - 1}) AS s) heads
        """
    )
    return int(row["backlog"]), max(0.0, float(row["age"] or 0.0))
