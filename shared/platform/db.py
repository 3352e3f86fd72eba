"""PostgreSQL helpers: pool creation with retries, and transient-error classification."""

from __future__ import annotations

import asyncio

import asyncpg
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from shared.platform.logging import get_logger

log = get_logger(__name__)

# SQLSTATEs worth retrying: serialization failure, deadlock, admin shutdown, too many
# connections, cannot connect now. Everything else is a bug or bad data, not bad luck.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03", "53300", "08000",
                                  "08003", "08006", "08001", "08004"})


def is_transient(exc: BaseException) -> bool:
    """True for failures that may go away if the same work is tried again later."""
    if isinstance(exc, (OSError, asyncio.TimeoutError, asyncpg.InterfaceError)):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return getattr(exc, "sqlstate", None) in _TRANSIENT_SQLSTATES
    try:
        from aiokafka.errors import KafkaError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, KafkaError) and getattr(exc, "retriable", True)


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10,
                      wait_seconds: float = 60.0) -> asyncpg.Pool:
    """A pool, retrying while the database is still starting (it may come up after us)."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(is_transient),
        wait=wait_exponential(multiplier=0.2, max=5),
        stop=stop_after_delay(wait_seconds),
        reraise=True,
    ):
        with attempt:
            pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                             command_timeout=30)
    assert pool is not None
    return pool


async def database_ready(pool: asyncpg.Pool, within: float = 2.0) -> bool:
    try:
        async with asyncio.timeout(within):
            return bool(await pool.fetchval("SELECT 1"))
    except Exception:
        return False
