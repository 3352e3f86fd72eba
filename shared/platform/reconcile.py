"""Reconciliation counts: each service answers, from its own database only, how many cases of
each received day it holds in a few states, so an operator (``xf reconcile``) or Prometheus
can compare the services without any of them reading another's database.

A service declares its :class:`Count`\\ s (a name and one SQL query grouped by the case's
received day in Asia/Shanghai) and installs them with :func:`install`, which adds

- ``GET /v1/reconcile[?from=YYYY-MM-DD&to=YYYY-MM-DD]`` (staff or admin): the counts per
  received day, all read in one snapshot so they agree with each other;
- a refresher that exports, every ``interval`` seconds, the totals of every case received
  before a *settled horizon* as ``xinfang_reconcile_count{service,quantity}``.

The horizon is wall time rounded down to ``SETTLE_SECONDS`` and one step back, the same on
every service: cases received after it may still be in flight, cases before it (live channels
submit with ``received_at`` ≈ now) are settled, so under a steady load the totals stop moving
and two services' totals are equal unless an event was lost or counted twice. A backfill of
old cases moves them for as long as the pipeline needs to drain; the alert waits longer.
Every instance of a service exports the same totals (they come from the shared database): the
recording rules take ``max`` across instances.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg
from aiohttp import web
from prometheus_client import Gauge

from shared.domain.limits import start_of_local_day
from shared.platform.clock import SystemClock
from shared.platform.logging import get_logger
from shared.platform.runtime import Infrastructure
from shared.platform.web import error, json_response, require_staff

log = get_logger(__name__)

RECONCILE_COUNT = Gauge(
    "xinfang_reconcile_count",
    "Cases this service holds in a state, all received days together (for reconciliation)",
    ["service", "quantity"],
)
RECONCILE_HORIZON = Gauge(
    "xinfang_reconcile_horizon_timestamp_seconds",
    "The settled horizon of xinfang_reconcile_count: cases received before it are counted",
    ["service"],
)
SETTLE_SECONDS = 600
# The received day of a row, as every service counts it.
LOCAL_DAY = "(received_at AT TIME ZONE 'Asia/Shanghai')::date"
# Bounds wide enough for any received_at (the statistics tests use earlier centuries).
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Count:
    """One quantity: ``sql`` selects ``(day date, n bigint)`` for the rows received in
    ``[$1, $2)``, grouped by day; it must be served by an index on ``received_at``."""

    name: str
    sql: str


def per_day(name: str, table: str, condition: str = "true") -> Count:
    """The rows of ``table`` received in the range that meet ``condition``, by day."""
    return Count(name, f"SELECT {LOCAL_DAY}, count(*) FROM {table} "
                       f"WHERE received_at >= $1 AND received_at < $2 AND {condition} GROUP BY 1")


def parse_day(value: str | None, field: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise error(422, "invalid request", errors=[
            {"field": field, "message": f"{field} must be a date YYYY-MM-DD"}]) from None


def bounds(first: date | None, last: date | None) -> tuple[datetime, datetime]:
    """The instants of ``[first day 00:00, the day after the last day 00:00)`` in Shanghai."""
    return (start_of_local_day(first) if first else EARLIEST,
            start_of_local_day(last + timedelta(days=1)) if last else LATEST)


async def counts_by_day(conn: asyncpg.Connection, counts: tuple[Count, ...], start: datetime,
                        end: datetime) -> dict[str, dict[str, int]]:
    """``{day: {quantity: n}}``; a day appears when any quantity counts a case on it, and
    then carries every quantity (0 where none)."""
    days: dict[str, dict[str, int]] = {}
    # One snapshot for all quantities: a case moving between states mid-read is counted
    # consistently.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for count in counts:
            for row in await conn.fetch(count.sql, start, end):
                days.setdefault(row[0].isoformat(), {})[count.name] = int(row[1])
    names = [c.name for c in counts]
    return {day: {n: found.get(n, 0) for n in names} for day, found in sorted(days.items())}


def settled_horizon(now: datetime, step: int = SETTLE_SECONDS) -> datetime:
    """``now`` rounded down to a multiple of ``step`` seconds (since the epoch), minus one step:
    every service computes the same instant for ``step`` seconds at a time."""
    seconds = int(now.timestamp()) // step * step - step
    return datetime.fromtimestamp(seconds, UTC)


def totals(days: dict[str, dict[str, int]], counts: tuple[Count, ...]) -> dict[str, int]:
    return {c.name: sum(day[c.name] for day in days.values()) for c in counts}


class ReconcileApi:
    def __init__(self, service: str, pool: asyncpg.Pool, counts: tuple[Count, ...],
                 interval: float, wall_clock: Callable[[], datetime]) -> None:
        self.service, self.pool, self.counts, self.interval = service, pool, counts, interval
        # Wall time, not the service's domain clock: a demo clock moved by days on one service
        # must not move its horizon away from the others'.
        self.wall_clock = wall_clock

    def install(self, app: web.Application) -> None:
        app.router.add_get("/v1/reconcile", self.get)
        app.cleanup_ctx.append(self._refreshing)

    async def get(self, request: web.Request) -> web.Response:
        require_staff(request)
        first = parse_day(request.query.get("from"), "from")
        last = parse_day(request.query.get("to"), "to")
        if first and last and first > last:
            raise error(422, "invalid request",
                        errors=[{"field": "from", "message": "from is after to"}])
        start, end = bounds(first, last)
        async with self.pool.acquire() as conn:
            days = await counts_by_day(conn, self.counts, start, end)
        return json_response({"service": self.service,
                              "quantities": [c.name for c in self.counts], "days": days})

    async def refresh(self) -> dict[str, int]:
        horizon = settled_horizon(self.wall_clock())
        async with self.pool.acquire() as conn:
            days = await counts_by_day(conn, self.counts, EARLIEST, horizon)
        found = totals(days, self.counts)
        for name, n in found.items():
            RECONCILE_COUNT.labels(self.service, name).set(n)
        RECONCILE_HORIZON.labels(self.service).set(horizon.timestamp())
        return found

    async def _refresh_forever(self) -> None:
        while True:
            try:
                await self.refresh()
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as exc:
                # The gauges keep their last values; the next round tries again.
                log.warning("reconcile_counts_failed", error=str(exc))
            await asyncio.sleep(self.interval)

    async def _refreshing(self, _: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(self._refresh_forever())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def install(app: web.Application, service: str, infra: Infrastructure,
            counts: tuple[Count, ...],
            wall_clock: Callable[[], datetime] = SystemClock().now) -> ReconcileApi:
    api = ReconcileApi(service, infra.pool, counts, infra.settings.reconcile_interval_seconds,
                       wall_clock)
    api.install(app)
    return api
