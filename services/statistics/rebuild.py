"""``xf stats rebuild``: a fresh projection built by replaying the topics from the beginning.

1. A new schema (``stats_rebuild_<time>``) gets every projection table, inbox included.
2. The calendar topic is read to its end first, then the three event topics, each from offset 0
   without a consumer group (the live service's offsets are untouched) up to the end offsets
   seen when its replay started, and applied with the very code the service runs
   (store.Projector), then folded.
3. With ``swap``: in one short transaction the live tables move to ``stats_retired_<time>`` and
   the rebuilt ones into ``public``; the replay then continues into ``public`` up to the topics'
   new end. Events the service applied to the old tables meanwhile are applied again to the new
   ones, events it applies from now on land there too, and the inbox keeps each one single. The
   retired schema is dropped unless asked to keep it.

Because the facts are order-independent (facts.py), the rebuilt figures equal the live ones
although the replay interleaves the topics differently from the live consumer. The one input
that is not a fact of a case, the calendar, is replayed first: the on-time judgement is a
function of a case's facts and the calendar, the live projection re-judges every case a
calendar change can move (so each case stands judged on the latest version), and a rebuild
that knows the latest version before it sees any case judges each case once, on the same.
A calendar change made during the rebuild is caught up before the cases after a swap.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.statistics.fold import fold_all
from services.statistics.schema import TABLES, fresh_projection_ddl
from services.statistics.store import Projector
from shared.platform.events import PoisonMessage, UnknownEvent, decode
from shared.platform.migrations import statements
from shared.platform.pipeline import Delivered
from shared.platform.topics import (
    CALENDAR_EVENTS,
    CASE_EVENTS,
    DEADLINE_EVENTS,
    ROUTING_EVENTS,
    TopicSpec,
)

CASE_TOPICS = (CASE_EVENTS, ROUTING_EVENTS, DEADLINE_EVENTS)
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
FOLD_EVERY_ROWS = 100_000
Say = Callable[[str], None]


@dataclass
class RebuildResult:
    schema: str
    events: int = 0
    poison: int = 0
    seconds: float = 0.0
    swapped: bool = False
    caught_up: int = 0
    retired: str | None = None

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _schema_name(prefix: str) -> str:
    return f"{prefix}_{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"


async def create_projection(conn: asyncpg.Connection, schema: str) -> None:
    if not _IDENT.match(schema):
        raise ValueError(f"not a plain schema name: {schema!r}")
    await conn.execute(f"CREATE SCHEMA {schema}")
    await conn.execute(f"SET search_path TO {schema}")
    async with conn.transaction():
        for stmt in statements(fresh_projection_ddl()):
            await conn.execute(stmt)


class Replay:
    """Reads topics from the beginning and applies them through ``projector``."""

    def __init__(self, bootstrap: str, topic_prefix: str, projector: Projector,
                 batch_size: int = 5000, topics: Sequence[TopicSpec] = CASE_TOPICS) -> None:
        self._topics = [t.name(topic_prefix) for t in topics]
        # Subscribed without a group: the consumer is assigned every partition, commits nothing.
        self._consumer = AIOKafkaConsumer(*self._topics, bootstrap_servers=bootstrap,
                                          group_id=None, enable_auto_commit=False,
                                          auto_offset_reset="earliest")
        self._projector = projector
        self._batch = batch_size
        self.positions: dict[TopicPartition, int] = {}

    async def start(self, wait_seconds: float = 30.0) -> None:
        await self._consumer.start()
        deadline = time.monotonic() + wait_seconds
        while len(parts := self._consumer.assignment()) == 0 or {
                tp.topic for tp in parts} != set(self._topics):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no partitions of {self._topics} assigned")
            await asyncio.sleep(0.1)
        await self._consumer.seek_to_beginning(*parts)
        self.positions = {tp: 0 for tp in parts}

    async def stop(self) -> None:
        await self._consumer.stop()

    async def until_end(self, conn: asyncpg.Connection, result: RebuildResult) -> int:
        """Apply everything up to the topics' current end; return the events applied."""
        ends = await self._consumer.end_offsets(list(self.positions))
        applied = pending_rows = 0
        while any(self.positions[tp] < end for tp, end in ends.items()):
            fetched = await self._consumer.getmany(timeout_ms=500, max_records=self._batch)
            batch: list[Delivered] = []
            for tp, records in fetched.items():
                for record in records:
                    self.positions[tp] = record.offset + 1
                    try:
                        envelope = decode(record.value)
                    except (PoisonMessage, UnknownEvent):
                        result.poison += 1
                        continue
                    batch.append(Delivered(envelope, tp.topic, tp.partition, record.offset))
            if not batch:
                # Nothing fetched: trust the consumer's own positions (they step over any gap).
                for tp in ends:
                    self.positions[tp] = await self._consumer.position(tp)
                continue
            async with conn.transaction():
                pending_rows += await self._projector.apply_batch(conn, batch)
            applied += len(batch)
            if pending_rows >= FOLD_EVERY_ROWS:
                await fold_all(conn)
                pending_rows = 0
        return applied


async def swap_into(conn: asyncpg.Connection, schema: str, live: str, retired: str) -> None:
    """Move the tables of ``live`` (the service's: ``public``) out to ``retired`` and the
    rebuilt ones of ``schema`` in, in one transaction."""
    async with conn.transaction():
        await conn.execute("SET LOCAL lock_timeout = '20s'")
        await conn.execute(f"CREATE SCHEMA {retired}")
        # Tables an older version of the projection did not have are simply not there yet.
        present = [t for t in TABLES
                   if await conn.fetchval("SELECT to_regclass($1)", f"{live}.{t}") is not None]
        if present:
            await conn.execute("LOCK TABLE " + ", ".join(f"{live}.{t}" for t in present)
                               + " IN ACCESS EXCLUSIVE MODE")
        for table in present:
            await conn.execute(f"ALTER TABLE {live}.{table} SET SCHEMA {retired}")
        for table in TABLES:
            await conn.execute(f"ALTER TABLE {schema}.{table} SET SCHEMA {live}")
        await conn.execute(f"DROP SCHEMA {schema}")


async def rebuild(dsn: str, bootstrap: str, projector: Projector, *, topic_prefix: str = "xinfang",
                  swap: bool = False, keep_old: bool = False, schema: str | None = None,
                  live: str = "public", say: Say = print) -> RebuildResult:
    """Replay ``topic_prefix``'s event topics into a fresh schema; with ``swap`` make it the
    projection in ``live`` (the service reads ``public``; tests swap into a schema of their own).
    """
    schema = schema or _schema_name("stats_rebuild")
    result = RebuildResult(schema=schema)
    conn = await asyncpg.connect(dsn)
    calendar = Replay(bootstrap, topic_prefix, projector, topics=(CALENDAR_EVENTS,))
    replay = Replay(bootstrap, topic_prefix, projector)
    try:
        await create_projection(conn, schema)
        say(f"replaying {topic_prefix}.*.events into schema {schema}")
        started = time.perf_counter()
        # The calendar first, to its end: every case is then judged once, on the latest
        # version, which is where the live projection's re-judging has brought it too.
        await calendar.start()
        result.events = await calendar.until_end(conn, result)
        await replay.start()
        result.events += await replay.until_end(conn, result)
        await fold_all(conn)
        result.seconds = time.perf_counter() - started
        say(f"applied {result.events} events in {result.seconds:.1f}s "
            f"({result.events_per_second:.0f}/s), {result.poison} undecodable skipped")
        if swap:
            result.retired = _schema_name("stats_retired")
            if not _IDENT.match(live):
                raise ValueError(f"not a plain schema name: {live!r}")
            await swap_into(conn, schema, live, result.retired)
            result.swapped = True
            await conn.execute(f"SET search_path TO {live}")
            result.caught_up = await calendar.until_end(conn, result)
            result.caught_up += await replay.until_end(conn, result)
            say(f"swapped into {live}; {result.caught_up} events applied since "
                f"(old tables in {result.retired})")
            if not keep_old:
                await conn.execute(f"DROP SCHEMA {result.retired} CASCADE")
                say(f"dropped {result.retired}")
            result.schema = live
    except BaseException:
        if not result.swapped:  # a half-built projection is of no use to anyone
            await asyncio.shield(conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        raise
    finally:
        await asyncio.shield(replay.stop())
        await asyncio.shield(calendar.stop())
        await conn.close()
    return result


async def drop_schema(dsn: str, schema: str) -> None:
    if not _IDENT.match(schema) or schema == "public":
        raise ValueError(f"refusing to drop {schema!r}")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await conn.close()
