"""PostgreSQL helpers: pool creation with retries, and which failures are the message's fault.

A consumer must tell bad luck from bad data. Bad luck — the database away, restarting, read-only
after a failover, out of disk or memory, a statement cancelled or timed out, a lock not
available, an internal error — goes away if the same work is tried again later: the work is
retried in place, never dead-lettered. Only a data error on the message's own content (SQLSTATE
class 22, data exception, and 23, integrity constraint violation) is the message's fault.
"""

from __future__ import annotations

import asyncio

import asyncpg
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from shared.platform.logging import get_logger

log = get_logger(__name__)

# SQLSTATE classes that describe the message's content, not the database's condition.
_DATA_CLASSES = frozenset({"22", "23"})
# Statement timeout or cancel: the work may fit if it is made smaller.
_TIMEOUT_SQLSTATES = frozenset({"57014"})


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc, "sqlstate", None) if isinstance(exc, asyncpg.PostgresError) else None


def is_transient(exc: BaseException) -> bool:
    """True for failures that may go away if the same work is tried again later."""
    if isinstance(exc, (OSError, asyncio.TimeoutError, asyncpg.InterfaceError,
                        asyncpg.exceptions.InternalClientError)):
        return True
    state = sqlstate(exc)
    if state is not None:
        return state[:2] not in _DATA_CLASSES
    try:
        from aiokafka.errors import KafkaError
    except ImportError:  # pragma: no cover
        return False
    # aiokafka calls a send timeout, a wedged producer and an oversized batch not retriable;
    # none of them is the fault of the event being applied.
    return isinstance(exc, KafkaError)


def is_timeout(exc: BaseException) -> bool:
    """A statement that ran out of time: retried smaller, not unchanged."""
    return isinstance(exc, asyncio.TimeoutError) or sqlstate(exc) in _TIMEOUT_SQLSTATES


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10,
                      command_timeout: float = 30.0,
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
                                             command_timeout=command_timeout)
    assert pool is not None
    return pool


async def database_ready(pool: asyncpg.Pool, within: float = 2.0) -> bool:
    try:
        async with asyncio.timeout(within):
            return bool(await pool.fetchval("SELECT 1"))
    except Exception:
        return False
