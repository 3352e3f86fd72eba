"""The sweep: fires each timer's warnings, overdue and lapse exactly once, on any number of
instances.

Each pass claims the timers whose `next_fire_at` has come, oldest first, in batches, with
`FOR UPDATE SKIP LOCKED` (instances never wait for, nor take, each other's timers), and in the
same transaction writes the alerts to the outbox and moves each timer to its next rung. A
crash before the commit leaves the timers as they were for the next pass; after it, the timer
has moved on, so nothing fires twice. The event ids are derived from timer, due date and rung,
so even a bug that claimed a timer twice could not put a second distinct alert in the outbox.

The claim reads the partial index on `next_fire_at` only: with nothing due, a pass is one
index probe that finds nothing, whatever the number of open timers.

A timer the sweep cannot handle (its alert cannot be built, or the database refuses what it
would write) must not hold back the timers claimed with it, nor, being first in line, every
pass after: it is parked — its error and failure count kept on the row, its `next_fire_at`
moved on by a backoff that doubles with each failure — and counted in
`xinfang_deadlines_sweep_parked_total`; the rest of the batch goes out in the same
transaction. When it is due again it is tried again; the first success clears the failure.
A failure the database raises for a whole batch is narrowed down by sweeping that batch one
timer per transaction. A database that is away is not the timer's fault: nothing is parked,
the pass is retried.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from services.deadlines import ladder, metrics, outputs
from services.deadlines.reconcile import Policy
from shared.platform import faults, outbox
from shared.platform.clock import Clock
from shared.platform.db import is_transient
from shared.platform.events import Envelope
from shared.platform.logging import get_logger

log = get_logger(__name__)

# Ids first, in next_fire_at order straight off the partial index (the LIMIT stops the scan
# after one batch), then the few columns the sweep needs. Bitmap scans are switched off for
# the claim: with stale statistics (a mass of timers falling due at once) the planner would
# otherwise bitmap-scan and sort every due timer on every pass.
_CLAIM = """
WITH due AS (
    SELECT id FROM timers WHERE next_fire_at <= $1 ORDER BY next_fire_at LIMIT $2
    FOR UPDATE SKIP LOCKED
)
SELECT t.id, t.case_id, t.kind, t.round, t.is_window, t.due_date, t.fired_days, t.warned,
       t.overdue_at, t.outcome, t.sweep_failures, c.unit
FROM due JOIN timers t ON t.id = due.id LEFT JOIN cases c ON c.case_id = t.case_id
"""

_MARK = """
UPDATE timers AS t SET status = u.status, outcome = u.outcome,
       warned = u.warned::smallint[], fired_days = u.fired_days, overdue_at = u.overdue_at,
       next_fire_at = u.next_fire_at, ended_at = coalesce(u.ended_at, t.ended_at),
       sweep_failures = 0, sweep_error = NULL, updated_at = now()
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::smallint[],
            $6::timestamptz[], $7::timestamptz[], $8::timestamptz[])
     AS u(id, status, outcome, warned, fired_days, overdue_at, next_fire_at, ended_at)
WHERE t.id = u.id
"""


_PARK = """
UPDATE timers AS t SET sweep_failures = t.sweep_failures + 1, sweep_error = u.error,
       next_fire_at = u.retry_at, updated_at = now()
FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS u(id, error, retry_at)
WHERE t.id = u.id
"""


def _array(values: tuple[int, ...]) -> str:
    return "{" + ",".join(str(v) for v in values) + "}"


@dataclass(frozen=True)
class Backoff:
    """How long a parked timer waits before it is tried again: `base` after its first
    failure, doubling with each one after, never more than `most`."""

    base: timedelta = timedelta(minutes=1)
    most: timedelta = timedelta(hours=1)

    def after(self, failures: int) -> timedelta:
        return min(self.most, self.base * 2 ** min(max(failures - 1, 0), 30))


@dataclass
class _Plan:
    """What one pass writes: the timers' new state, their alerts, and the timers parked."""

    marks: list[tuple[object, ...]] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    alerts: list[tuple[str, str]] = field(default_factory=list)
    lapsed: list[str] = field(default_factory=list)
    parked: list[tuple[asyncpg.Record, BaseException]] = field(default_factory=list)


class Sweep:
    def __init__(self, pool: asyncpg.Pool, clock: Clock, policy: Policy, topic: str, *,
                 batch: int = 500, interval: float = 1.0, backoff: Backoff = Backoff()
                 ) -> None:
        self._pool = pool
        self._clock = clock
        self._policy = policy
        self._topic = topic
        self._batch = batch
        self._interval = interval
        self._backoff = backoff
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Pass after pass; rest `interval` seconds whenever a pass did not fill a batch."""
        while not self._stopping.is_set():
            try:
                claimed = await self.once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database away: the timers stay due for the next pass
                log.warning("sweep_failed", error=f"{type(exc).__name__}: {exc}")
                claimed = 0
            if claimed < self._batch:
                try:
                    await asyncio.wait_for(self._stopping.wait(), self._interval)
                except TimeoutError:
                    pass

    async def once(self) -> int:
        """Claim up to a batch of due timers and fire them; how many were claimed."""
        try:
            return await self._pass(self._batch)
        except Exception as exc:
            if is_transient(exc):
                raise
            # The database refused the batch's writes: find the timer to blame by going
            # through the batch one timer per transaction.
            log.warning("sweep_batch_refused", error=type(exc).__name__)
            claimed = 0
            while claimed < self._batch and (one := await self._pass(1)):
                claimed += one
            return claimed

    async def _pass(self, limit: int) -> int:
        """One transaction: claim, fire what can be fired, park what cannot."""
        now = self._clock.now()
        started = time.perf_counter()
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL enable_bitmapscan = off")
            rows = await conn.fetch(_CLAIM, now, limit)
            if not rows:
                return 0
            plan = self._plan(rows, now)
            try:
                async with conn.transaction():  # a savepoint: a refusal keeps the claim
                    await self._write(conn, plan)
            except Exception as exc:
                if is_transient(exc) or len(rows) > 1:
                    raise
                plan = _Plan(parked=[(rows[0], exc)])
            if plan.parked:
                await self._park(conn, plan.parked, now)
        faults.point("sweep.after_commit")  # the fault suite's kill before the relay sends
        metrics.SWEEP_SECONDS.observe(time.perf_counter() - started)
        for event_type, kind in plan.alerts:
            metrics.ALERTS.labels(event_type, kind).inc()
        for kind in plan.lapsed:
            metrics.LAPSED.labels(kind).inc()
        for r, failure in plan.parked:
            metrics.PARKED.labels(r["kind"]).inc()
            log.error("sweep_timer_parked", timer_id=r["id"], case_id=r["case_id"],
                      kind=r["kind"], failures=r["sweep_failures"] + 1,
                      error=type(failure).__name__)
        return len(rows)

    def _plan(self, rows: list[asyncpg.Record], now: datetime) -> _Plan:
        plan = _Plan()
        for r in rows:
            try:
                mark, envelope, alert, lapsed = self._fire(r, now)
            except Exception as exc:  # this timer's own fault: the others go on
                plan.parked.append((r, exc))
                continue
            plan.marks.append(mark)
            if envelope is not None and alert is not None:
                plan.envelopes.append(envelope)
                plan.alerts.append(alert)
            if lapsed is not None:
                plan.lapsed.append(lapsed)
        return plan

    def _fire(self, r: asyncpg.Record, now: datetime) -> tuple[
            tuple[object, ...], Envelope | None, tuple[str, str] | None, str | None]:
        """One timer's new state, and its alert (with its metric labels) or lapse, if any."""
        fired = ladder.advance(r["due_date"], self._policy.warning_days, r["is_window"],
                               r["fired_days"], r["warned"], now)
        ended_at = None
        overdue_at = r["overdue_at"]
        envelope, alert, lapsed = None, None, None
        if fired.rung is not None:
            envelope = outputs.alert(r["case_id"], r["kind"], r["round"], r["due_date"],
                                     fired.rung, r["unit"], now)
            if fired.rung.days == ladder.OVERDUE:
                overdue_at = fired.rung.at
                alert = ("deadline.overdue", r["kind"])
            else:
                alert = ("deadline.warning", r["kind"])
        elif fired.outcome == "lapsed":
            ended_at = ladder.rungs(r["due_date"], (), True)[-1].at
            lapsed = r["kind"]
        mark = (r["id"], fired.status, fired.outcome or r["outcome"], _array(fired.warned),
                fired.fired_days, overdue_at, fired.next_fire_at, ended_at)
        return mark, envelope, alert, lapsed

    async def _write(self, conn: asyncpg.Connection, plan: _Plan) -> None:
        if plan.marks:
            await conn.execute(_MARK, *[list(col) for col in zip(*plan.marks, strict=True)])
        await outbox.add(conn, self._topic, plan.envelopes)

    async def _park(self, conn: asyncpg.Connection,
                    parked: list[tuple[asyncpg.Record, BaseException]], now: datetime) -> None:
        args: list[list[Any]] = [[], [], []]
        for r, exc in parked:
            args[0].append(r["id"])
            args[1].append(f"{type(exc).__name__}: {exc}".replace("\x00", "")[:1000])
            args[2].append(now + self._backoff.after(r["sweep_failures"] + 1))
        await conn.execute(_PARK, *args)
