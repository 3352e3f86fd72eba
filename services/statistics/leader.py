"""The leader task: fold the journal and refresh the gauges, on one instance at a time.

Every instance runs this task; the one that gets the session advisory lock leads until its
connection goes away (crash, restart, network), when PostgreSQL releases the lock and another
instance takes over within ``leader_retry_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib

from services.statistics import metrics
from services.statistics.config import StatisticsSettings
from services.statistics.fold import fold_once, leader_key
from shared.domain.vocab import Vocabulary
from shared.platform.clock import Clock
from shared.platform.db import is_timeout
from shared.platform.logging import get_logger
from shared.platform.pipeline import ChunkSize
from shared.platform.runtime import Infrastructure

log = get_logger(__name__)


async def lead(infra: Infrastructure, settings: StatisticsSettings, vocab: Vocabulary,
               clock: Clock | None = None, schema: str = "public") -> None:
    clock = clock or infra.clock
    key = leader_key(schema)
    loop = asyncio.get_running_loop()
    chunk = ChunkSize(settings.fold_chunk_rows)
    metrics.FOLD_CHUNK.set(chunk.current)
    while True:
        async with infra.pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                metrics.step_down()
                await asyncio.sleep(settings.leader_retry_seconds)
                continue
            log.info("statistics_leader_acquired", instance=settings.instance_id)
            metrics.LEADER.set(1)
            try:
                refreshed = float("-inf")
                while True:
                    size = chunk.current
                    try:
                        folded = await fold_once(conn, size)
                    except Exception as exc:
                        if not is_timeout(exc):
                            raise
                        # Work that always takes longer is not retried unchanged: smaller.
                        chunk.timed_out(size)
                        metrics.FOLD_CHUNK.set(chunk.current)
                        log.warning("fold_chunk_timed_out", next_rows=chunk.current)
                        continue
                    chunk.succeeded()
                    metrics.FOLD_CHUNK.set(chunk.current)
                    metrics.FOLDED.inc(folded)
                    # Refresh once the journal is drained (and at least every few seconds
                    # while catching up), not after every chunk of a backlog.
                    caught_up = 0 < folded < size
                    if caught_up or loop.time() - refreshed >= settings.gauge_refresh_seconds:
                        await metrics.refresh(conn, clock.now(), vocab)
                        refreshed = loop.time()
                    if folded < size:
                        await asyncio.sleep(settings.fold_interval_seconds)
            finally:
                metrics.step_down()
                with contextlib.suppress(Exception):
                    await conn.execute("SELECT pg_advisory_unlock($1)", key)
