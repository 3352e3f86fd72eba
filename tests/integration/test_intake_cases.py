"""Intake over the real stack: concurrent channels, idempotency under races, tokens, audit,
no personal data on the topic."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import asyncpg

from shared.domain.vocab import default_vocabulary
from shared.platform.topics import CASE_EVENTS
from shared.tools.testing.helpers import end_offsets
from shared.tools.testing.tokens import STAFF, bearer, channel_token
from tests.integration.intake_support import (
    case_count,
    registered_events,
    resident_id,
    submission,
)

PER_CHANNEL = 200
PERSONAL_VALUES = ("测试人", "13800138000", "吉州区某路1号")


async def test_twelve_channels_at_once_store_each_case_once_with_one_event(stack) -> None:
    channels = default_vocabulary().channels.codes
    assert len(channels) == 12
    since = await end_offsets(stack.bootstrap, CASE_EVENTS.name())
    run = uuid.uuid4().hex[:8]
    url = stack.url("intake", "/v1/cases")

    async def channel_client(http: aiohttp.ClientSession, channel: str) -> list[str]:
        ids = []
        for i in range(PER_CHANNEL):
            body = submission(channel, external_id=f"{run}-{channel}-{i}")
            body["petitioner"]["id_number"] = resident_id(seq=f"{i % 1000:03d}")
            async with http.post(url, json=body, headers=bearer(channel_token(channel))) as r:
                assert r.status == 201, await r.text()
                ids.append((await r.json())["case_id"])
        return ids

    async with aiohttp.ClientSession() as http:
        results = await asyncio.gather(*(channel_client(http, c) for c in channels))
    case_ids = {cid for ids in results for cid in ids}
    assert len(case_ids) == 12 * PER_CHANNEL
    assert await case_count(stack.dsns["intake"], "external_id LIKE $1", f"{run}-%") == 2400

    records = await registered_events(stack.bootstrap, since, case_ids, expect=2400)
    per_case: dict[str, int] = {}
    for record in records:
        per_case[record.key.decode()] = per_case.get(record.key.decode(), 0) + 1
        text = record.value.decode()
        for personal in (*PERSONAL_VALUES, resident_id()[:10]):
            assert personal not in text, f"personal data {personal!r} on the topic"
    assert set(per_case) == case_ids
    assert set(per_case.values()) == {1}, "every case exactly one case.registered"


async def test_same_external_id_racing_gives_one_case(stack) -> None:
    body = submission("visit")
    since = await end_offsets(stack.bootstrap, CASE_EVENTS.name())
    async with aiohttp.ClientSession() as http:
        async def post() -> tuple[int, dict]:
            async with http.post(stack.url("intake", "/v1/cases"), json=body,
                                 headers=bearer(channel_token("visit"))) as r:
                return r.status, await r.json()

        answers = await asyncio.gather(*(post() for _ in range(8)))
    statuses = sorted(s for s, _ in answers)
    assert statuses == [200] * 7 + [201]
    bodies = {tuple(sorted(b.items())) for _, b in answers}
    assert len(bodies) == 1, "every answer carries the same body"
    assert await case_count(stack.dsns["intake"], "channel = 'visit' AND external_id = $1",
                            body["external_id"]) == 1
    case_id = answers[0][1]["case_id"]
    events = await registered_events(stack.bootstrap, since, {case_id}, expect=1)
    assert len(events) == 1


async def test_tokens_are_checked_and_staff_reads_are_audited(stack) -> None:
    url = stack.url("intake", "/v1/cases")
    body = submission("letter")
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=body) as r:
            assert r.status == 401
        async with http.post(url, json=body, headers=bearer("not-a-real-token-xxxxxxxx")) as r:
            assert r.status == 401
        async with http.post(url, json=body, headers=bearer(channel_token("phone"))) as r:
            assert r.status == 403
            assert "letter" in (await r.json())["error"]
        assert await case_count(stack.dsns["intake"], "external_id = $1",
                                body["external_id"]) == 0
        async with http.post(url, json=body, headers=bearer(channel_token("letter"))) as r:
            assert r.status == 201
            case_id = (await r.json())["case_id"]
        async with http.get(stack.url("intake", f"/v1/cases/{case_id}"),
                            headers=bearer(channel_token("letter"))) as r:
            assert r.status == 403
        async with http.get(stack.url("intake", f"/v1/cases/{case_id}"),
                            params={"purpose": "核实信访事项"}, headers=bearer(STAFF)) as r:
            assert r.status == 200
            record = await r.json()
    assert record["petitioner"]["name"] == "测试人"
    assert record["petitioner"]["id_number"] == body["petitioner"]["id_number"]
    conn = await asyncpg.connect(stack.dsns["intake"])
    try:
        audit = await conn.fetch("SELECT actor, role, fields FROM personal_data_reads "
                                 "WHERE case_id = $1", uuid.UUID(case_id))
        stored = await conn.fetchrow("SELECT * FROM cases WHERE case_id = $1",
                                     uuid.UUID(case_id))
    finally:
        await conn.close()
    assert len(audit) == 1 and audit[0]["role"] == "staff"
    assert sorted(audit[0]["fields"]) == ["address", "id_number", "name", "phone"]
    for column in ("petitioner_name_enc", "petitioner_id_enc", "petitioner_phone_enc"):
        assert "测试人".encode() not in bytes(stored[column])
        assert b"13800138000" not in bytes(stored[column])


async def test_tracking_page_shows_progress_without_personal_data(stack) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(stack.url("intake", "/v1/cases"), json=submission("online"),
                             headers=bearer(channel_token("online"))) as r:
            created = await r.json()
        track = stack.url("intake", f"/v1/track/{created['tracking_no']}")
        async with http.get(track, params={"code": created["query_code"]}) as r:
            assert r.status == 200
            page = await r.text()
        async with http.get(track, params={"code": "WRONGCODE23456"}) as r:
            wrong = (r.status, await r.json())
        async with http.get(stack.url("intake", "/v1/track/XF-1999-999999"),
                            params={"code": created["query_code"]}) as r:
            unknown = (r.status, await r.json())
    assert '"status":"registered"' in page
    for personal in (*PERSONAL_VALUES, "某某学校"):
        assert personal not in page
    assert wrong == unknown and wrong[0] == 404
