"""Routing throughput: 100,000 ``case.registered`` events pre-filled on a topic of the
benchmark's own, routed (1) by one routing instance (faust, the real service process) and
(2) by a bare aiokafka consumer calling the same batch handler (the same database writes:
inbox, petitioner locks, petitions, assignments, outbox). Prints both rates and the ratio.

The instance runs with its own topic prefix, so nothing reaches the shared topics; the rows it
writes into routing's database are deleted between and after the runs.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.routing.config import RoutingSettings
from services.routing.handlers import case_events_policy
from services.routing.main import BATCH_SIZE as BATCH  # what the service takes at once
from services.routing.router import Router
from services.routing.ruleset_store import RuleStore
from shared.domain.schemas import CaseRegistered
from shared.domain.similarity import sketch
from shared.domain.vocab import default_vocabulary
from shared.platform.calendar_versions import CalendarView
from shared.platform.clock import SystemClock
from shared.platform.events import decode, encode, envelope_for
from shared.platform.pipeline import Delivered, Pipeline
from shared.platform.settings import REPO_ROOT
from shared.platform.topics import CASE_EVENTS, DEAD_LETTERS, ROUTING_EVENTS
from shared.tools.stack import control
from shared.tools.stack.layout import Layout

EVENTS = int(os.environ.get("XF_BENCH_EVENTS", "100000"))
SCHOOLS = ("城南实验小学", "永和镇中学", "澄江中学", "白塘小学", "河东小学", "三湖中学", "雩田中学")
PROBLEMS = ("乱收资料费三百元", "教师校外有偿补课", "食堂饭菜质量差价格贵", "校门口交通拥堵",
            "教学楼墙体开裂", "营养餐补助被挪用", "招生划片不公", "代课教师工资拖欠")


def make_events(prefix_key: bytes) -> tuple[list[tuple[bytes, bytes]], list[uuid.UUID]]:
    """A realistic mix: 15% anonymous, repeat petitioners (about 1.7 cases per named one),
    3% collective, 5% about a named unit, texts drawn from a few hundred matters."""
    vocab, rnd = default_vocabulary(), random.Random(7)
    texts = [f"{j}{s}{p}，请求查处。" for j in ("吉安县", "泰和县", "吉州区") for s in SCHOOLS
             for p in PROBLEMS]
    sketches = [sketch(t, prefix_key) for t in texts]
    base = datetime.now(UTC) - timedelta(days=30)
    out, ids = [], []
    for i in range(EVENTS):
        case_id = uuid.uuid4()
        anonymous = rnd.random() < 0.15
        data = CaseRegistered(
            case_id=str(case_id), tracking_no=f"XF-B-{i:06d}",
            channel=rnd.choice(vocab.channels.codes),
            jurisdiction=rnd.choice(vocab.jurisdictions.codes),
            category=rnd.choice(vocab.categories.codes),
            received_at=base + timedelta(seconds=i * 20), anonymous=anonymous,
            petitioner_key=None if anonymous else f"bench-{rnd.randrange(50_000)}",
            signers=rnd.choice((5, 8, 20)) if rnd.random() < 0.03 else 1,
            subject_unit=rnd.choice(("jian_bureau", "finance", "taihe_middle"))
            if rnd.random() < 0.05 else None,
            content_signature=rnd.choice(sketches))
        env = envelope_for(data, subject=str(case_id), source="bench", time=data.received_at)
        out.append((str(case_id).encode(), encode(env)))
        ids.append(case_id)
    return out, ids


async def fill(bootstrap: str, topic: str, events: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20,
                                max_batch_size=1 << 20, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for start in range(0, len(events), 5000):
            futures = [await producer.send(topic, key=k, value=v)
                       for k, v in events[start:start + 5000]]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def applied(conn: asyncpg.Connection, topic: str) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM inbox WHERE topic = $1", topic))


async def until_done(admin: AIOKafkaAdminClient, group: str,
                     task: asyncio.Future[Any] | None = None) -> float:
    """Events per second from the first committed batch to the last, read from the group's
    committed offsets (a cheap broker call: counting rows in the database every moment would
    compete with the run for the same CPUs). Offsets are committed only after the database
    transaction, so a committed event is a routed one."""
    first: tuple[float, int] | None = None
    while True:
        offsets = await admin.list_consumer_group_offsets(group)
        n = sum(max(meta.offset, 0) for meta in offsets.values())
        now = time.perf_counter()
        if first is None and n > 0:
            first = (now, n)
        if n >= EVENTS:
            assert first is not None
            return (n - first[1]) / (now - first[0]) if now > first[0] else float("inf")
        if task is not None and task.done():
            task.result()  # raises what went wrong
        await asyncio.sleep(0.1)


async def run_service(layout: Layout, prefix: str, admin: AIOKafkaAdminClient) -> float:
    env = control.service_env(layout, "routing", control.load_secrets(layout))
    env.update({"XF_HTTP_PORT": str(18990), "XF_INSTANCE_ID": "bench", "XF_TOPIC_PREFIX": prefix,
                "XF_LOG_LEVEL": "WARNING"})
    log = (layout.logs / "routing-bench.log").open("ab")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.routing", env=env, cwd=str(REPO_ROOT), stdout=log,
            stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL)
    finally:
        log.close()  # the child has its own descriptor
    try:
        # faust's group id is the app id: "<prefix>-<service>" (shared.platform.runtime)
        return await until_done(admin, f"{prefix}-routing", asyncio.ensure_future(proc.wait()))
    finally:
        if proc.returncode is None:
            os.kill(proc.pid, signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 60)


async def run_bare(bootstrap: str, dsn: str, prefix: str, admin: AIOKafkaAdminClient
                   ) -> float:
    """The same handler behind a plain aiokafka consumer: batches as large as the service's
    across partitions, one transaction each, offsets committed after it."""
    settings = RoutingSettings()
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)
    assert pool is not None
    pipeline = Pipeline.standalone(pool, case_events_policy(
        Router(SystemClock(), CalendarView(), settings.counting_mode),
        RuleStore(settings.routing_rules_file), ROUTING_EVENTS.name(prefix)),
        service="routing", chunk=BATCH)
    consumer = AIOKafkaConsumer(CASE_EVENTS.name(prefix), bootstrap_servers=bootstrap,
                                group_id=f"{prefix}-bare", enable_auto_commit=False,
                                auto_offset_reset="earliest", max_poll_records=BATCH)

    async def consume() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=BATCH)
            records = [r for rs in batches.values() for r in rs]
            if records:
                await pipeline.apply([Delivered(decode(r.value), r.topic, r.partition,
                                                r.offset) for r in records], [])
                await consumer.commit()

    await consumer.start()
    task = asyncio.ensure_future(consume())
    try:
        return await until_done(admin, f"{prefix}-bare", task)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
        await pool.close()


async def clean(conn: asyncpg.Connection, prefix: str, ids: list[uuid.UUID]) -> None:
    """Wait until every decision is published, then delete what the run wrote."""
    while await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL "  # noqa: ASYNC110
                              "AND topic LIKE $1", f"{prefix}.%"):  # (polling the database)
        await asyncio.sleep(0.5)
    await conn.execute("DELETE FROM outbox WHERE topic LIKE $1", f"{prefix}.%")
    await conn.execute("DELETE FROM inbox WHERE topic = $1", CASE_EVENTS.name(prefix))
    await conn.execute("DELETE FROM assignments WHERE case_id = ANY($1::uuid[])", ids)
    await conn.execute("DELETE FROM petitions WHERE case_id = ANY($1::uuid[])", ids)


async def main() -> None:
    layout = Layout()
    dsn = control.dsns(layout)["routing"]
    prefix = f"xinfang.bench.routing.{uuid.uuid4().hex[:8]}"
    specs = (CASE_EVENTS, ROUTING_EVENTS, DEAD_LETTERS["routing"])
    admin = AIOKafkaAdminClient(bootstrap_servers=layout.bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(s.name(prefix), s.partitions, 1) for s in specs])
    conn = await asyncpg.connect(dsn)
    events, ids = make_events(os.urandom(32))
    try:
        started = time.perf_counter()
        await fill(layout.bootstrap, CASE_EVENTS.name(prefix), events)
        print(f"pre-filled {EVENTS:,} case.registered events on {CASE_EVENTS.name(prefix)} "
              f"({CASE_EVENTS.partitions} partitions) in {time.perf_counter() - started:.1f}s")
        service = await run_service(layout, prefix, admin)
        assert await applied(conn, CASE_EVENTS.name(prefix)) == EVENTS
        print(f"routing service (1 instance, faust): {service:,.0f} events/s")
        await clean(conn, prefix, ids)
        bare = await run_bare(layout.bootstrap, dsn, prefix, admin)
        assert await applied(conn, CASE_EVENTS.name(prefix)) == EVENTS
        print(f"bare aiokafka consumer, same handler: {bare:,.0f} events/s")
        print(f"ratio service / bare: {service / bare:.0%} "
              f"(goal: >= 5,000 events/s and >= 25%)")
        print(f"load average during the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
              "(the stack's PostgreSQL and the other services share them)")
    finally:
        await clean(conn, prefix, ids)
        await conn.close()
        await admin.delete_topics([s.name(prefix) for s in specs])
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
