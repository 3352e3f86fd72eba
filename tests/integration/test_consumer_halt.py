"""Finding 1 and the dead-letter policy, through a real routing process and the real broker: a
consumer that halts (too much poison in a row) acknowledges nothing it has not applied — after
a restart the events behind the poison are applied, and the poison is parked only once."""

from __future__ import annotations

import signal
import uuid

import aiohttp
import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

from shared.platform.topics import CASE_EVENTS, DEAD_LETTERS, ROUTING_EVENTS
from shared.tools.stack.layout import PORT_OFFSET
from shared.tools.testing.helpers import eventually
from shared.tools.testing.instances import ServiceProcess
from tests.integration.test_routing_scaling import registered

POISON = 6


async def test_a_halted_consumer_commits_nothing_it_did_not_apply(stack) -> None:  # type: ignore[no-untyped-def]
    prefix = f"xinfang.test.halt.{uuid.uuid4().hex[:8]}"
    topic = CASE_EVENTS.name(prefix)
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(spec.name(prefix), 1, 1) for spec in
                               (CASE_EVENTS, ROUTING_EVENTS, DEAD_LETTERS["routing"])])
    good = [str(uuid.uuid4()) for _ in range(2)]
    conn = await asyncpg.connect(stack.dsns["routing"])

    def instance(limit: int) -> ServiceProcess:
        return ServiceProcess(stack.layout, "routing", port=18292 + PORT_OFFSET,
                              name="routing-halt-test",
                              env={"XF_TOPIC_PREFIX": prefix,
                                   "XF_DEAD_LETTER_MAX_CONSECUTIVE": str(limit)})

    async def parked() -> int:
        return int(await conn.fetchval("SELECT count(*) FROM parked WHERE topic = $1", topic))

    async def assigned() -> int:
        return int(await conn.fetchval(
            "SELECT count(*) FROM assignments WHERE case_id = ANY($1::uuid[])",
            [uuid.UUID(c) for c in good]))

    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for i in range(POISON):
            await producer.send_and_wait(topic, key=b"k", value=f"not json {i}".encode())
        for i, case_id in enumerate(good):
            await producer.send_and_wait(topic, key=case_id.encode(),
                                         value=registered(case_id, None, i))
        strict = instance(limit=3)
        await strict.start()
        async with aiohttp.ClientSession() as http:
            async def halted() -> bool:
                assert strict.proc is not None and strict.proc.returncode is None
                try:
                    async with http.get(f"{strict.base}/healthz") as r:
                        return r.status == 503 and (await r.json())["checks"]["consumer"] is False
                except aiohttp.ClientError:
                    return False
            await eventually(halted, within=90, what="the consumer to halt")
            async with http.get(f"{strict.base}/readyz") as r:
                assert r.status == 503
        assert await assigned() == 0
        await strict.stop(signal.SIGTERM)
        committed = await admin.list_consumer_group_offsets(f"{prefix}-routing")
        offset = committed.get(TopicPartition(topic, 0))
        assert offset is None or offset.offset < POISON + len(good), committed

        lenient = instance(limit=100)
        await lenient.start()
        try:
            await eventually(lambda: _equals(assigned(), len(good)), within=90,
                             what="the events behind the poison applied after the restart")
        finally:
            await lenient.stop()
        assert await parked() == POISON  # redelivered, not parked again
        assert await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE topic = $1", DEAD_LETTERS["routing"].name(prefix)
        ) == POISON
    finally:
        await producer.stop()
        await conn.execute("DELETE FROM outbox WHERE topic LIKE $1", f"{prefix}.%")
        await conn.close()
        await admin.delete_topics([spec.name(prefix) for spec in
                                   (CASE_EVENTS, ROUTING_EVENTS, DEAD_LETTERS["routing"])])
        await admin.close()


async def _equals(value: object, expected: int) -> bool:
    return await value == expected  # type: ignore[misc]
