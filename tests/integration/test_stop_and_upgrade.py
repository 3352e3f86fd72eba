"""A service process stops within its grace period during a database outage (finding 11), and
a rolling upgrade — a newer producer publishing a step type and an event version that today's
consumers do not know — neither dead-letters nor stops anything (finding 5)."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from shared.domain.schemas import CaseRegistered
from shared.platform.events import encode, envelope_for
from shared.platform.topics import CASE_EVENTS
from shared.tools.stack.layout import PORT_OFFSET
from shared.tools.testing.helpers import eventually
from shared.tools.testing.instances import ServiceProcess
from shared.tools.testing.proxy import CuttableProxy

SERVICES = ("routing", "deadlines", "statistics")


async def test_sigterm_during_a_database_outage_stops_within_the_grace(stack) -> None:  # type: ignore[no-untyped-def]
    proxy = CuttableProxy("127.0.0.1", stack.layout.pg_port)
    await proxy.start()
    dsn = stack.dsns["routing"].replace(f":{stack.layout.pg_port}/", f":{proxy.port}/")
    instance = ServiceProcess(stack.layout, "routing", port=18282 + PORT_OFFSET,
                              name="routing-stop-test",
                              env={"XF_DATABASE_URL": dsn, "XF_STOP_GRACE_SECONDS": "5"})
    await instance.start()
    try:
        async with aiohttp.ClientSession() as http:
            await instance.wait_ready(http)
            await proxy.cut()

            async def unready() -> bool:
                async with http.get(f"{instance.base}/readyz") as r:
                    return r.status == 503
            await eventually(unready, within=30, what="unready during the outage")
        assert instance.proc is not None
        started = time.monotonic()
        instance.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(instance.proc.wait(), 45)
        took = time.monotonic() - started
        assert took < 40, f"stop took {took:.1f} s"
        assert code == 0, f"exit code {code}; see {instance.log}"
    finally:
        await instance.stop(signal.SIGKILL)
        await proxy.cut()


def newer_events() -> list[tuple[bytes, bytes]]:
    """What a newer intake might publish: a step type nobody knows yet, and version 2 of
    ``case.registered`` (an upgraded schema) — both well-formed envelopes."""
    now = datetime.now(UTC)
    out = []
    case_id = str(uuid.uuid4())
    hearing = orjson.loads(encode(envelope_for(
        CaseRegistered(case_id=case_id, tracking_no="XF-UPG-1", channel="letter",
                       jurisdiction="jizhou", category="fees", received_at=now),
        subject=case_id, source="tests/newer-intake", time=now)))
    hearing["type"] = "case.site_visited"
    hearing["dataschema"] = "urn:xinfang:case.site_visited:1"
    hearing["data"] = {"case_id": case_id, "at": now.isoformat(), "status": "accepted",
                       "previous_status": "accepted", "sequence": 5}
    out.append((case_id.encode(), orjson.dumps(hearing)))
    other = str(uuid.uuid4())
    v2 = orjson.loads(encode(envelope_for(
        CaseRegistered(case_id=other, tracking_no="XF-UPG-2", channel="letter",
                       jurisdiction="jizhou", category="fees", received_at=now),
        subject=other, source="tests/newer-intake", time=now)))
    v2["dataschema"] = "urn:xinfang:case.registered:2"
    v2["data"]["priority"] = "high"
    out.append((other.encode(), orjson.dumps(v2)))
    return out


async def _metric(http: aiohttp.ClientSession, url: str, name: str, *labels: str) -> float:
    async with http.get(url) as r:
        text = await r.text()
    return sum(float(line.rpartition(" ")[2]) for line in text.splitlines()
               if line.startswith(name + "{") and all(label in line for label in labels))


async def test_a_rolling_upgrade_is_skipped_not_dead_lettered(stack) -> None:  # type: ignore[no-untyped-def]
    parked_before: dict[str, Any] = {}
    for svc in SERVICES:
        conn = await asyncpg.connect(stack.dsns[svc])
        parked_before[svc] = await conn.fetchval("SELECT count(*) FROM parked")
        await conn.close()
    async with aiohttp.ClientSession() as http:
        ignored_before = {svc: await _metric(http, stack.metrics_url(svc),
                                             "xinfang_events_ignored_total")
                          for svc in SERVICES}
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, enable_idempotence=True)
        await producer.start()
        try:
            for key, value in newer_events():
                await producer.send_and_wait(CASE_EVENTS.name(), key=key, value=value)
        finally:
            await producer.stop()
        for svc in SERVICES:
            async def skipped(svc: str = svc) -> bool:
                now = await _metric(http, stack.metrics_url(svc),
                                    "xinfang_events_ignored_total")
                return now >= ignored_before[svc] + 2
            # Generous: a consumer may still be working through an earlier test's backlog.
            await eventually(skipped, within=180, what=f"{svc} to skip both newer events")
            async with http.get(stack.url(svc, "/readyz")) as r:
                assert r.status == 200, await r.text()
            for label in ('type="case.site_visited",version="1"',
                          'type="case.registered",version="2"'):
                assert await _metric(http, stack.metrics_url(svc),
                                     "xinfang_events_ignored_total", label) >= 1
    for svc in SERVICES:
        conn = await asyncpg.connect(stack.dsns[svc])
        assert await conn.fetchval("SELECT count(*) FROM parked") == parked_before[svc]
        await conn.close()
