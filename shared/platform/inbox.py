"""The inbox: which events a consumer has applied, in the same transaction as their effect.

A redelivered event finds its id already there and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

INBOX_DDL = """
CREATE TABLE inbox (
    event_id    uuid PRIMARY KEY,
    event_type  text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    "offset"    bigint      NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
"""


async def claim(
    conn: asyncpg.Connection, rows: Sequence[tuple[str, str, str, int, int]]
) -> set[str]:
    """Record (event_id, type, topic, partition, offset) rows; return the ids not seen before.

    Must run inside the transaction that applies the events.
    """
    if not rows:
        return set()
    ids, types, topics, partitions, offsets = zip(*rows, strict=True)
    fresh = await conn.fetch(
        """
        INSERT INTO inbox (event_id, event_type, topic, partition, "offset")
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::bigint[])
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id::text
        """,
        list(ids), list(types), list(topics), list(partitions), list(offsets),
    )
    return {r["event_id"] for r in fresh}
