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
from shared.platform.logging import get_logger
from shared.platform.runtime import Infrastructure

log = get_logger(__name__)


async def lead(infra: Infrastructure, settings: StatisticsSettings, vocab: Vocabulary,
               clock: Clock | None = None) -> None:
    clock = clock or infra.clock
    key = leader_key("public")
    loop = asyncio.get_running_loop()
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
                    folded = await fold_once(conn, settings.fold_chunk_rows)
                    metrics.FOLDED.inc(folded)
                    # Refresh once the journal is drained (and at least every few seconds
                    # while catching up), not after every chunk of a backlog.
                    caught_up = 0 < folded < settings.fold_chunk_rows
                    if caught_up or loop.time() - refreshed >= settings.gauge_refresh_seconds:
                        await metrics.refresh(conn, clock.now(), vocab)
                        refreshed = loop.time()
                    if folded < settings.fold_chunk_rows:
                        await asyncio.sleep(settings.fold_interval_seconds)
            finally:
                metrics.step_down()
                with contextlib.suppress(Exception):
                    await conn.execute("SELECT pg_advisory_unlock($1)", key)
