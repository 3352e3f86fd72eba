"""Intake's PostgreSQL adapter: cases, timeline, audit of personal-data reads."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from services.intake.registration import Registration
from shared.platform import outbox
from shared.platform.auth import Actor
from shared.platform.topics import CASE_EVENTS

_CASE_COLUMNS = (
    "case_id", "tracking_no", "query_code_enc", "channel", "external_id", "jurisdiction",
    "category", "title", "content", "received_at", "registered_at", "status", "signers",
    "anonymous", "reachable", "petitioner_key", "petitioner_name_enc", "petitioner_id_enc",
    "petitioner_phone_enc", "petitioner_address_enc", "subject_unit", "subject_person",
    "assigned_by", "last_action_at", "free_text_enc", "masked_note", "assigned_ref",
    "representatives_enc", "representatives",
)
_COLUMN_TYPES = (
    "uuid", "text", "bytea", "text", "text", "text", "text", "text", "text", "timestamptz",
    "timestamptz", "text", "int", "bool", "bool", "text", "bytea", "bytea", "bytea", "bytea",
    "text", "text", "text", "timestamptz", "bytea", "text", "text", "bytea", "int",
)
_N = len(_CASE_COLUMNS)
# One statement, one round trip, atomic on its own: the cases of a batch (an import batch, or
# one API case), their first timeline step and their outbox events. A case whose
# (channel, external_id) exists already is skipped, and so are its step and event.
_REGISTER = f"""
WITH fresh AS (
    INSERT INTO cases ({", ".join(_CASE_COLUMNS)})
    SELECT * FROM unnest({", ".join(f"${i + 6}::{t}[]" for i, t in enumerate(_COLUMN_TYPES))})
    ON CONFLICT (channel, external_id) DO NOTHING
    RETURNING case_id, received_at, masked_note
), steps AS (
    INSERT INTO case_timeline (case_id, seq, action, status, at, actor, actor_id, actor_name,
                               internal_note)
    SELECT case_id, 1, 'register', 'registered', received_at, ${_N + 6}, ${_N + 8}, ${_N + 9},
           masked_note
    FROM fresh
), events AS (
    INSERT INTO outbox (event_id, topic, key, shard, value, headers)
    SELECT e, ${_N + 7}, k, s, v, h::jsonb FROM {outbox.UNNEST_ROWS}
    WHERE k::uuid IN (SELECT case_id FROM fresh)
    ON CONFLICT (event_id) DO NOTHING
)
SELECT case_id FROM fresh
"""


class TrackingNumbers:
    """Numbers unique within a year, drawn from a per-year sequence in blocks: one query per
    block instead of one per case. A block lost with its process leaves a gap, which the
    bureau accepts (unique, not gap-free)."""

    def __init__(self, block: int = 50) -> None:
        self._block = block
        self._free: dict[int, list[int]] = {}
        self._lock = asyncio.Lock()

    async def take(self, conn: asyncpg.Connection, year: int, count: int) -> list[int]:
        async with self._lock:
            free = self._free.setdefault(year, [])
            if len(free) < count:
                free.extend(await _draw(conn, year, count - len(free) + self._block))
            taken, self._free[year] = free[:count], free[count:]
            return taken


async def _draw(conn: asyncpg.Connection, year: int, count: int) -> list[int]:
    name = f"tracking_no_{int(year)}"
    query = f"SELECT nextval('{name}') FROM generate_series(1, $1)"
    # Each attempt in a savepoint of its own: a missing sequence must not abort the caller's
    # transaction (an import batch registers its cases inside one).
    try:
        async with conn.transaction():
            return [r[0] for r in await conn.fetch(query, count)]
    except asyncpg.UndefinedTableError:
        try:
            async with conn.transaction():
                await conn.execute(f"CREATE SEQUENCE IF NOT EXISTS {name}")
        except (asyncpg.UniqueViolationError, asyncpg.DuplicateTableError):
            pass  # created by a concurrent request a moment ago
        return [r[0] for r in await conn.fetch(query, count)]


async def insert_registrations(conn: asyncpg.Connection, regs: Sequence[Registration],
                               topic_prefix: str, actor: Actor) -> set[str]:
    """Register a batch; returns the ids of the cases inserted (see ``_REGISTER``)."""
    if not regs:
        return set()
    columns = [[reg.row[c] for reg in regs] for c in _CASE_COLUMNS]
    rows = await conn.fetch(_REGISTER, *outbox.row_arrays([r.event for r in regs]), *columns,
                            actor.face, CASE_EVENTS.name(topic_prefix), actor.id, actor.name)
    return {str(r["case_id"]) for r in rows}


async def find_by_external_id(conn: asyncpg.Connection, channel: str, external_id: str
                              ) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT case_id, tracking_no, query_code_enc, received_at FROM cases "
        "WHERE channel = $1 AND external_id = $2", channel, external_id,
    )


async def get_case(conn: asyncpg.Connection, case_id: str) -> asyncpg.Record | None:
    try:
        key = uuid.UUID(case_id)
    except ValueError:
        return None
    return await conn.fetchrow("SELECT * FROM cases WHERE case_id = $1", key)


async def get_by_tracking_no(conn: asyncpg.Connection, tracking: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM cases WHERE tracking_no = $1", tracking)


async def timeline(conn: asyncpg.Connection, case_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT seq, action, status, at, actor, actor_id, actor_name, public_note, "
        "internal_note, details "
        "FROM case_timeline WHERE case_id = $1 ORDER BY seq", case_id,
    )


async def audit_personal_data_read(conn: asyncpg.Connection, case_id: uuid.UUID,
                                   actor: Actor, role: str, fields: Sequence[str]) -> None:
    await conn.execute(
        "INSERT INTO personal_data_reads (case_id, actor, actor_id, role, fields) "
        "VALUES ($1, $2, $3, $4, $5)", case_id, actor.name, actor.id, role, list(fields),
    )


def details(record: asyncpg.Record) -> dict[str, Any]:
    raw = record["details"]
    return orjson.loads(raw) if isinstance(raw, str) else dict(raw or {})
