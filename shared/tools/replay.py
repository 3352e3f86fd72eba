"""A service's consumed topics replayed from offset 0 into a fresh database, compared with the
live one (``xf replay``, and the fault suite's replay scenario).

1. A new database (``<live>_replay_<time>``, owned by the service's role) is migrated to head.
2. The tables a service's own API writes, which no topic it consumes carries (routing's rule
   sets, deadlines' calendar), are copied from the live database, sequences with them.
3. Every topic the service consumes is read from offset 0, without a consumer group (the live
   service's offsets are untouched), up to the end offsets seen when the replay started, and
   applied through the very pipeline and policy the service runs. The calendar topic goes first,
   to its end, as in the statistics rebuild. Nothing is relayed: the replay's outbox stays in its
   database.
4. The service's declared comparisons (``services/<svc>/replay.py``: queries with a
   ``case_id`` column) run on both databases, on every case or on the ones asked for; rows
   present on one side only are drift; so is a message parked on one side only (every
   consuming service parks the same poison). Every event the replay would publish must also be
   on the service's topics already: one that is not is a decision the live service never
   announced (dead letters, copies of what came in, are left out of that).
5. The fresh database is dropped unless asked to keep it.

The live service keeps running meanwhile; compare after the pipeline has drained (events the
live service applies after the replay's end offsets were taken show as drift).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.platform import migrations
from shared.platform.clock import SystemClock
from shared.platform.events import PoisonMessage, UnknownEvent, decode
from shared.platform.pipeline import Pipeline, Raw
from shared.platform.runtime import Infrastructure
from shared.platform.service import ServiceSpec
from shared.platform.settings import ServiceSettings
from shared.platform.topics import CALENDAR_EVENTS

AdminConnect = Callable[[], Awaitable[asyncpg.Connection]]
Say = Callable[[str], None]
SHOWN = 5  # rows of drift shown per comparison
PARKED = 'SELECT topic, partition, "offset", key, value, reason, error FROM parked'


@dataclass(frozen=True)
class Shape:
    """What a replay of one service needs: how it runs, what to copy, what to compare."""

    spec: ServiceSpec
    settings: ServiceSettings
    copied: Sequence[str]
    compared: Mapping[str, str]


@dataclass
class Drift:
    name: str
    live: int
    replayed: int
    only_live: list[tuple[Any, ...]] = field(default_factory=list)
    only_replayed: list[tuple[Any, ...]] = field(default_factory=list)
    missing: int = 0  # rows of the live side the replay lacks (all of them, not just shown)
    extra: int = 0

    def __str__(self) -> str:
        shown = [f"live only: {r}" for r in self.only_live[:SHOWN]]
        shown += [f"replayed only: {r}" for r in self.only_replayed[:SHOWN]]
        return (f"{self.name}: {self.missing} row(s) only live, {self.extra} only replayed"
                + "".join(f"\n    {s}" for s in shown))


@dataclass
class ReplayReport:
    service: str
    database: str
    events: int = 0
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    drift: list[Drift] = field(default_factory=list)
    # Event ids the replay would publish that are on none of the service's topics.
    unpublished: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = [str(d) for d in self.drift]
        if self.unpublished:
            found.append(f"{len(self.unpublished)} event(s) the replay would publish are on no "
                         f"topic: {', '.join(self.unpublished[:SHOWN])}")
        return found


def diff(name: str, live: Iterable[tuple[Any, ...]], replayed: Iterable[tuple[Any, ...]]
         ) -> Drift | None:
    """Rows as multisets: a row held twice on one side and once on the other is drift too."""
    a, b = Counter(live), Counter(replayed)
    only_live, only_replayed = a - b, b - a
    if not only_live and not only_replayed:
        return None
    return Drift(name, sum(a.values()), sum(b.values()),
                 sorted(only_live.elements(), key=str)[:SHOWN],
                 sorted(only_replayed.elements(), key=str)[:SHOWN],
                 missing=sum(only_live.values()), extra=sum(only_replayed.values()))


class TopicReader:
    """Reads topics from offset 0 to the end offsets seen at :meth:`start`, without a group."""

    def __init__(self, bootstrap: str, topics: Sequence[str], batch: int = 2000) -> None:
        self._topics = set(topics)
        # Subscribed without a group: the consumer is assigned every partition, commits nothing.
        self._consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None,
                                          enable_auto_commit=False,
                                          auto_offset_reset="earliest")
        self._batch = batch
        self._ends: dict[TopicPartition, int] = {}

    async def start(self, wait_seconds: float = 30.0) -> None:
        await self._consumer.start()
        deadline = time.monotonic() + wait_seconds
        parts = self._consumer.assignment()
        while {tp.topic for tp in parts} != self._topics:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no partitions of {sorted(self._topics)} assigned")
            await asyncio.sleep(0.1)
            parts = self._consumer.assignment()
        await self._consumer.seek_to_beginning(*parts)
        self._ends = await self._consumer.end_offsets(list(parts))

    async def stop(self) -> None:
        await self._consumer.stop()

    async def batches(self) -> AsyncIterator[list[Raw]]:
        """Yield lists of messages until every partition reached its end offset."""
        left = {tp: end for tp, end in self._ends.items() if end > 0}
        while left:
            fetched = await self._consumer.getmany(*left, timeout_ms=500,
                                                   max_records=self._batch)
            batch = [Raw(tp.topic, tp.partition, r.offset, r.key, r.value)
                     for tp, records in fetched.items() for r in records
                     if r.offset < self._ends[tp]]
            for tp in list(left):
                if await self._consumer.position(tp) >= left[tp]:
                    del left[tp]
            if batch:
                yield batch


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def fresh_database(service: str, live_dsn: str, admin: AdminConnect) -> str:
    """A new database beside ``live_dsn``'s, owned by the same role, migrated to head."""
    live = urlsplit(live_dsn)
    # A replay of a replay is named after the original (names are cut at 63 bytes).
    base = live.path.lstrip("/").split("_replay_")[0]
    name = f"{base}_replay_{datetime.now(UTC):%Y%m%d%H%M%S%f}"
    conn = await admin()
    try:
        await conn.execute(f'CREATE DATABASE "{name}" OWNER "{live.username}"')
    finally:
        await conn.close()
    dsn = _with_database(live_dsn, name)
    await asyncio.to_thread(migrations.upgrade, service, dsn)
    return dsn


async def drop_database(dsn: str, admin: AdminConnect) -> None:
    conn = await admin()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(dsn).path.lstrip("/")}" '
                           "WITH (FORCE)")
    finally:
        await conn.close()


async def copy_inputs(source_dsn: str, dsn: str, tables: Sequence[str]) -> None:
    """The tables of ``source_dsn`` no topic carries, and where its sequences stand."""
    source, fresh = await asyncpg.connect(source_dsn), await asyncpg.connect(dsn)
    try:
        for table in tables:
            records = await source.fetch(f"SELECT * FROM {table}")
            if records:
                await fresh.copy_records_to_table(table, records=[tuple(r) for r in records],
                                                  columns=list(records[0].keys()))
        # The next calendar revision or rule version continues where the live one is.
        for name, value in await source.fetch(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' "
                "AND last_value IS NOT NULL"):
            await fresh.execute("SELECT setval($1, $2)", name, value)
    finally:
        await source.close()
        await fresh.close()


async def _published_ids(bootstrap: str, topics: Sequence[str]) -> set[str]:
    reader = TopicReader(bootstrap, topics)
    ids: set[str] = set()
    await reader.start()
    try:
        async for batch in reader.batches():
            for m in batch:
                try:
                    ids.add(decode(m.value).id)
                except (PoisonMessage, UnknownEvent):
                    continue
    finally:
        await reader.stop()
    return ids


async def replay_into(shape: Shape, dsn: str) -> int:
    """Apply every event of the topics ``shape``'s service consumes to the database ``dsn``
    through the service's own pipeline and policy; return how many messages were read."""
    spec, settings = shape.spec, shape.settings
    assert spec.policy is not None, f"{spec.name} consumes nothing"
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    infra = Infrastructure(settings=settings, pool=pool, clock=SystemClock())
    pipeline = Pipeline.standalone(pool, spec.policy(infra), service=spec.name,
                                   chunk=spec.batch_size)
    names = [t.name(settings.topic_prefix) for t in spec.consumes]
    calendar = CALENDAR_EVENTS.name(settings.topic_prefix)
    # The calendar to its end first: every case is then counted on the latest version.
    rounds = [[calendar], [n for n in names if n != calendar]] if calendar in names else [names]
    events = 0
    try:
        for topics in rounds:
            reader = TopicReader(settings.kafka_bootstrap, topics, batch=spec.batch_size)
            await reader.start()
            try:
                async for batch in reader.batches():
                    await pipeline.process(batch)
                    events += len(batch)
            finally:
                await reader.stop()
    finally:
        await pool.close()
    return events


def _row(record: asyncpg.Record) -> tuple[Any, ...]:
    # Arrays come as lists: a row must be hashable to be counted.
    return tuple(tuple(v) if isinstance(v, list) else v for v in record.values())


async def compare(shape: Shape, live_dsn: str, dsn: str, report: ReplayReport,
                  cases: Collection[str] | None = None) -> None:
    """Fill ``report`` with the drift of every comparison (of ``cases`` only, if given)."""
    live, fresh = await asyncpg.connect(live_dsn), await asyncpg.connect(dsn)
    args: tuple[list[str], ...] = () if cases is None else (sorted(cases),)
    topics = [t.name(shape.settings.topic_prefix) for t in shape.spec.publishes]
    try:
        for label, sql in shape.compared.items():
            if cases is not None:
                sql = f"SELECT * FROM ({sql}) AS q WHERE q.case_id::text = ANY($1::text[])"
            live_rows = [_row(r) for r in await live.fetch(sql, *args)]
            fresh_rows = [_row(r) for r in await fresh.fetch(sql, *args)]
            report.rows[label] = len(fresh_rows)
            if (drift := diff(label, live_rows, fresh_rows)) is not None:
                report.drift.append(drift)
        # Every consuming service parks the same poison, whatever its policy.
        live_parked = [_row(r) for r in await live.fetch(PARKED)]
        fresh_parked = [_row(r) for r in await fresh.fetch(PARKED)]
        report.rows["parked"] = len(fresh_parked)
        if (drift := diff("parked", live_parked, fresh_parked)) is not None:
            report.drift.append(drift)
        # Dead letters are copies of what came in, not events of the service: left out.
        would_publish = {str(r[0]) for r in await fresh.fetch(
            "SELECT event_id FROM outbox WHERE topic = ANY($1::text[])", topics)}
    finally:
        await live.close()
        await fresh.close()
    on_topics = await _published_ids(shape.settings.kafka_bootstrap, topics)
    report.unpublished = sorted(would_publish - on_topics)


async def replay(shape: Shape, live_dsn: str, admin: AdminConnect, *, keep: bool = False,
                 cases: Collection[str] | None = None, say: Say = print) -> ReplayReport:
    """Replay into a fresh database beside ``live_dsn``'s and compare the two (every row, or
    the rows of ``cases``)."""
    dsn = await fresh_database(shape.spec.name, live_dsn, admin)
    report = ReplayReport(shape.spec.name, urlsplit(dsn).path.lstrip("/"))
    try:
        await copy_inputs(live_dsn, dsn, shape.copied)
        say(f"replaying what {shape.spec.name} consumes into {report.database}")
        started = time.perf_counter()
        report.events = await replay_into(shape, dsn)
        report.seconds = time.perf_counter() - started
        await compare(shape, live_dsn, dsn, report, cases)
    finally:
        if not keep:
            await drop_database(dsn, admin)
    return report
