"""A timer the sweep cannot handle (its alert cannot be built) is parked with its error and
retried later; the alerts behind it still go out, each once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from services.deadlines.reconcile import Policy
from services.deadlines.schema import DDL, HEARING_DDL, PARKING_DDL
from services.deadlines.sweep import Backoff, Sweep
from shared.domain.limits import CountingMode
from shared.platform.migrations import statements
from shared.platform.outbox import OUTBOX_DDL
from shared.platform.topics import DEADLINE_EVENTS
from shared.tools.stack.layout import Layout
from shared.tools.testing.helpers import end_offsets, eventually
from tests.integration.test_deadlines_timers import (
    ALERTS,
    CaseScript,
    alerts_of,
    days_ago,
    produce,
)

# A due date so early that its warning days cannot even be computed: every attempt fails the
# same way. Due long ago, it is first in line on every pass.
_BROKEN = """
INSERT INTO timers (case_id, kind, round, is_window, start_event_id, start_type, start_at,
                    start_date, mode, day_unit, length_days, rule, article, due_date,
                    provisional, status, next_fire_at)
VALUES ($1, 'handling', 0, false, $2, 'case.accepted', '2000-01-01T00:00:00Z', '2000-01-01',
        'calendar_roll_forward', 'calendar', 60, 'test', '第34条', '0001-01-02', false,
        'pending', '1990-01-01T00:00:00Z')
RETURNING id
"""


async def _parked_total(http: aiohttp.ClientSession) -> float:
    async with http.get(f"http://127.0.0.1:{Layout().metrics_port('deadlines')}/metrics") as r:
        text = await r.text()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("xinfang_deadlines_sweep_parked_total{"))


async def test_a_failing_timer_is_parked_and_the_alerts_behind_it_go_out(stack: Any) -> None:
    conn = await asyncpg.connect(stack.dsns["deadlines"])
    broken_case = f"broken-{uuid.uuid4()}"
    try:
        async with aiohttp.ClientSession() as http:
            parked_before = await _parked_total(http)
            broken = await conn.fetchval(_BROKEN, broken_case, uuid.uuid4())
            case = (CaseScript().registered(days_ago(200)).assigned(days_ago(199))
                    .step("accept", days_ago(198)))
            since = await end_offsets(stack.bootstrap, DEADLINE_EVENTS.name())
            await produce(stack.bootstrap, [case])
            found = await alerts_of(
                stack.bootstrap, since, {case.case_id, broken_case},
                until=lambda evs: any(e.type == "deadline.overdue" for e in evs), within=90)
            alerts = [(e.type, e.subject) for e in found if e.type in ALERTS]
            assert alerts == [("deadline.overdue", case.case_id)], alerts

            row = await conn.fetchrow(
                "SELECT status, sweep_failures, sweep_error, next_fire_at FROM timers "
                "WHERE id = $1", broken)
            assert row["status"] == "pending"
            assert row["sweep_failures"] == 1
            assert row["sweep_error"].startswith("OverflowError")
            first_wait = row["next_fire_at"] - datetime.now(UTC)
            assert first_wait.total_seconds() > 0
            assert await _parked_total(http) == parked_before + 1

            # When its time comes it is tried again, fails again, and waits longer.
            await conn.execute("UPDATE timers SET next_fire_at = now() - interval '1 hour' "
                               "WHERE id = $1", broken)

            async def parked_twice() -> asyncpg.Record | None:
                r = await conn.fetchrow("SELECT sweep_failures, next_fire_at FROM timers "
                                        "WHERE id = $1", broken)
                return r if r["sweep_failures"] == 2 else None

            again = await eventually(parked_twice, within=30, what="a second attempt")
            assert again["next_fire_at"] - datetime.now(UTC) > first_wait * 1.5
    finally:
        await conn.execute("DELETE FROM timers WHERE case_id = $1", broken_case)
        await conn.close()


# The database refuses the outbox row of one case's alert (a stand-in for any write refused
# for one timer's data). The sweep runs here, alone on a scratch copy of the tables, so that
# the three timers are claimed in one batch for certain.
_REFUSE = """
CREATE FUNCTION refuse_alert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.key = 'refused' THEN
        RAISE EXCEPTION 'refused for the test' USING ERRCODE = '22023';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_alert BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_alert();
"""
NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


async def test_a_batch_the_database_refuses_is_narrowed_down_to_its_timer(stack: Any) -> None:
    schema = f"test_sweep_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(stack.dsns["deadlines"])
    pool = None
    try:
        await conn.execute(f"CREATE SCHEMA {schema}; SET search_path = {schema}")
        for stmt in [*statements(DDL), *statements(PARKING_DDL), *statements(HEARING_DDL),
                     *statements(OUTBOX_DDL)]:
            await conn.execute(stmt)
        await conn.execute(_REFUSE)
        overdue_since_2025 = _BROKEN.replace("'0001-01-02'", "'2025-01-02'")
        for case in ("good-1", "refused", "good-2"):
            await conn.execute(overdue_since_2025, case, uuid.uuid4())
        pool = await asyncpg.create_pool(stack.dsns["deadlines"], min_size=1, max_size=2,
                                         server_settings={"search_path": schema})
        policy = Policy(CountingMode.calendar_roll_forward, (7, 3), timedelta(0))
        sweep = Sweep(pool, FixedClock(), policy, "test.deadline.events", batch=10,
                      backoff=Backoff(timedelta(minutes=1), timedelta(hours=1)))

        assert await sweep.once() == 3
        assert sorted(r["key"] for r in await conn.fetch("SELECT key FROM outbox")) == [
            "good-1", "good-2"]
        timers = {r["case_id"]: r for r in await conn.fetch(
            "SELECT case_id, status, sweep_failures, sweep_error, next_fire_at FROM timers")}
        assert [timers[c]["status"] for c in ("good-1", "good-2")] == ["overdue", "overdue"]
        refused = timers["refused"]
        assert (refused["status"], refused["sweep_failures"]) == ("pending", 1)
        assert refused["sweep_error"].startswith("InvalidParameterValueError")
        assert refused["next_fire_at"] == NOW + timedelta(minutes=1)
        assert await sweep.once() == 0  # it waits for its retry; nothing else is left
    finally:
        if pool is not None:
            await pool.close()
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()
