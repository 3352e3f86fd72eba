"""Deadlines: the sweep with 1,000,000 open timers in the database.

- idle: CPU the sweep loop uses over a minute in which nothing is due (goal ≤ 2 % of a core):
  the sweep runs in this process, as the service runs it (a pass a second, batches of 500),
  and both this process's CPU time and the PostgreSQL backend's are measured;
- consumer: events applied per second by the batch handler (the catch-up speed after downtime
  or when replaying history), on the same 1,000,000-timer tables;
- burst: the time to fire 100,000 timers that fall due at once (goal ≤ 10 s): one sweep loop,
  then one instance as configured (`sweep_workers` loops), then two such instances racing;
  every alert is written exactly once.

Everything happens in a scratch schema `bench_<pid>` of the deadlines database (the service's
real tables are never touched, and the alerts written there are never published), dropped at
the end. Needs the local stack's PostgreSQL (`xf stack up`).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from services.deadlines import calendars
from services.deadlines.config import DeadlinesSettings
from services.deadlines.handlers import events_policy
from services.deadlines.reconcile import Policy
from services.deadlines.schema import DDL, HEARING_DDL, PARKING_DDL
from services.deadlines.sweep import _CLAIM, Sweep
from shared.domain.limits import CountingMode
from shared.domain.schemas import STEP_TYPES, CaseAssigned, CaseRegistered
from shared.domain.vocab import default_vocabulary
from shared.platform.clock import SystemClock
from shared.platform.events import EventData, envelope_for
from shared.platform.inbox import INBOX_DDL
from shared.platform.migrations import statements
from shared.platform.outbox import OUTBOX_DDL
from shared.platform.pipeline import Delivered, Pipeline
from shared.tools.stack import control
from shared.tools.stack.layout import Layout

TIMERS = 1_000_000
BURST = 100_000
IDLE_SECONDS = 60.0
SETTINGS = DeadlinesSettings()
POLICY = Policy(CountingMode.calendar_roll_forward, SETTINGS.warning_days, timedelta(0))
TICKS = os.sysconf("SC_CLK_TCK")

# Two open timers per case (half a million cases), due over the coming year, none due yet.
FILL = """
INSERT INTO cases (case_id, received_at, jurisdiction, unit)
SELECT 'bench-' || c, now() - interval '10 days', 'jizhou', 'unit-' || (c % 40)
FROM generate_series(1, $1::int / 2) AS c;
INSERT INTO timers (case_id, kind, round, is_window, start_event_id, start_type, start_at,
                    start_date, mode, day_unit, length_days, extension_days, rule, article,
                    due_date, provisional, status, next_fire_at)
SELECT 'bench-' || (i / 2 + 1), CASE i % 2 WHEN 0 THEN 'handling' ELSE 'review_decision' END,
       0, false, md5(i::text)::uuid, 'case.accepted', now(), current_date,
       'calendar_roll_forward', 'calendar', 60, 0, 'bench', '第34条',
       current_date + 8 + i % 365, false, 'pending',
       (current_date + 1 + i % 365)::timestamp AT TIME ZONE 'Asia/Shanghai'
FROM generate_series(0, $1::int - 1) AS i;
"""


def _cpu_of(pid: int) -> float | None:
    """CPU seconds (user + system) of a local process, from /proc; None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return None


async def setup(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(f"SET search_path = {schema}")
        for stmt in [*statements(DDL), *statements(PARKING_DDL), *statements(HEARING_DDL),
                     *statements(OUTBOX_DDL),
                     *statements(INBOX_DDL)]:
            await conn.execute(stmt)
        started = time.perf_counter()
        for stmt in statements(FILL):
            await conn.execute(stmt, TIMERS)
        await conn.execute("ANALYZE")
        print(f"setup: {TIMERS:,} open timers inserted in {time.perf_counter() - started:.1f} s")
    finally:
        await conn.close()


async def idle(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_bitmapscan = off")  # as the sweep does
        plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + _CLAIM,
                                SystemClock().now(), SETTINGS.sweep_batch)
        backend = await conn.fetchval("SELECT pg_backend_pid()")
    print("claim with nothing due:")
    for row in plan:
        print("   ", row[0])
    sweeps = [Sweep(pool, SystemClock(), POLICY, "bench.deadline.events",
                    batch=SETTINGS.sweep_batch, interval=SETTINGS.sweep_interval_seconds)
               for _ in range(SETTINGS.sweep_workers)]
    server_before = _cpu_of(backend)
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    tasks = [asyncio.create_task(s.run()) for s in sweeps]
    await asyncio.sleep(IDLE_SECONDS)
    for s in sweeps:
        s.stop()
    await asyncio.gather(*tasks)
    cpu = time.process_time() - cpu_before
    wall = time.perf_counter() - wall_before
    server_after = _cpu_of(backend)
    print(f"idle sweep ({len(sweeps)} loops, a pass each per {SETTINGS.sweep_interval_seconds:g} s)"
          f" over {wall:.1f} s, nothing due: this process {cpu * 1000:.0f} ms CPU "
          f"= {100 * cpu / wall:.3f} % of one core (goal ≤ 2 %)")
    if server_before is not None and server_after is not None:
        server = server_after - server_before
        print(f"    PostgreSQL backend of the sweep: {server * 1000:.0f} ms CPU "
              f"= {100 * server / wall:.3f} % of one core")


def _case_events(n_cases: int) -> list[Delivered]:
    """A registered, assigned, accepted and replied case, n times, as the consumer gets them."""
    out = []
    for i in range(n_cases):
        case_id = str(uuid.uuid4())
        at = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=i)
        steps: list[EventData] = [
            CaseRegistered(case_id=case_id, tracking_no=f"B{i}", channel="letter",
                           jurisdiction="jizhou", category="fees", received_at=at),
            CaseAssigned(case_id=case_id, unit="jizhou_bureau", assignment_version=1,
                         rule_id="bench", rule_version=1, assigned_at=at + timedelta(hours=2)),
            STEP_TYPES["accept"](case_id=case_id, at=at + timedelta(days=1), status="accepted",
                                 previous_status="assigned", sequence=2),
            STEP_TYPES["reply"](case_id=case_id, at=at + timedelta(days=20), status="replied",
                                previous_status="accepted", sequence=3),
        ]
        for j, data in enumerate(steps):
            envelope = envelope_for(data, subject=case_id, source="bench", time=at)
            out.append(Delivered(envelope, "bench", i % 12, i * 4 + j))
    return out


async def consume(pool: asyncpg.Pool) -> None:
    pipeline = Pipeline.standalone(
        pool, events_policy(calendars.Calendars(), POLICY, SystemClock(), default_vocabulary(),
                            "bench.deadline.events"), service="deadlines")
    events = _case_events(5_000)
    batch = 500
    started = time.perf_counter()
    for i in range(0, len(events), batch):
        await pipeline.apply(events[i:i + batch], [])
    elapsed = time.perf_counter() - started
    print(f"consumer: {len(events):,} events (5,000 cases) applied in {elapsed:.2f} s "
          f"({len(events) / elapsed:,.0f} events/s, batches of {batch})")


async def burst(pool: asyncpg.Pool, label: str, sweepers: int, first_id: int) -> None:
    """Make BURST timers due now (overdue since yesterday) and fire them."""
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE timers SET due_date = current_date - 1, next_fire_at = now() "
            "- interval '1 minute' WHERE id >= $1 AND id < $2", first_id, first_id + BURST)
        before = await conn.fetchval("SELECT count(*) FROM outbox")
    sweeps = [Sweep(pool, SystemClock(), POLICY, "bench.deadline.events",
                    batch=SETTINGS.sweep_batch) for _ in range(sweepers)]

    async def drain(sweep: Sweep) -> int:
        total = 0
        while claimed := await sweep.once():
            total += claimed
        return total

    started = time.perf_counter()
    claimed = await asyncio.gather(*(drain(s) for s in sweeps))
    elapsed = time.perf_counter() - started
    async with pool.acquire() as conn:
        written = await conn.fetchval("SELECT count(*) FROM outbox") - before
        left = await conn.fetchval("SELECT count(*) FROM timers WHERE id >= $1 AND id < $2 "
                                   "AND status <> 'overdue'", first_id, first_id + BURST)
    assert written == BURST and left == 0, (written, left)
    print(f"burst, {label} ({sweepers} loop(s)): {BURST:,} timers fired in {elapsed:.2f} s "
          f"({BURST / elapsed:,.0f}/s; goal ≤ 10 s); claims per sweeper {claimed}; "
          f"{written:,} deadline.overdue written, each once")


async def main() -> None:
    dsn = control.dsns(Layout())["deadlines"]
    schema = f"bench_{os.getpid()}"
    try:
        await setup(dsn, schema)
        # One connection for the idle sweep, so its PostgreSQL backend's CPU can be read.
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1,
                                         server_settings={"search_path": schema})
        try:
            await idle(pool)
        finally:
            await pool.close()
        loops = SETTINGS.sweep_workers
        pool = await asyncpg.create_pool(dsn, min_size=2 * loops, max_size=2 * loops,
                                         server_settings={"search_path": schema})
        try:
            first = await pool.fetchval("SELECT min(id) FROM timers")
            await burst(pool, "one loop", 1, first)
            await burst(pool, "one instance", loops, first + BURST)
            # Two instances' loops racing for the same timers (here in one Python process).
            await burst(pool, "two instances' loops", 2 * loops, first + 2 * BURST)
            await consume(pool)
        finally:
            await pool.close()
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
