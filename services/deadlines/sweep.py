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
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

from services.deadlines import ladder, metrics, outputs
from services.deadlines.reconcile import Policy
from shared.platform import outbox
from shared.platform.clock import Clock
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
       t.overdue_at, t.outcome, c.unit
FROM due JOIN timers t ON t.id = due.id LEFT JOIN cases c ON c.case_id = t.case_id
"""

_MARK = """
UPDATE timers AS t SET status = u.status, outcome = u.outcome,
       warned = u.warned::smallint[], fired_days = u.fired_days, overdue_at = u.overdue_at,
       next_fire_at = u.next_fire_at, ended_at = coalesce(u.ended_at, t.ended_at),
       updated_at = now()
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::smallint[],
            $6::timestamptz[], $7::timestamptz[], $8::timestamptz[])
     AS u(id, status, outcome, warned, fired_days, overdue_at, next_fire_at, ended_at)
WHERE t.id = u.id
"""


def _array(values: tuple[int, ...]) -> str:
    return "{" + ",".join(str(v) for v in values) + "}"


class Sweep:
    def __init__(self, pool: asyncpg.Pool, clock: Clock, policy: Policy, topic: str, *,
                 batch: int = 500, interval: float = 1.0) -> None:
        self._pool = pool
        self._clock = clock
        self._policy = policy
        self._topic = topic
        self._batch = batch
        self._interval = interval
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
        """One transaction: claim up to a batch of due timers, fire them; how many claimed."""
        now = self._clock.now()
        started = time.perf_counter()
        warning_days = self._policy.warning_days
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL enable_bitmapscan = off")
            rows = await conn.fetch(_CLAIM, now, self._batch)
            if not rows:
                return 0
            marks: list[tuple[object, ...]] = []
            envelopes = []
            alerts: list[tuple[str, str]] = []
            lapsed: list[str] = []
            for r in rows:
                fired = ladder.advance(r["due_date"], warning_days, r["is_window"],
                                       r["fired_days"], r["warned"], now)
                ended_at = None
                overdue_at = r["overdue_at"]
                if fired.rung is not None:
                    envelopes.append(outputs.alert(r["case_id"], r["kind"], r["round"],
                                                   r["due_date"], fired.rung, r["unit"], now))
                    if fired.rung.days == ladder.OVERDUE:
                        overdue_at = fired.rung.at
                        alerts.append(("deadline.overdue", r["kind"]))
                    else:
                        alerts.append(("deadline.warning", r["kind"]))
                elif fired.outcome == "lapsed":
                    ended_at = ladder.rungs(r["due_date"], (), True)[-1].at
                    lapsed.append(r["kind"])
                marks.append((r["id"], fired.status, fired.outcome or r["outcome"],
                              _array(fired.warned), fired.fired_days, overdue_at,
                              fired.next_fire_at, ended_at))
            await conn.execute(_MARK, *[list(col) for col in zip(*marks, strict=True)])
            await outbox.add(conn, self._topic, envelopes)
        metrics.SWEEP_SECONDS.observe(time.perf_counter() - started)
        for event_type, kind in alerts:
            metrics.ALERTS.labels(event_type, kind).inc()
        for kind in lapsed:
            metrics.LAPSED.labels(kind).inc()
        return len(rows)
