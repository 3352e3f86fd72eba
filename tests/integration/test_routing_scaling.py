"""Routing under failure: two instances share the partitions and one is killed (SIGKILL) in the
middle of the stream; poison messages go to the dead-letter topic and routing carries on.

The scaling test runs its two instances on topics of its own (``XF_TOPIC_PREFIX``), so that
they are the only two members of their consumer group and the shared topics, which the other
services consume, do not receive 5,000 synthetic cases; the database is the real one.
"""

from __future__ import annotations

import asyncio
import random
import signal
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.domain.schemas import CaseRegistered
from shared.platform.events import encode, envelope_for
from shared.platform.topics import CASE_EVENTS, DEAD_LETTERS, ROUTING_EVENTS
from shared.tools.stack.layout import PORT_OFFSET
from shared.tools.testing.helpers import eventually, read_topic
from shared.tools.testing.instances import ServiceProcess
from shared.tools.testing.tokens import ADMIN, STAFF, bearer

CASES = 5000
PETITIONERS = 1000  # five cases each, on different partitions: the per-petitioner lock is hit
JURISDICTIONS = ("jian", "taihe", "city", "jizhou", "wanan")
CATEGORIES = ("fees", "teacher_pay", "integrity", "campus_safety", "other")

ROUTING_URL = f"http://127.0.0.1:{8082 + PORT_OFFSET}"


def registered(case_id: str, petitioner_key: str | None, i: int, *,
               jurisdiction: str | None = None) -> bytes:
    now = datetime.now(UTC)
    return encode(envelope_for(
        CaseRegistered(case_id=case_id, tracking_no=f"XF-T-{i:06d}", channel="letter",
                       jurisdiction=jurisdiction or JURISDICTIONS[i % len(JURISDICTIONS)],
                       category=CATEGORIES[(i // 5) % len(CATEGORIES)], received_at=now,
                       petitioner_key=petitioner_key, signers=1 + i % 7),
        subject=case_id, source="tests", time=now))


def _instance(stack: Any, prefix: str, n: int) -> ServiceProcess:
    """One routing process on the test's own topics (random port: runs may overlap)."""
    return ServiceProcess(stack.layout, "routing", port=18180 + n + random.randrange(0, 800, 10),
                          name=f"routing-scaling-{n}", env={"XF_TOPIC_PREFIX": prefix})


async def _consumed(instance: ServiceProcess, http: aiohttp.ClientSession, topic: str
                    ) -> float:
    """Events the instance has consumed from ``topic`` (its own /metrics)."""
    return await instance.metric(http, "xinfang_events_consumed_total", f'topic="{topic}"')


async def _assigned(conn: asyncpg.Connection, case_ids: list[uuid.UUID]) -> int:
    return int(await conn.fetchval(
        "SELECT count(*) FROM assignments WHERE case_id = ANY($1::uuid[])", case_ids))


async def _outbox_drained(conn: asyncpg.Connection, prefix: str) -> bool:
    return not await conn.fetchval(
        "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND topic LIKE $1", f"{prefix}.%")


async def test_two_instances_one_killed_every_case_assigned_exactly_once(stack) -> None:
    prefix = f"xinfang.test.routing.{uuid.uuid4().hex[:8]}"
    specs = {s.suffix: s for s in (CASE_EVENTS, ROUTING_EVENTS, DEAD_LETTERS["routing"])}
    topics = {suffix: spec.name(prefix) for suffix, spec in specs.items()}
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topics[suffix], spec.partitions, 1)
                               for suffix, spec in specs.items()])
    instances = [_instance(stack, prefix, n) for n in (1, 2)]
    conn = await asyncpg.connect(stack.dsns["routing"])
    case_ids = [uuid.uuid4() for _ in range(CASES)]
    keys = [f"test-{uuid.uuid4().hex}" for _ in range(PETITIONERS)]
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, enable_idempotence=True,
                                linger_ms=5)
    await producer.start()
    try:
        for instance in instances:
            await instance.start()
        async with aiohttp.ClientSession() as http:
            async def feed(lo: int, hi: int, pace: float) -> None:
                for start in range(lo, hi, 100):
                    batch = [await producer.send(
                        topics[CASE_EVENTS.suffix], key=str(case_ids[i]).encode(),
                        value=registered(str(case_ids[i]), keys[i % PETITIONERS], i))
                        for i in range(start, min(start + 100, hi))]
                    await asyncio.gather(*batch)
                    await asyncio.sleep(pace)

            # A trickle until both instances are consuming (each owns partitions) …
            sent = 0

            async def both_consuming() -> bool:
                nonlocal sent
                counts = [await _consumed(i, http, topics[CASE_EVENTS.suffix])
                          for i in instances]
                if all(c > 0 for c in counts):
                    return True
                await feed(sent, sent + 10, 0.0)
                sent += 10
                return False

            await eventually(both_consuming, within=120, every=0.3,
                             what="both instances consuming their partitions")
            assert sent < CASES // 2
            # … then the rest at a steady pace, and one instance killed halfway through.
            rest = asyncio.create_task(feed(sent, CASES, 0.05))
            await eventually(lambda: _at_least(conn, case_ids, CASES // 2), within=120,
                             every=0.02, what="half of the cases assigned")
            await instances[0].stop(signal.SIGKILL)
            killed_at = await conn.fetchval("SELECT now()")
            assert not rest.done(), "the kill must land while cases are still arriving"
            await rest
            # The survivor takes the dead instance's partitions once the group notices.
            await eventually(lambda: _at_least(conn, case_ids, CASES), within=240, every=0.5,
                             what="every case assigned after the kill")
        per_case = await conn.fetch(
            """SELECT case_id, count(*) AS n, max(assignment_version) AS v FROM assignments
               WHERE case_id = ANY($1::uuid[]) GROUP BY case_id""", case_ids)
        assert len(per_case) == CASES, "no case lost"
        assert {(r["n"], r["v"]) for r in per_case} == {(1, 1)}, "one assignment per case"
        # The survivor applied events of every partition after the kill: it took the dead
        # instance's partitions over.
        assert await conn.fetchval(
            """SELECT count(DISTINCT partition) FROM inbox
               WHERE topic = $1 AND applied_at > $2""",
            topics[CASE_EVENTS.suffix], killed_at) == CASE_EVENTS.partitions
        await eventually(lambda: _outbox_drained(conn, prefix), within=60,
                         what="every decision published")
        wanted = {str(c) for c in case_ids}

        def all_there(msgs: list[tuple[Any, Any]]) -> bool:
            return len({e.subject for _, e in msgs if e is not None} & wanted) == CASES

        msgs = await read_topic(stack.bootstrap, topics[ROUTING_EVENTS.suffix], until=all_there,
                                within=60)
        ids_per_case: dict[str, set[str]] = {}
        for _, env in msgs:
            assert env is not None and env.type == "case.assigned"
            ids_per_case.setdefault(env.subject, set()).add(env.id)
        assert set(ids_per_case) == wanted
        # A relay killed between sending and marking sent may send a row again: the same event
        # id, which consumers dedupe. Never a second, different decision.
        assert {len(ids) for ids in ids_per_case.values()} == {1}
    finally:
        await producer.stop()
        for instance in instances:
            await instance.stop()
        # Rows for these topics must all be out before the topics go (a relay would otherwise
        # retry sending to a deleted topic).
        await eventually(lambda: _outbox_drained(conn, prefix), within=60,
                         what="outbox drained before deleting the test topics")
        await conn.execute("DELETE FROM outbox WHERE topic LIKE $1", f"{prefix}.%")
        await conn.close()
        await admin.delete_topics(list(topics.values()))
        await admin.close()


async def _at_least(conn: asyncpg.Connection, case_ids: list[uuid.UUID], n: int) -> bool:
    return await _assigned(conn, case_ids) >= n


async def test_poison_messages_are_dead_lettered_and_later_cases_routed(stack) -> None:
    marker = f"not-json-{uuid.uuid4()}".encode()
    key = str(uuid.uuid4()).encode()
    # A newer producer's version of an event routing knows: skipped, not poison.
    unknown_version = registered(str(uuid.uuid4()), None, 0).replace(
        b"urn:xinfang:case.registered:1", b"urn:xinfang:case.registered:99")
    nowhere = str(uuid.uuid4())  # a jurisdiction no rule knows: the policy refuses it
    good = [str(uuid.uuid4()) for _ in range(3)]
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for value, k in [(marker, key), (unknown_version, key),
                         (registered(nowhere, None, 1, jurisdiction="atlantis"),
                          nowhere.encode()),
                         *[(registered(c, None, i), c.encode()) for i, c in enumerate(good)]]:
            await producer.send_and_wait(CASE_EVENTS.name(), value=value, key=k)
    finally:
        await producer.stop()

    def found(msgs: list[tuple[Any, Any]]) -> bool:
        values = {r.value for r, _ in msgs}
        return marker in values and any(
            dict(r.headers).get("reason") == b"rejected" and nowhere.encode() == r.key
            for r, _ in msgs)

    dlq = await read_topic(stack.bootstrap, DEAD_LETTERS["routing"].name(), until=found,
                           within=60)
    by_value = {r.value: dict(r.headers) for r, _ in dlq}
    assert by_value[marker]["origin_topic"] == CASE_EVENTS.name().encode()
    assert by_value[marker]["reason"] == b"undecodable"
    assert unknown_version not in by_value
    assert [r.value for r, _ in dlq].count(marker) == 1  # written once, through the outbox
    rejected = next(dict(r.headers) for r, _ in dlq if r.key == nowhere.encode())
    assert b"atlantis" in rejected["error"]
    async with aiohttp.ClientSession() as http:
        for case_id in good:
            async def routed(case_id: str = case_id) -> bool:
                async with http.get(f"{ROUTING_URL}/v1/assignments/{case_id}",
                                    headers=bearer(STAFF)) as r:
                    return r.status == 200
            await eventually(routed, within=30, what=f"case {case_id} after the poison routed")
        async with http.get(f"{ROUTING_URL}/v1/assignments/{nowhere}",
                            headers=bearer(STAFF)) as r:
            assert r.status == 404  # the refused case changed nothing
        # The operators' view: parked in routing's database, replay fails again (the rules
        # still know no such jurisdiction) and leaves it parked with the error.
        async with http.get(f"{ROUTING_URL}/v1/deadletters", headers=bearer(ADMIN)) as r:
            assert r.status == 200
            items = (await r.json())["items"]
        parked = [i for i in items if i["reason"] == "rejected" and "atlantis" in i["error"]]
        assert parked, items
        async with http.post(f"{ROUTING_URL}/v1/deadletters/replay", headers=bearer(ADMIN),
                             json={"ids": [parked[-1]["id"]]}) as r:
            assert r.status == 200
            assert (await r.json())["failed"] == 1
        async with http.get(f"{ROUTING_URL}/v1/deadletters", headers=bearer(STAFF)) as r:
            assert r.status == 403
