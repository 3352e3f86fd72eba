"""Finding 6 for the statistics fold: a chunk that runs out of time is folded smaller, not
retried unchanged forever; the leader keeps leading and folds everything once it fits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from services.statistics.config import StatisticsSettings
from services.statistics.leader import lead
from services.statistics.metrics import FOLD_CHUNK
from services.statistics.schema import COUNT_COLUMNS
from shared.domain.vocab import default_vocabulary
from shared.platform.clock import SystemClock
from shared.platform.migrations import statements
from shared.platform.runtime import Infrastructure
from shared.tools.testing.helpers import eventually


@pytest.fixture
async def schema(stack) -> AsyncIterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from services.statistics.schema import fresh_projection_ddl

    name = f"fold_{uuid.uuid4().hex[:10]}"
    dsn = stack.dsns["statistics"]
    conn = await asyncpg.connect(dsn)
    await conn.execute(f"CREATE SCHEMA {name}")
    await conn.execute(f"SET search_path TO {name}")
    for stmt in statements(fresh_projection_ddl()):
        await conn.execute(stmt)
    rows = [(date(1500, 1, 1 + i % 28), "letter", "jizhou", "fees", "u", datetime.now(UTC),
             date(1500, 2, 1), *([1] + [0] * (len(COUNT_COLUMNS) - 1))) for i in range(400)]
    await conn.copy_records_to_table(
        "journal", columns=["r_day", "channel", "jurisdiction", "category", "unit", "e_at",
                            "e_day", *COUNT_COLUMNS], records=rows)
    try:
        yield dsn, name
    finally:
        await conn.execute(f"DROP SCHEMA {name} CASCADE")
        await conn.close()


async def test_a_fold_that_times_out_is_folded_smaller(schema: tuple[str, str]) -> None:
    dsn, name = schema
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=3, command_timeout=1.0,
                                     server_settings={"search_path": name})
    assert pool is not None
    blocker = await asyncpg.connect(dsn)
    settings = StatisticsSettings(fold_chunk_rows=400, fold_interval_seconds=0.05)
    infra = Infrastructure(settings=settings, pool=pool, clock=SystemClock())
    try:
        # Someone holds the aggregates for a while: every fold statement runs out of time.
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute(f"LOCK TABLE {name}.cube IN ACCESS EXCLUSIVE MODE")
        FOLD_CHUNK.set(0)
        leader = asyncio.create_task(lead(infra, settings, default_vocabulary(), schema=name))
        async def shrunk() -> bool:
            assert not leader.done(), leader.exception()
            return 0 < FOLD_CHUNK._value.get() <= 50  # three timeouts: 400 → 200 → 100 → 50
        await eventually(shrunk, within=20, what="the fold chunk to shrink")
        assert await _left(pool, 400)
        await tx.rollback()
        await eventually(lambda: _left(pool, 0), within=30, what="everything folded")
        assert await pool.fetchval("SELECT sum(received) FROM totals") == 400
        assert not leader.done()
        leader.cancel()
    finally:
        await blocker.close()
        await pool.close()


async def _left(pool: asyncpg.Pool, n: int) -> bool:
    return bool(await pool.fetchval("SELECT count(*) FROM journal") == n)
