"""The foundation over the real broker and PostgreSQL: an event produced with aiokafka reaches
a faust agent and its database; roles are fenced to their own database; every service answers
health, readiness and metrics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import aiohttp
import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from shared.domain.schemas import CaseRegistered
from shared.platform.events import encode, envelope_for
from shared.platform.topics import CASE_EVENTS, DEAD_LETTERS
from shared.tools.stack.layout import SERVICES
from shared.tools.testing.helpers import eventually, read_topic


async def _produce(bootstrap: str, topic: str, items: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True,
                                acks="all")
    await producer.start()
    try:
        for key, value in items:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


def _registered(case_id: str) -> bytes:
    now = datetime.now(UTC)
    return encode(envelope_for(
        CaseRegistered(case_id=case_id, tracking_no="XF-TEST", channel="letter",
                       jurisdiction="jizhou", category="fees", received_at=now),
        subject=case_id, source="tests", time=now,
    ))


async def test_event_reaches_faust_agent_and_database(stack) -> None:
    case_id = str(uuid.uuid4())
    value = _registered(case_id)
    event_id = __import__("orjson").loads(value)["id"]
    await _produce(stack.bootstrap, CASE_EVENTS.name(), [(case_id.encode(), value)])
    conn = await asyncpg.connect(stack.dsns["statistics"])
    try:
        row = await eventually(
            lambda: conn.fetchrow("SELECT event_type, topic FROM inbox WHERE event_id = $1",
                                  uuid.UUID(event_id)),
            what="the statistics agent to record the event",
        )
    finally:
        await conn.close()
    assert row["event_type"] == "case.registered"
    assert row["topic"] == CASE_EVENTS.name()


async def test_poison_message_is_dead_lettered_and_the_next_event_applied(stack) -> None:
    case_id = str(uuid.uuid4())
    good = _registered(case_id)
    good_id = __import__("orjson").loads(good)["id"]
    marker = f"not-json-{uuid.uuid4()}".encode()
    await _produce(stack.bootstrap, CASE_EVENTS.name(),
                   [(case_id.encode(), marker), (case_id.encode(), good)])
    dlq = await read_topic(
        stack.bootstrap, DEAD_LETTERS["statistics"].name(),
        until=lambda msgs: any(r.value == marker for r, _ in msgs), within=30,
    )
    record = next(r for r, _ in dlq if r.value == marker)
    headers = dict(record.headers)
    assert headers["origin_topic"] == CASE_EVENTS.name().encode()
    assert headers["reason"] == b"undecodable"
    assert b"not JSON" in headers["error"]
    conn = await asyncpg.connect(stack.dsns["statistics"])
    try:
        await eventually(lambda: conn.fetchval("SELECT 1 FROM inbox WHERE event_id = $1",
                                               uuid.UUID(good_id)),
                         what="the event after the poison message to be applied")
    finally:
        await conn.close()


@pytest.mark.parametrize("own", SERVICES)
async def test_each_role_reaches_only_its_own_database(stack, own: str) -> None:
    own_dsn = stack.dsns[own]
    conn = await asyncpg.connect(own_dsn)
    assert await conn.fetchval("SELECT current_database()") == f"xinfang_{own}"
    await conn.close()
    for other in SERVICES:
        if other == own:
            continue
        foreign = own_dsn.rsplit("/", 1)[0] + f"/xinfang_{other}"
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
            await asyncpg.connect(foreign)


@pytest.mark.parametrize("service", SERVICES)
async def test_service_health_readiness_and_metrics(stack, service: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(stack.url(service, "/healthz")) as resp:
            assert resp.status == 200
        async with http.get(stack.url(service, "/readyz")) as resp:
            body = await resp.json()
            assert resp.status == 200, body
            assert body["checks"] == {**body["checks"], "database": True, "broker": True}
        async with http.get(stack.url(service, "/metrics")) as resp:
            assert resp.status == 404  # not on the public port
        async with http.get(stack.metrics_url(service)) as resp:
            assert resp.status == 200
            text = await resp.text()
            assert "xinfang_http_request_duration_seconds" in text
            assert resp.headers["Content-Type"].startswith("text/plain")
