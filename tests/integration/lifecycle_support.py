"""Driving a case through its lifecycle in tests: submit, assign (as routing would), act."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
from aiokafka import AIOKafkaProducer

from shared.domain.schemas import CaseAssigned
from shared.platform.events import encode, envelope_for
from shared.platform.topics import ROUTING_EVENTS
from shared.tools.testing.helpers import eventually
from shared.tools.testing.tokens import STAFF, bearer, channel_token, unit_token
from tests.integration.intake_support import submission

UNIT = "jizhou_bureau"


async def submit(http: aiohttp.ClientSession, stack: Any, received_at: datetime,
                 **over: Any) -> dict[str, Any]:
    body = submission("letter", received_at=received_at.isoformat(), **over)
    async with http.post(stack.url("intake", "/v1/cases"), json=body,
                         headers=bearer(channel_token("letter"))) as r:
        assert r.status == 201, await r.text()
        return dict(await r.json())


def assignment(case_id: str, *, unit: str = UNIT, version: int = 1000,
               at: datetime | None = None, event_id: str | None = None) -> bytes:
    at = at or datetime.now(UTC)
    return encode(envelope_for(
        CaseAssigned(case_id=case_id, unit=unit, assignment_version=version, rule_id="test",
                     rule_version=1, assigned_at=at),
        subject=case_id, source="tests", time=at, event_id=event_id or str(uuid.uuid4()),
    ))


async def publish_routing(stack: Any, case_id: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(ROUTING_EVENTS.name(), value=value, key=case_id.encode())
    finally:
        await producer.stop()


async def read_case(http: aiohttp.ClientSession, stack: Any, case_id: str) -> dict[str, Any]:
    async with http.get(stack.url("intake", f"/v1/cases/{case_id}"),
                        headers=bearer(STAFF)) as r:
        assert r.status == 200, await r.text()
        return dict(await r.json())


async def assign(http: aiohttp.ClientSession, stack: Any, case_id: str, *,
                 at: datetime, unit: str = UNIT, version: int = 1000) -> None:
    await publish_routing(stack, case_id, assignment(case_id, unit=unit, version=version, at=at))

    async def assigned() -> bool:
        # This very assignment applied, not routing's own one (same unit) landing first: the
        # test's then arrives later as a reassignment and changes the case under the test.
        conn = await asyncpg.connect(stack.dsns["intake"])
        try:
            applied = await conn.fetchval("SELECT assignment_version FROM cases "
                                          "WHERE case_id = $1", uuid.UUID(case_id))
        finally:
            await conn.close()
        record = await read_case(http, stack, case_id)
        return (applied or 0) >= version and record["assigned_unit"] == unit \
            and record["status"] != "registered"

    # Up to a minute: an intake instance an earlier test killed with SIGKILL keeps its share of
    # the routing topic's partitions until the broker's session timeout (faust's default, 60 s)
    # gives them to a live instance.
    await eventually(assigned, within=90, what=f"case {case_id} assigned to {unit}")


async def act(http: aiohttp.ClientSession, stack: Any, case_id: str, action: str, *,
              token: str | None = None, **fields: Any) -> tuple[int, dict[str, Any]]:
    body = {"action": action, **{k: (v.isoformat() if isinstance(v, datetime) else v)
                                 for k, v in fields.items()}}
    async with http.post(stack.url("intake", f"/v1/cases/{case_id}/actions"), json=body,
                         headers=bearer(token or unit_token(UNIT))) as r:
        return r.status, dict(await r.json())


def days_ago(n: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=n)
