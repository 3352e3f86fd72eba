"""The consumer platform's unit of work against the real PostgreSQL, without a service: a
policy of the test's own that records what it applied, in a private schema.

Covers the delivery findings that live in the pipeline: poison found and parked once with its
dead letter queued in the same transaction (1, 4), database conditions that are not poison
retried (3), an unknown type or newer version skipped and counted (5), a chunk that times out
halved and grown back (6), upper-case event ids (7), and the dead-letter policy that halts.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import asyncpg
import orjson
import pytest

from shared.domain.schemas import CaseLinked
from shared.platform.events import encode, envelope_for
from shared.platform.inbox import INBOX_DDL
from shared.platform.outbox import OUTBOX_DDL
from shared.platform.parking import PARKED_DDL
from shared.platform.pipeline import (
    IGNORED,
    Applied,
    ChunkSize,
    ConsumerHalted,
    ConsumerHealth,
    DeadLetterPolicy,
    Delivered,
    Pipeline,
    Raw,
)
from shared.tools.testing.helpers import eventually

TOPIC = "tests.case.events"
DLQ = "tests.deadletter.pipeline"


@pytest.fixture
async def pool(stack) -> AsyncIterator[asyncpg.Pool]:  # type: ignore[no-untyped-def]
    schema = f"pipeline_{uuid.uuid4().hex[:10]}"
    dsn = stack.dsns["routing"]
    conn = await asyncpg.connect(dsn)
    await conn.execute(f"CREATE SCHEMA {schema}")
    await conn.execute(f"SET search_path TO {schema}")
    await conn.execute(INBOX_DDL + OUTBOX_DDL + PARKED_DDL +
                       "CREATE TABLE applied (event_id uuid PRIMARY KEY, n integer NOT NULL);")
    p = await asyncpg.create_pool(dsn, min_size=1, max_size=4, command_timeout=5,
                                  server_settings={"search_path": schema})
    assert p is not None
    try:
        yield p
    finally:
        await p.close()
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


def message(i: int, *, event_id: str | None = None, kind: str = "repeat",
            version: int | None = None, event_type: str | None = None) -> Raw:
    case_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    value = encode(envelope_for(CaseLinked(case_id=case_id, linked_to=str(uuid.uuid4()),
                                           kind=kind, at=now),
                                subject=case_id, source="tests", time=now, event_id=event_id))
    if version is not None or event_type is not None:
        doc = orjson.loads(value)
        if version is not None:
            doc["dataschema"] = f"urn:xinfang:case.linked:{version}"
        if event_type is not None:
            doc["type"] = event_type
        value = orjson.dumps(doc)
    return Raw(TOPIC, 0, i, case_id.encode(), value)


class Recorder:
    """The policy: records each event (a second apply of one id would violate the key);
    an event of kind ``poison`` is refused for its content, ``slow`` runs long when in a chunk
    of more than ``fits`` events; ``fail`` raises the SQLSTATE it is given, ``times`` times."""

    def __init__(self) -> None:
        self.fits = 10**6
        self.failures: list[str] = []
        self.chunks: list[int] = []

    async def __call__(self, conn: asyncpg.Connection, fresh: Sequence[Delivered]
                       ) -> Applied | None:
        self.chunks.append(len(fresh))
        if self.failures:
            state = self.failures.pop(0)
            await conn.execute(f"DO $$ BEGIN RAISE EXCEPTION 'fault' USING ERRCODE = '{state}';"
                               " END $$")
        if len(fresh) > self.fits:
            await conn.execute("SELECT pg_sleep(10)")  # past the pool's 5 s command timeout
        for d in fresh:
            if getattr(d.envelope.data, "kind", "") == "poison":
                await conn.execute("SELECT 1 / 0")  # a data error (class 22): the event's fault
            await conn.execute("INSERT INTO applied VALUES ($1, 1)", uuid.UUID(d.envelope.id))
        return None


def pipeline(pool: asyncpg.Pool, policy: Recorder, *, chunk: int = 100,
             dlq: DeadLetterPolicy | None = None) -> Pipeline:
    return Pipeline(pool, policy, service="pipeline", dead_letter_topic=DLQ,
                    dead_letter_policy=dlq or DeadLetterPolicy(), chunk=ChunkSize(chunk),
                    health=ConsumerHealth(), retry_max_seconds=0.2)


async def applied(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM applied"))


async def test_poison_is_parked_once_and_every_good_event_applied(pool: asyncpg.Pool) -> None:
    policy = Recorder()
    batch = [message(i, kind="poison" if i in (3, 17) else "repeat") for i in range(40)]
    batch.append(Raw(TOPIC, 0, 40, b"k", b"not json"))
    p = pipeline(pool, policy)
    await p.process(batch)
    await p.process(batch)  # a redelivery of the whole batch (offsets not committed yet)
    assert await applied(pool) == 38
    parked = await pool.fetch('SELECT "offset", reason FROM parked ORDER BY "offset"')
    assert [(r["offset"], r["reason"]) for r in parked] == [
        (3, "rejected"), (17, "rejected"), (40, "undecodable")]
    dead = await pool.fetch("SELECT topic, headers FROM outbox")
    assert len(dead) == 3 and {r["topic"] for r in dead} == {DLQ}
    reasons = sorted(dict(orjson.loads(r["headers"]))["reason"] for r in dead)
    assert reasons == ["rejected", "rejected", "undecodable"]


@pytest.mark.parametrize("sqlstate", ["57014", "25006", "53100", "53200", "55P03", "XX000",
                                      "40001", "08006", "57P01"])
async def test_database_conditions_are_retried_not_parked(pool: asyncpg.Pool,
                                                          sqlstate: str) -> None:
    policy = Recorder()
    policy.failures = [sqlstate, sqlstate]
    p = pipeline(pool, policy)
    await p.process([message(i) for i in range(5)])
    assert await applied(pool) == 5
    assert await pool.fetchval("SELECT count(*) FROM parked") == 0
    assert p.health.retrying_since is None


async def test_data_errors_are_the_events_fault(pool: asyncpg.Pool) -> None:
    policy = Recorder()
    policy.failures = ["22P02"]  # invalid text representation: the content, every time
    p = pipeline(pool, policy)
    await p.process([message(0)])
    assert await pool.fetchval("SELECT reason FROM parked") == "rejected"


async def test_unknown_type_or_newer_version_is_skipped_and_counted(pool: asyncpg.Pool) -> None:
    before = IGNORED.labels("case.linked", "2")._value.get()
    before_type = IGNORED.labels("case.site_visited", "1")._value.get()
    p = pipeline(pool, Recorder())
    await p.process([message(0, version=2), message(1, event_type="case.site_visited"),
                     message(2)])
    assert await applied(pool) == 1
    assert await pool.fetchval("SELECT count(*) FROM parked") == 0
    assert IGNORED.labels("case.linked", "2")._value.get() == before + 1
    assert IGNORED.labels("case.site_visited", "1")._value.get() == before_type + 1


async def test_a_chunk_that_times_out_is_halved_until_it_fits_then_grows(pool: asyncpg.Pool
                                                                         ) -> None:
    policy = Recorder()
    policy.fits = 8
    p = pipeline(pool, policy, chunk=32)
    await p.process([message(i) for i in range(32)])
    assert await applied(pool) == 32
    assert policy.chunks == [32, 16, 8, 8, 8, 8]
    assert p._chunk.current == 8
    for _ in range(8):  # chunks that went through let the size grow back
        await p.process([message(100 + i) for i in range(4)])
    assert p._chunk.current == 16
    assert await pool.fetchval("SELECT count(*) FROM parked") == 0


async def test_upper_case_event_ids_are_applied(pool: asyncpg.Pool) -> None:
    event_id = str(uuid.uuid4()).upper()
    p = pipeline(pool, Recorder())
    await p.process([message(0, event_id=event_id)])
    await p.process([message(1, event_id=event_id)])  # the same event again: applied once
    assert await pool.fetchval("SELECT count(*) FROM applied WHERE event_id = $1",
                               uuid.UUID(event_id)) == 1


async def test_too_much_poison_halts_without_parking_the_rest(pool: asyncpg.Pool) -> None:
    p = pipeline(pool, Recorder(), chunk=5,
                 dlq=DeadLetterPolicy(max_consecutive=3, max_ratio=1.0, window=100))
    with pytest.raises(ConsumerHalted):
        await p.process([message(i, kind="poison") for i in range(10)])
    assert await pool.fetchval("SELECT count(*) FROM parked") < 10


async def test_a_stop_while_retrying_ends_the_wait(pool: asyncpg.Pool) -> None:
    policy = Recorder()
    policy.failures = ["08006"] * 1000
    p = pipeline(pool, policy)
    task = asyncio.create_task(p.process([message(0)]))
    await eventually(lambda: _async(p.health.retrying_since), within=10, what="a retry")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await applied(pool) == 0


async def _async(value: float | None) -> float | None:
    return value


async def test_replay_after_a_fix_applies_once(pool: asyncpg.Pool) -> None:
    from shared.platform.deadletters import replay

    policy = Recorder()
    p = pipeline(pool, policy)
    await p.process([message(0, kind="poison"), message(1)])
    assert await applied(pool) == 1
    assert await replay(pool, p, None, None, None) == {
        "replayed": 0, "applied_before": 0, "failed": 1}  # still poison: stays parked
    assert await pool.fetchval("SELECT replay_error FROM parked") is not None
    await pool.execute("UPDATE parked SET value = $1",  # "the fix": it can be applied now
                       message(0, kind="repeat").value)
    assert await replay(pool, p, None, None, None) == {
        "replayed": 1, "applied_before": 0, "failed": 0}
    assert await replay(pool, p, None, None, None) == {
        "replayed": 0, "applied_before": 0, "failed": 0}
    assert await applied(pool) == 2
    assert await pool.fetchval("SELECT count(*) FROM parked WHERE replayed_at IS NOT NULL") == 1
