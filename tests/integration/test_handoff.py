"""A hand-off from receipt to the closing report over the real stack: the assigning body's
reference kept on the case, the receipt notice and the closing report on the hand-off topic
(read with a consumer), and the closing report as a Word document, audited."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import asyncpg

from shared.domain.limits import local_date
from shared.domain.schemas import HandoffClosed, HandoffReceived
from shared.platform.topics import HANDOFF_EVENTS
from shared.tools.testing.helpers import end_offsets, events_for, read_topic
from shared.tools.testing.tokens import bearer, unit_token
from tests.integration.handoff_support import BODY, handle, report_cells, submit_handoff
from tests.integration.lifecycle_support import UNIT, days_ago, read_case, submit


async def _notices(stack: Any, since: dict[int, int], case_id: str, n: int) -> list[Any]:
    messages = await read_topic(stack.bootstrap, HANDOFF_EVENTS.name(), since=since,
                                until=lambda ms: len(events_for(ms, {case_id})) >= n,
                                within=30)
    return events_for(messages, {case_id})


async def test_handoff_from_receipt_to_closing_report(stack) -> None:
    since = await end_offsets(stack.bootstrap, HANDOFF_EVENTS.name())
    async with aiohttp.ClientSession() as http:
        case = await submit_handoff(http, stack, days_ago(40))
        case_id, ref = case["case_id"], case["assigned_ref"]
        record = await read_case(http, stack, case_id)
        assert (record["assigned_by"], record["assigned_ref"]) == (BODY, ref)
        status, _, text = await report_cells(http, stack, case_id)
        assert status == 409 and "not closed" in text  # nothing to report yet
        replied, closed_at = days_ago(10), days_ago(9)
        await handle(http, stack, case_id, [
            ("accept", days_ago(38), {}),
            ("reply", replied, {"reason": "经核查，已责令学校退还所收费用。"}),
            ("close", closed_at, {})], assigned_at=days_ago(39))
        received, closed = await _notices(stack, since, case_id, 2)
        status, cells, text = await report_cells(http, stack, case_id)
        async with http.get(stack.url("intake", f"/v1/cases/{case_id}/handoff-report"),
                            headers=bearer(unit_token(UNIT))) as r:
            assert r.status == 403  # staff only
    assert isinstance(received.data, HandoffReceived)
    assert (received.data.decision, received.data.on_time, received.data.assigned_ref) == (
        "accepted", True, ref)
    assert isinstance(closed.data, HandoffClosed)
    c = closed.data
    assert (c.assigned_by, c.assigned_ref, c.result, c.on_time) == (BODY, ref, "answered", True)
    assert (c.answer_date, local_date(c.closed_at)) == (local_date(replied), local_date(closed_at))
    assert "退还" not in closed.data.model_dump_json()  # the answer's text stays in intake
    assert status == 200, text
    assert ref in text and cells["交办文号"] == ref and cells["交办机关"] == BODY
    assert cells["是否按期"] == "按期办结" and "退还所收费用" in cells["办理结果"]
    assert local_date(replied).isoformat() in cells["答复日期"]
    assert local_date(closed_at).isoformat() in cells["办结日期"]
    assert c.handling_due is not None and c.handling_due.isoformat() in cells["办理期限"]
    conn = await asyncpg.connect(stack.dsns["intake"])
    try:
        audited = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = "
            "'handoff_report.read'", uuid.UUID(case_id))
    finally:
        await conn.close()
    assert audited == 1


async def test_declined_handoff_notice_and_no_report_for_other_channels(stack) -> None:
    since = await end_offsets(stack.bootstrap, HANDOFF_EVENTS.name())
    async with aiohttp.ClientSession() as http:
        case = await submit_handoff(http, stack, days_ago(30), channel="city_transfer",
                                    assigned_by="吉安市信访局")
        await handle(http, stack, case["case_id"], [
            ("decline", days_ago(1), {"reason": "不属于本机关职责"})], assigned_at=days_ago(29))
        (notice,) = await _notices(stack, since, case["case_id"], 1)
        letter = await submit(http, stack, days_ago(1))
        status, _, _ = await report_cells(http, stack, letter["case_id"])
    assert isinstance(notice.data, HandoffReceived)
    assert (notice.data.decision, notice.data.on_time) == ("declined", False)  # day 29 > 15
    assert status == 404
