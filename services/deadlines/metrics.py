"""Metrics of the deadlines service, and the gauges only one instance exports.

The gauges `xinfang_deadlines_overdue_open` and `xinfang_deadlines_due_within_7d_open` count
open timers of the bureau's duties (windows excluded: they lapse, they are never overdue) from
the shared database, by unit, jurisdiction and kind. Every instance would count the same rows,
so only the instance holding a PostgreSQL advisory lock (the gauge leader) exports them; the
others export no sample at all. A leader that dies drops its connection and with it the lock,
and another instance takes over within one gauge interval. Dashboards and alerts may take
`max` across instances (as the provided dashboard and alert rule do); during a hand-over two
instances can briefly both export, which `max` absorbs and `sum` would not.
`xinfang_deadlines_gauge_leader` (1 on the leader, 0 elsewhere) shows who counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import asyncpg
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.domain.limits import local_date
from shared.platform.clock import Clock
from shared.platform.logging import get_logger

log = get_logger(__name__)

GAUGE_LOCK = (0x5847, 0)  # "XG"
UNASSIGNED = "unassigned"
UNKNOWN = "unknown"

TIMERS_CREATED = Counter("xinfang_deadlines_timers_created_total",
                         "Timers created from case and routing events")
RESCHEDULED = Counter("xinfang_deadlines_rescheduled_total",
                      "Due dates moved, by cause (events: an extension; calendar: an overlay "
                      "change)", ["cause"])
WITHDRAWN = Counter("xinfang_deadlines_overdue_withdrawn_total",
                    "Overdue alerts withdrawn because later facts met the limit or moved it")
ALERTS = Counter("xinfang_deadlines_alerts_total",
                 "deadline.warning and deadline.overdue events written by this instance's sweep",
                 ["type", "kind"])
LAPSED = Counter("xinfang_deadlines_windows_lapsed_total",
                 "Objection, review and re-review request windows that ended unused", ["kind"])
PARKED = Counter("xinfang_deadlines_sweep_parked_total",
                 "Timers the sweep could not handle, set aside with their error to be tried "
                 "again later (the alerts behind them go on)", ["kind"])
SWEEP_SECONDS = Histogram("xinfang_deadlines_sweep_batch_seconds",
                          "Time of one sweep transaction that claimed due timers",
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
LEADER = Gauge("xinfang_deadlines_gauge_leader",
               "1 if this instance computes the open-timer gauges, else 0")

_COUNT = """
SELECT coalesce(c.unit, $2) AS unit, coalesce(c.jurisdiction, $3) AS jurisdiction, t.kind,
       count(*) FILTER (WHERE t.status = 'overdue') AS overdue,
       count(*) FILTER (WHERE t.status <> 'overdue') AS due_soon
FROM timers t LEFT JOIN cases c ON c.case_id = t.case_id
WHERE t.status IN ('pending', 'warned', 'overdue') AND t.due_date <= $1 AND NOT t.is_window
GROUP BY 1, 2, 3
"""

Row = tuple[str, str, str, int, int]


class OpenTimerGauges(Collector):
    """Exports the leader's last count; nothing at all on the other instances."""

    def __init__(self) -> None:
        self.rows: list[Row] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        rows = self.rows
        if rows is None:
            return
        labels = ["unit", "jurisdiction", "kind"]
        overdue = GaugeMetricFamily(
            "xinfang_deadlines_overdue_open",
            "Open deadline timers past their due date (one instance exports; take max)",
            labels=labels)
        due_soon = GaugeMetricFamily(
            "xinfang_deadlines_due_within_7d_open",
            "Open deadline timers due within 7 days, not yet overdue (one instance exports; "
            "take max)", labels=labels)
        for unit, jurisdiction, kind, n_overdue, n_soon in rows:
            overdue.add_metric([unit, jurisdiction, kind], n_overdue)
            due_soon.add_metric([unit, jurisdiction, kind], n_soon)
        yield overdue
        yield due_soon


GAUGES = OpenTimerGauges()
REGISTRY.register(GAUGES)


async def count_open(conn: asyncpg.Connection, clock: Clock) -> list[Row]:
    horizon = local_date(clock.now()) + timedelta(days=7)
    rows = await conn.fetch(_COUNT, horizon, UNASSIGNED, UNKNOWN)
    return [(r["unit"], r["jurisdiction"], r["kind"], r["overdue"], r["due_soon"])
            for r in rows]


async def run_gauges(pool: asyncpg.Pool, clock: Clock, interval: float,
                     gauges: OpenTimerGauges = GAUGES) -> None:
    """Try to lead; while leading, recount every `interval` seconds."""
    conn: asyncpg.Connection | None = None
    leading = False
    try:
        while True:
            try:
                if conn is None:
                    conn = await pool.acquire()
                if not leading:
                    leading = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)",
                                                       *GAUGE_LOCK))
                    if leading:
                        log.info("gauge_leader_acquired")
                if leading:
                    gauges.rows = await count_open(conn, clock)
                else:
                    gauges.rows = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database away: stop exporting, let go, try again
                log.warning("gauge_count_failed", error=f"{type(exc).__name__}: {exc}")
                gauges.rows = None
                leading = False
                if conn is not None:
                    await pool.release(conn)  # terminates a broken connection
                    conn = None
            LEADER.set(1 if leading else 0)
            await asyncio.sleep(interval)
    finally:
        gauges.rows = None
        LEADER.set(0)
        if conn is not None:
            if leading:
                try:
                    await conn.execute("SELECT pg_advisory_unlock($1, $2)", *GAUGE_LOCK)
                except Exception:
                    pass
            await pool.release(conn)
