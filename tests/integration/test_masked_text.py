"""Resident IDs and mobile numbers typed into a case's free text: masked for units and in
events, the original encrypted for staff (audited), and a note on the timeline."""

from __future__ import annotations

import uuid

import aiohttp
import asyncpg

from shared.platform.topics import CASE_EVENTS
from shared.tools.testing.helpers import end_offsets
from shared.tools.testing.tokens import STAFF, bearer, channel_token, unit_token
from tests.integration.intake_support import registered_events, resident_id, submission
from tests.integration.lifecycle_support import UNIT, assign, days_ago


async def test_personal_data_in_free_text_is_masked_for_units_and_events(stack) -> None:
    ident = resident_id(birth="19690203", seq=f"{uuid.uuid4().int % 1000:03d}")
    phone = f"137{uuid.uuid4().int % 10**8:08d}"
    title = f"请回电{phone}"
    content = f"我叫张三，身份证{ident}，手机{phone}。学校乱收费。"
    since = await end_offsets(stack.bootstrap, CASE_EVENTS.name())
    async with aiohttp.ClientSession() as http:
        body = submission("letter", title=title, content=content,
                          received_at=days_ago(2).isoformat())
        async with http.post(stack.url("intake", "/v1/cases"), json=body,
                             headers=bearer(channel_token("letter"))) as r:
            assert r.status == 201, await r.text()
            case_id = (await r.json())["case_id"]
        await assign(http, stack, case_id, at=days_ago(1))
        async with http.get(stack.url("intake", f"/v1/cases/{case_id}"),
                            headers=bearer(unit_token(UNIT))) as r:
            assert r.status == 200
            unit_view = await r.text()
            record = await r.json()
        # The original text is identity: a staff read of it states its purpose (audited).
        async with http.get(stack.url("intake", f"/v1/cases/{case_id}?purpose=核实来信内容"),
                            headers=bearer(STAFF)) as r:
            staff_view = await r.json()
    assert ident not in unit_view and phone not in unit_view
    assert "[身份证号已隐去]" in record["content"] and "[手机号已隐去]" in record["title"]
    assert "original_text" not in record
    first = record["timeline"][0]
    assert first["action"] == "register" and "已隐去" in first["internal_note"]
    assert staff_view["original_text"] == {"title": title, "content": content}
    conn = await asyncpg.connect(stack.dsns["intake"])
    try:
        audited = await conn.fetchval(
            "SELECT fields FROM personal_data_reads WHERE case_id = $1 ORDER BY id DESC LIMIT 1",
            uuid.UUID(case_id))
    finally:
        await conn.close()
    assert "free_text" in audited
    events = await registered_events(stack.bootstrap, since, {case_id}, expect=1)
    for message in events:
        assert ident.encode() not in message.value and phone.encode() not in message.value
