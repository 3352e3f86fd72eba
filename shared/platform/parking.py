"""Parked messages: what a consumer could not apply, kept in its own database.

A poison message (not an envelope, or an event its policy rejects) is parked in the same
transaction that would have applied it, and a copy for the dead-letter topic goes into the
outbox of that transaction. So a dead letter is written exactly once whatever happens to the
broker or the producer, and the batch around it is acknowledged only once the park has
committed. Parked events are replayed after a fix (``xf deadletters replay``): replay runs the
policy again through the inbox, so replaying twice changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from shared.platform import outbox

PARKED_DDL = """
CREATE TABLE parked (
    id           bigserial PRIMARY KEY,
    event_id     uuid,
    event_type   text,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    key          bytea,
    value        bytea,
    reason       text        NOT NULL,
    error        text        NOT NULL,
    parked_at    timestamptz NOT NULL DEFAULT now(),
    replayed_at  timestamptz,
    replay_error text,
    UNIQUE (topic, partition, "offset")
);
CREATE INDEX parked_waiting ON parked (parked_at) WHERE replayed_at IS NULL;
"""

# Dead-letter outbox rows get ids derived from the message's position, so parking the same
# message again (a redelivery before the offset was committed) adds nothing.
_DEAD_LETTER_NS = uuid.UUID("5b6f3c1e-9a43-4d8e-b1f2-0c7d2a9e4f10")


@dataclass(frozen=True)
class Poison:
    """One message to park: where it was, what it was, why it cannot be applied."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str  # undecodable | rejected
    error: str
    event_id: str | None = None
    event_type: str | None = None


def dead_letter_id(service: str, p: Poison) -> str:
    return str(uuid.uuid5(_DEAD_LETTER_NS, f"{service}:{p.topic}:{p.partition}:{p.offset}"))


async def park(conn: asyncpg.Connection, poison: Sequence[Poison], *, service: str,
               dead_letter_topic: str) -> list[Poison]:
    """Park ``poison`` and queue each for the dead-letter topic; call inside the transaction
    that acknowledges them. Returns those not parked before."""
    if not poison:
        return []
    fresh = await conn.fetch(
        """
        INSERT INTO parked (event_id, event_type, topic, partition, "offset", key, value,
                            reason, error)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::bigint[],
                             $6::bytea[], $7::bytea[], $8::text[], $9::text[])
        ON CONFLICT DO NOTHING
        RETURNING topic, partition, "offset"
        """,
        [p.event_id for p in poison], [p.event_type for p in poison],
        [p.topic for p in poison], [p.partition for p in poison], [p.offset for p in poison],
        [p.key for p in poison], [p.value for p in poison], [p.reason for p in poison],
        [p.error[:4000] for p in poison],
    )
    new = {(r["topic"], r["partition"], r["offset"]) for r in fresh}
    rows = [
        outbox.RawRow(
            event_id=dead_letter_id(service, p), topic=dead_letter_topic,
            key=(p.key or f"{p.topic}:{p.partition}:{p.offset}".encode()).decode("utf-8",
                                                                                  "replace"),
            value=p.value or b"",
            headers=[("origin_topic", p.topic), ("origin_partition", str(p.partition)),
                     ("origin_offset", str(p.offset)), ("reason", p.reason),
                     ("error", p.error[:2000]), ("service", service)],
        )
        for p in poison if (p.topic, p.partition, p.offset) in new
    ]
    await outbox.add_raw(conn, rows)
    return [p for p in poison if (p.topic, p.partition, p.offset) in new]


async def listing(conn: asyncpg.Connection, *, since: datetime | None, until: datetime | None,
                  waiting_only: bool, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT id, event_id::text, event_type, topic, partition, "offset", reason, error,
               parked_at, replayed_at, replay_error
        FROM parked
        WHERE ($1::timestamptz IS NULL OR parked_at >= $1)
          AND ($2::timestamptz IS NULL OR parked_at < $2)
          AND (NOT $3 OR replayed_at IS NULL)
        ORDER BY id LIMIT $4
        """,
        since, until, waiting_only, limit,
    )
    return [_jsonable(dict(r)) for r in rows]


async def one(conn: asyncpg.Connection, parked_id: int) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        """SELECT id, event_id::text, event_type, topic, partition, "offset", key, value,
                  reason, error, parked_at, replayed_at, replay_error
           FROM parked WHERE id = $1""", parked_id)
    if row is None:
        return None
    out = dict(row)
    for name in ("key", "value"):
        raw: bytes | None = out.pop(name)
        out[name] = None if raw is None else raw.decode("utf-8", "replace")
    return _jsonable(out)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return orjson.loads(orjson.dumps(row))  # type: ignore[no-any-return]
