"""Statistics benchmarks (needs the local stack): prints figures.

1. Events applied per second by one instance: a burst of synthetic lifecycles (year 2900,
   tracking numbers XF-BENCH-…) produced onto the live topics, timed until the running service
   has applied every one; and the write path alone (store.Projector, batches of 500, no Kafka).
2. Summary and breakdown latency, p50/p95/max, at 5,000,000 cases: a projection generated
   server-side (INSERT … SELECT over generate_series, then the aggregates built from the facts
   with GROUPING SETS) in its own schema, served over HTTP by the service's own handlers
   (StatsApi) on a pool pinned to that schema, and dropped afterwards.
3. Rebuild speed: ``xf stats rebuild`` (no swap) replaying every topic into a fresh schema.

    python -m benchmarks.statistics [--cases 5000000] [--queries 400] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from aiokafka import AIOKafkaProducer

from services.statistics.api import StatsApi
from services.statistics.config import StatisticsSettings
from services.statistics.main import projector_for
from services.statistics.reader import Reader, load_unit_names
from services.statistics.rebuild import create_projection, drop_schema, rebuild
from services.statistics.schema import COUNT_COLUMNS, fresh_projection_ddl
from shared.domain.schemas import STEP_TYPES, CaseAssigned, CaseRegistered, DeadlineOverdue
from shared.domain.vocab import default_vocabulary
from shared.platform.auth import load_tokens
from shared.platform.clock import SystemClock
from shared.platform.events import Envelope, encode, envelope_for
from shared.platform.migrations import statements
from shared.platform.pipeline import Delivered
from shared.platform.topics import CASE_EVENTS, DEADLINE_EVENTS, ROUTING_EVENTS
from shared.platform.web import create_web_app
from shared.tools.stack import control
from shared.tools.stack.layout import Layout
from shared.tools.testing.helpers import eventually

VOCAB = default_vocabulary()
SETTINGS = StatisticsSettings()
UNITS = [u for u in load_unit_names(SETTINGS.routing_rules_file) if u != "unassigned"]
TOKEN = "dev-staff-token-0000000000000001"
BENCH_SCHEMA = "stats_bench"


def _lifecycle(rng: random.Random, start: datetime) -> list[tuple[str, Envelope]]:
    case_id = str(uuid.uuid4())
    received = start + timedelta(seconds=rng.randrange(300 * 86400))
    out: list[tuple[str, Envelope]] = []

    def emit(topic: str, data: Any, at: datetime) -> None:
        out.append((topic, envelope_for(data, subject=case_id, source="bench", time=at)))

    emit(CASE_EVENTS.name(), CaseRegistered(
        case_id=case_id, tracking_no=f"XF-BENCH-{case_id[:8]}",
        channel=rng.choice(VOCAB.channels.codes), jurisdiction=rng.choice(
            VOCAB.jurisdictions.codes), category=rng.choice(VOCAB.categories.codes),
        received_at=received, reachable=rng.random() < 0.7), received)
    emit(ROUTING_EVENTS.name(), CaseAssigned(case_id=case_id, unit=rng.choice(UNITS),
                                             assignment_version=1, rule_id="bench",
                                             rule_version=1, assigned_at=received), received)
    at = received
    for n, action in enumerate(("accept", "reply", "close", "feedback", "rate"), start=2):
        at += timedelta(days=rng.uniform(1, 20))
        extra = {"rating": "satisfied"} if action == "rate" else {}
        emit(CASE_EVENTS.name(), STEP_TYPES[action](case_id=case_id, at=at, status=action,
                                                   previous_status="x", sequence=n, **extra),
             at)
    if rng.random() < 0.2:
        emit(DEADLINE_EVENTS.name(), DeadlineOverdue(case_id=case_id, kind="handling",
                                                     due_date=at.date(), at=at), at)
    return out


async def live_apply_rate(dsn: str, bootstrap: str, cases: int) -> tuple[int, float]:
    rng = random.Random(11)
    start = datetime(2900, 1, 1, tzinfo=UTC)
    events = [e for _ in range(cases) for e in _lifecycle(rng, start)]
    ids = [uuid.UUID(env.id) for _, env in events]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True,
                                linger_ms=10)
    conn = await asyncpg.connect(dsn)
    await producer.start()
    try:
        began = time.perf_counter()
        futures = [await producer.send(t, encode(e), key=e.subject.encode()) for t, e in events]
        await asyncio.gather(*futures)

        async def applied() -> bool:
            n = await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id = ANY($1)", ids)
            return bool(n == len(ids))

        await eventually(applied, within=600, every=0.2, what="the burst to be applied")
        return len(events), time.perf_counter() - began
    finally:
        await producer.stop()
        await conn.close()


async def projector_apply_rate(dsn: str, cases: int) -> tuple[int, float]:
    rng = random.Random(12)
    start = datetime(2900, 1, 1, tzinfo=UTC)
    events = [e for _ in range(cases) for e in _lifecycle(rng, start)]
    batch = [Delivered(env, topic, 0, i) for i, (topic, env) in enumerate(events)]
    projector = projector_for(SETTINGS)
    conn = await asyncpg.connect(dsn)
    schema = "stats_bench_apply"
    try:
        await create_projection(conn, schema)
        began = time.perf_counter()
        for i in range(0, len(batch), 500):
            async with conn.transaction():
                await projector.apply_batch(conn, batch[i:i + 500])
        return len(batch), time.perf_counter() - began
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


def _array(values: tuple[str, ...] | list[str]) -> str:
    return "(ARRAY[" + ", ".join(f"'{v}'" for v in values) + "])"


_FACTS = """
INSERT INTO case_fact (case_id, registered, duplicate, channel, jurisdiction, category,
    received_at, reachable, unit, unit_version, counted, r_day, unit_key, e_closed, on_time,
    eligible, e_feedback, e_rated, rating_class, e_overdue, overdue_unit_key)
SELECT 'bench-' || g, true, false, ch, ju, ca, r_at, reach, u, 1, true,
       (r_at AT TIME ZONE 'Asia/Shanghai')::date, u, e_closed,
       e_closed IS NOT NULL AND p_on < 0.8, e_closed IS NOT NULL AND reach,
       CASE WHEN e_closed IS NOT NULL AND reach AND p_fb < 0.8 THEN e_closed + fb_after END,
       CASE WHEN e_closed IS NOT NULL AND p_fb < 0.4 THEN e_closed + fb_after + rate_after END,
       rating, CASE WHEN p_od < 0.15 THEN r_at + od_after END, u
FROM (
    SELECT g, {chs}[1 + floor(random() * {nch})::int] AS ch,
           {jus}[1 + floor(random() * {nju})::int] AS ju,
           {cas}[1 + floor(random() * {nca})::int] AS ca,
           {units}[1 + floor(random() * {nu})::int] AS u,
           timestamptz '2016-01-01 00:00+08' + random() * interval '3653 days' AS r_at,
           random() < 0.7 AS reach, random() AS p_on, random() AS p_fb, random() AS p_od,
           floor(random() * 3)::smallint AS rating,
           random() * interval '5 days' AS fb_after, random() * interval '10 days' AS rate_after,
           interval '16 days' + random() * interval '100 days' AS od_after,
           CASE WHEN random() < 0.85 THEN interval '1 hour' + random() * interval '120 days'
           END AS close_after
    FROM generate_series(1, $1) AS g
) AS b, LATERAL (SELECT CASE WHEN b.r_at + b.close_after < timestamptz '2026-11-01 00:00+08'
                        THEN b.r_at + b.close_after END AS e_closed) AS c
"""

_LOCAL = "({0} AT TIME ZONE 'Asia/Shanghai')::date"
_ZERO = ["0"] * len(COUNT_COLUMNS)


def _point(column: str, counts: dict[int, str], unit: str = "unit_key") -> str:
    values = [counts.get(i, "0") for i in range(len(COUNT_COLUMNS))]
    return (f"SELECT r_day, channel, jurisdiction, category, {unit} AS unit, "
            f"{_LOCAL.format(column)} AS e_day, {', '.join(values)} FROM case_fact "
            f"WHERE counted AND {column} IS NOT NULL")


_POINTS = " UNION ALL ".join([
    _point("received_at", {0: "1"}),
    _point("e_closed", {1: "1", 2: "on_time::int", 3: "eligible::int"}),
    _point("e_feedback", {4: "1"}),
    _point("e_rated", {5: "1", 6: "(rating_class = 2)::int", 7: "(rating_class = 1)::int"}),
    _point("e_overdue", {8: "1"}, "overdue_unit_key"),
])
_SUMS = ", ".join(f"sum({c})" for c in COUNT_COLUMNS)
_CUBE_FINEST = f"""
INSERT INTO cube (gs, k, rl, rb, el, eb, {", ".join(COUNT_COLUMNS)})
SELECT CASE WHEN GROUPING(channel) = 0 THEN 1 WHEN GROUPING(jurisdiction) = 0 THEN 2
            WHEN GROUPING(category) = 0 THEN 3 WHEN GROUPING(unit) = 0 THEN 4 ELSE 0 END,
       coalesce(channel, jurisdiction, category, unit, ''), 0, r_day, 0, e_day, {_SUMS}
FROM ({_POINTS}) AS p({", ".join(["r_day", "channel", "jurisdiction", "category", "unit",
                                   "e_day", *COUNT_COLUMNS])})
GROUP BY GROUPING SETS ((r_day, e_day), (channel, r_day, e_day), (jurisdiction, r_day, e_day),
                        (category, r_day, e_day), (unit, r_day, e_day))
"""
_CUBE_LEVELS = f"""
INSERT INTO cube (gs, k, rl, rb, el, eb, {", ".join(COUNT_COLUMNS)})
SELECT gs, k, l.rl,
       CASE WHEN l.rl = 0 THEN rb ELSE date_trunc('month', rb::timestamp)::date END,
       l.el, CASE WHEN l.el = 0 THEN eb ELSE date_trunc('month', eb::timestamp)::date END,
       {_SUMS}
FROM cube, (VALUES (0, 1), (1, 0), (1, 1)) AS l(rl, el)
WHERE cube.rl = 0 AND cube.el = 0
GROUP BY 1, 2, 3, 4, 5, 6
"""
_DIM_SETS = [("channel", "jurisdiction"), ("channel", "category"), ("jurisdiction", "category"),
             ("channel", "unit_key"), ("jurisdiction", "unit_key"), ("category", "unit_key"),
             ("channel", "jurisdiction", "category"), ("channel", "jurisdiction", "unit_key"),
             ("channel", "category", "unit_key"), ("jurisdiction", "category", "unit_key")]
_BITS = {"channel": 1, "jurisdiction": 2, "category": 4, "unit_key": 8}
# In the generated data a case's overdue unit is its unit, so month totals come straight from
# the facts: every count of a case is effective by now.
_MONTH_TOTALS = f"""
INSERT INTO month_totals (dims, channel, jurisdiction, category, unit, rb,
                          {", ".join(COUNT_COLUMNS)})
SELECT {" + ".join(f"(CASE WHEN GROUPING({c}) = 0 THEN {b} ELSE 0 END)"
                   for c, b in _BITS.items())},
       coalesce(channel, ''), coalesce(jurisdiction, ''), coalesce(category, ''),
       coalesce(unit_key, ''), rb,
       count(*), count(e_closed), count(*) FILTER (WHERE on_time),
       count(*) FILTER (WHERE eligible), count(e_feedback), count(e_rated),
       count(*) FILTER (WHERE e_rated IS NOT NULL AND rating_class = 2),
       count(*) FILTER (WHERE e_rated IS NOT NULL AND rating_class = 1), count(e_overdue)
FROM (SELECT *, date_trunc('month', r_day::timestamp)::date AS rb FROM case_fact
      WHERE counted) AS f
GROUP BY GROUPING SETS ({", ".join("(rb, " + ", ".join(d) + ")" for d in _DIM_SETS)})
"""


async def load_projection(dsn: str, cases: int) -> float:
    """Generate ``cases`` cases and their aggregates in schema stats_bench; return seconds."""
    began = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE")
        await conn.execute(f"CREATE SCHEMA {BENCH_SCHEMA}")
        await conn.execute(f"SET search_path TO {BENCH_SCHEMA}")
        await conn.execute("SET work_mem = '512MB'")
        ddl = statements(fresh_projection_ddl())
        for stmt in ddl:  # tables first, indexes after the load
            if not stmt.lstrip().upper().startswith("CREATE INDEX"):
                await conn.execute(stmt)
        await conn.execute(_FACTS.format(
            chs=_array(VOCAB.channels.codes), nch=len(VOCAB.channels.codes),
            jus=_array(VOCAB.jurisdictions.codes), nju=len(VOCAB.jurisdictions.codes),
            cas=_array(VOCAB.categories.codes), nca=len(VOCAB.categories.codes),
            units=_array(UNITS), nu=len(UNITS)), cases)
        print(f"  facts: {cases} cases in {time.perf_counter() - began:.0f}s", flush=True)
        await conn.execute(_CUBE_FINEST)
        await conn.execute(_CUBE_LEVELS)
        await conn.execute(_MONTH_TOTALS)
        await conn.execute("""
            INSERT INTO rmonth_max SELECT date_trunc('month', r_day::timestamp)::date,
                max(greatest(received_at, e_closed, e_feedback, e_rated, e_overdue))
            FROM case_fact GROUP BY 1""")
        await conn.execute("""
            INSERT INTO totals SELECT jurisdiction, category, count(*),
                count(*) FILTER (WHERE e_closed IS NOT NULL) FROM case_fact GROUP BY 1, 2""")
        print(f"  aggregates: {await conn.fetchval('SELECT count(*) FROM cube')} cube rows "
              f"at {time.perf_counter() - began:.0f}s", flush=True)
        for stmt in ddl:
            if stmt.lstrip().upper().startswith("CREATE INDEX"):
                await conn.execute(stmt)
        await conn.execute("VACUUM ANALYZE case_fact")
        await conn.execute("VACUUM ANALYZE cube")
    finally:
        await conn.close()
    return time.perf_counter() - began


def _random_query(rng: random.Random, breakdown: bool) -> dict[str, str]:
    year = rng.randint(2016, 2025)
    kind = rng.choice(["year", "quarter", "month", "range", "all"])
    if kind == "year":
        first, last = f"{year}-01-01", f"{year}-12-31"
    elif kind == "quarter":
        q = rng.randint(1, 4)
        first = f"{year}-{3 * q - 2:02d}-01"
        last = f"{year}-{3 * q:02d}-{30 if q in (2, 3) else 31}"
    elif kind == "month":
        m = rng.randint(1, 12)
        first, last = f"{year}-{m:02d}-01", f"{year}-{m:02d}-28"
    elif kind == "range":
        a = datetime(year, 1, 1) + timedelta(days=rng.randrange(300))
        b = a + timedelta(days=rng.randrange(10, 200))
        first, last = a.date().isoformat(), b.date().isoformat()
    else:
        first, last = "2016-01-01", "2025-12-31"
    params = {"from": first, "to": last}
    as_of = rng.random()
    if as_of < 0.3:  # a past instant in the middle of a day, near the period's end
        moment = datetime.fromisoformat(last).replace(tzinfo=UTC) + timedelta(
            days=rng.randrange(0, 60), seconds=rng.randrange(86400))
        params["as_of"] = moment.isoformat()
    elif as_of < 0.5:
        params["as_of"] = last  # the end of the period's last day, as reports use
    filters = rng.choices([0, 1, 2, 3], weights=[5, 3, 1, 1])[0] if not breakdown else (
        rng.choices([0, 1], weights=[7, 3])[0])
    for dim in rng.sample(["channel", "jurisdiction", "category"], filters):
        terms = {"channel": VOCAB.channels, "jurisdiction": VOCAB.jurisdictions,
                 "category": VOCAB.categories}[dim]
        params[dim] = rng.choice(terms.codes)
    if breakdown:
        params["by"] = rng.choice(["jurisdiction", "category", "channel", "unit", "month"])
    return params


async def measure_latency(dsn: str, queries: int) -> dict[str, list[float]]:
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=4,
                                     server_settings={"search_path": BENCH_SCHEMA})
    app = create_web_app(load_tokens(SETTINGS.tokens_file), readiness=_ready)
    units = load_unit_names(SETTINGS.routing_rules_file)
    StatsApi(Reader(pool, VOCAB, units), SystemClock(), VOCAB).install(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rng = random.Random(5)
    timings: dict[str, list[float]] = {"summary": [], "summary, filtered": [],
                                       "breakdown": [], "breakdown, filtered": []}
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            for n in range(queries + 20):
                breakdown = n % 2 == 1
                params = _random_query(rng, breakdown)
                path = "/v1/stats/breakdown" if breakdown else "/v1/stats/summary"
                began = time.perf_counter()
                async with http.get(f"http://127.0.0.1:{port}{path}", params=params) as resp:
                    await resp.read()
                    assert resp.status == 200, (params, await resp.text())
                elapsed = (time.perf_counter() - began) * 1000
                if n >= 20:  # the first queries warm caches and prepared statements
                    filtered = any(k in params for k in ("channel", "jurisdiction", "category"))
                    name = ("breakdown" if breakdown else "summary") + (
                        ", filtered" if filtered else "")
                    timings[name].append(elapsed)
    finally:
        await runner.cleanup()
        await pool.close()
    return timings


async def _ready() -> dict[str, bool]:
    return {"bench": True}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=5_000_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--live-cases", type=int, default=3000)
    parser.add_argument("--keep", action="store_true", help="keep the stats_bench schema")
    parser.add_argument("--skip-rebuild", action="store_true")
    args = parser.parse_args()
    layout = Layout()
    dsn = control.dsns(layout)["statistics"]

    print("statistics benchmark")
    n, seconds = await projector_apply_rate(dsn, 5000)
    print(f"write path (Projector, batches of 500, no Kafka): {n} events in {seconds:.1f}s "
          f"= {n / seconds:,.0f} events/s")
    n, seconds = await live_apply_rate(dsn, layout.bootstrap, args.live_cases)
    print(f"live service, one instance (Kafka → faust → projection): {n} events in "
          f"{seconds:.1f}s = {n / seconds:,.0f} events/s")

    print(f"loading {args.cases:,} cases into schema {BENCH_SCHEMA} ...", flush=True)
    seconds = await load_projection(dsn, args.cases)
    print(f"  loaded in {seconds:.0f}s")
    try:
        timings = await measure_latency(dsn, args.queries)
    finally:
        if not args.keep:
            await drop_schema(dsn, BENCH_SCHEMA)
    print(f"latency over HTTP at {args.cases:,} cases ({args.queries} random queries: "
          "years, quarters, months, ranges, all; as_of now / mid-day past / end of day):")
    every: list[float] = []
    for name, values in timings.items():
        every += values
        if values:
            print(f"  {name:<20} n={len(values):>4}  p50 {statistics.median(values):6.1f} ms  "
                  f"p95 {_pct(values, 0.95):6.1f} ms  max {max(values):6.1f} ms")
    print(f"  {'all':<20} n={len(every):>4}  p50 {statistics.median(every):6.1f} ms  "
          f"p95 {_pct(every, 0.95):6.1f} ms  max {max(every):6.1f} ms")

    if not args.skip_rebuild:
        result = await rebuild(dsn, layout.bootstrap, projector_for(SETTINGS),
                               say=lambda _line: None)
        await drop_schema(dsn, result.schema)
        print(f"rebuild (replay every topic into a fresh schema): {result.events:,} events in "
              f"{result.seconds:.1f}s = {result.events_per_second:,.0f} events/s")


if __name__ == "__main__":
    asyncio.run(main())
