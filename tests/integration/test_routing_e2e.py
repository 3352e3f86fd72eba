"""Routing end to end: cases registered through intake's API, lifecycle steps produced onto the
case topic (as intake will publish them), decisions read from routing's API and topic.

Every test uses its own petitioner (a random phone number, so the pseudonymous key is new) and
its own cases, so earlier runs and other teams' cases never link to them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer

from shared.domain.schemas import STEP_TYPES
from shared.platform.events import Envelope, encode, envelope_for
from shared.platform.topics import CASE_EVENTS, ROUTING_EVENTS
from shared.tools.testing.helpers import end_offsets, events_for, eventually, read_topic
from shared.tools.testing.tokens import ADMIN, STAFF, bearer, channel_token

RULES_FILE = Path(__file__).parents[2] / "deploy" / "config" / "routing-rules.yaml"
FEES = ("我是吉安县城南实验小学三年级学生家长，学校今年秋季开学要求每个学生交300元的资料费和150元"
        "的校服费，没有开收据，也没有征求家长意见，请教育局查处乱收费问题。")
FEES_AGAIN = ("吉安县城南实验小学三年级学生家长反映：学校秋季开学要求每生交资料费３００元、校服费"
              "１５０元，未开收据，未征求家长意见，请求查处乱收费。")
FEES_OTHER = "吉安县永和镇中学要求住校生每学期交400元住宿管理费和200元空调费，空调一直没有安装。"


def petitioner() -> dict[str, Any]:
    return {"name": "测试人", "phone": f"139{random.randrange(10**8):08d}"}


async def submit(http: aiohttp.ClientSession, stack: Any, who: dict[str, Any], *,
                 channel: str = "letter", content: str = FEES, **over: Any) -> str:
    body = {"channel": channel, "external_id": f"rt-{uuid.uuid4()}", "jurisdiction": "jian",
            "category": "fees", "title": "学校乱收费", "content": content, "petitioner": who,
            **over}
    async with http.post(stack.url("intake", "/v1/cases"), json=body,
                         headers=bearer(channel_token(channel))) as r:
        assert r.status == 201, await r.text()
        return str((await r.json())["case_id"])


async def routed(http: aiohttp.ClientSession, stack: Any, case_id: str,
                 until: Callable[[dict[str, Any]], bool] = lambda _: True) -> dict[str, Any]:
    """Routing's record of the case, once it has one that satisfies ``until``."""
    async def probe() -> dict[str, Any] | None:
        async with http.get(stack.url("routing", f"/v1/assignments/{case_id}"),
                            headers=bearer(STAFF)) as r:
            if r.status != 200:
                return None
            body = dict(await r.json())
            return body if until(body) else None

    return await eventually(probe, within=30, what=f"routing's decision on {case_id}")


async def produce(stack: Any, values: list[tuple[str, bytes]], topic: str | None = None
                  ) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for key, value in values:
            await producer.send_and_wait(topic or CASE_EVENTS.name(), value=value,
                                         key=key.encode())
    finally:
        await producer.stop()


def step(case_id: str, action: str, status: str, previous: str, sequence: int, *,
         unit: str | None = "jian_bureau", at: datetime | None = None, **extra: Any) -> bytes:
    at = at or datetime.now(UTC)
    data = STEP_TYPES[action](case_id=case_id, at=at, status=status, previous_status=previous,
                              sequence=sequence, unit=unit, **extra)
    return encode(envelope_for(data, subject=case_id, source="tests", time=at))


async def walk(stack: Any, case_id: str, steps: list[tuple[str, str]]) -> None:
    """Produce the steps (action, new status) after the assignment, numbered like intake does
    (registration 1, assignment 2)."""
    previous, values = "assigned", []
    for seq, (action, status) in enumerate(steps, start=3):
        values.append((case_id, step(case_id, action, status, previous, seq)))
        previous = status
    await produce(stack, values)


async def accepted_case(http: aiohttp.ClientSession, stack: Any, who: dict[str, Any]) -> str:
    """A case of ``who``'s, routed, then accepted by its unit (as routing has seen)."""
    case_id = await submit(http, stack, who)
    await routed(http, stack, case_id)
    await walk(stack, case_id, [("accept", "accepted")])
    await routed(http, stack, case_id, until=lambda r: r["status"] == "accepted")
    return case_id


async def routing_events(stack: Any, since: dict[int, int], case_ids: set[str],
                         expect: int) -> list[Envelope]:
    def enough(msgs: list[tuple[Any, Envelope | None]]) -> bool:
        return len(events_for(msgs, case_ids)) >= expect

    msgs = await read_topic(stack.bootstrap, ROUTING_EVENTS.name(), since=since, until=enough)
    return events_for(msgs, case_ids)


# -- links ---------------------------------------------------------------------------------


async def test_duplicate_through_another_channel_is_linked_not_assigned(stack) -> None:
    since = await end_offsets(stack.bootstrap, ROUTING_EVENTS.name())
    who = petitioner()
    async with aiohttp.ClientSession() as http:
        first = await submit(http, stack, who)
        assert (await routed(http, stack, first))["current"]["unit"]["key"] == "jian_bureau"
        second = await submit(http, stack, who, channel="hotline_12345", content=FEES_AGAIN)
        record = await routed(http, stack, second)
        # the same petitioner on another matter, through a third channel, is a new case
        other = await submit(http, stack, who, channel="online", content=FEES_OTHER)
        assert (await routed(http, stack, other))["outcome"] == "assigned"
    assert record["outcome"] == "linked" and record["history"] == []
    assert record["link"]["kind"] == "duplicate" and record["link"]["linked_to"] == first
    assert record["link"]["similarity"] >= 0.25
    events = await routing_events(stack, since, {first, second, other}, expect=3)
    assert [(e.type, e.subject) for e in events if e.subject == second] == [
        ("case.linked", second)]
    linked = next(e for e in events if e.subject == second).data
    assert (linked.linked_to, linked.kind) == (first, "duplicate")  # type: ignore[attr-defined]


async def test_repeat_while_the_first_is_accepted_and_within_its_limit(stack) -> None:
    who = petitioner()
    async with aiohttp.ClientSession() as http:
        first = await accepted_case(http, stack, who)
        # "why is there still no answer?": another text, the same channel, category, place
        again = await submit(http, stack, who, content="上次反映的收费问题为什么还没有答复？")
        record = await routed(http, stack, again)
    assert record["outcome"] == "linked"
    assert (record["link"]["kind"], record["link"]["linked_to"]) == ("repeat", first)


async def test_final_repeat_after_rereview(stack) -> None:
    who = petitioner()
    async with aiohttp.ClientSession() as http:
        first = await submit(http, stack, who)
        await routed(http, stack, first)
        await walk(stack, first, [
            ("accept", "accepted"), ("reply", "replied"), ("close", "closed"),
            ("request_review", "review_requested"), ("review_decision", "reviewed"),
            ("request_rereview", "rereview_requested"), ("rereview_decision", "final")])
        await routed(http, stack, first, until=lambda r: r["status"] == "final")
        again = await submit(http, stack, who, channel="mayor_mailbox", content=FEES_AGAIN)
        record = await routed(http, stack, again)
    assert (record["link"]["kind"], record["link"]["linked_to"]) == ("final_repeat", first)


async def test_anonymous_petitions_are_never_linked(stack) -> None:
    async with aiohttp.ClientSession() as http:
        first = await submit(http, stack, {"anonymous": True})
        second = await submit(http, stack, {"anonymous": True}, channel="report_box",
                              content=FEES_AGAIN)
        for case_id in (first, second):
            assert (await routed(http, stack, case_id))["outcome"] == "assigned"


# -- key cases -----------------------------------------------------------------------------


async def test_collective_petition_is_a_key_case_with_a_leader(stack) -> None:
    since = await end_offsets(stack.bootstrap, ROUTING_EVENTS.name())
    async with aiohttp.ClientSession() as http:
        case_id = await submit(http, stack, petitioner(), signers=12)
        record = await routed(http, stack, case_id)
    current = record["current"]
    assert current["unit"]["key"] == "jian_bureau" and current["key_case"] is True
    assert current["leader"]["name"] == "刘卫东"
    assert record["key_reasons"] == ["collective"]
    [event] = await routing_events(stack, since, {case_id}, expect=1)
    assert event.type == "case.assigned"
    data = event.data
    assert (data.unit, data.leader, data.key_case, data.assignment_version) == (  # type: ignore[attr-defined]
        "jian_bureau", "刘卫东", True, 1)
    assert "key:collective" in data.reasons  # type: ignore[attr-defined]


async def test_third_petition_in_twelve_months_is_a_key_case(stack) -> None:
    who = petitioner()
    done = [("accept", "accepted"), ("reply", "replied"), ("close", "closed")]
    async with aiohttp.ClientSession() as http:
        first = await submit(http, stack, who)
        await routed(http, stack, first)
        await walk(stack, first, done)
        await routed(http, stack, first, until=lambda r: r["status"] == "closed")
        second = await submit(http, stack, who, content="收费问题处理后学校又开始收了。")
        assert not (await routed(http, stack, second))["current"]["key_case"]
        await walk(stack, second, done)
        await routed(http, stack, second, until=lambda r: r["status"] == "closed")
        third = await submit(http, stack, who, content="学校还在乱收费。")
        record = await routed(http, stack, third)
    assert record["outcome"] == "assigned" and record["key_reasons"] == ["third_repeat_12m"]
    assert record["current"]["leader"]["name"] == "刘卫东"


async def test_third_petition_linked_as_repeat_makes_the_open_original_key(stack) -> None:
    who = petitioner()
    async with aiohttp.ClientSession() as http:
        first = await accepted_case(http, stack, who)
        for text in ("为什么还没有答复？", "还是没有答复，请尽快处理。"):
            repeat = await submit(http, stack, who, content=text)
            assert (await routed(http, stack, repeat))["link"]["kind"] == "repeat"
        record = await routed(http, stack, first, until=lambda r: len(r["history"]) == 2)
    current = record["current"]
    assert (current["assignment_version"], current["cause"], current["key_case"]) == (
        2, "escalation", True)
    assert current["unit"]["key"] == "jian_bureau" and current["leader"]["name"] == "刘卫东"


# -- objections and reassignment -----------------------------------------------------------


async def test_objections_never_send_the_case_back_to_an_objecting_unit(stack) -> None:
    since = await end_offsets(stack.bootstrap, ROUTING_EVENTS.name())
    async with aiohttp.ClientSession() as http:
        case_id = await submit(http, stack, petitioner())
        await routed(http, stack, case_id)
        await produce(stack, [(case_id, step(case_id, "object", "registered", "assigned", 3,
                                             reason="不属于本单位职责"))])
        record = await routed(http, stack, case_id, until=lambda r: len(r["history"]) == 2)
        assert record["current"]["unit"]["key"] == "city_bureau"
        assert record["current"]["cause"] == "objection"
        assert record["objected_units"] == ["jian_bureau"]
        # the city bureau objects too: nobody inside the bureau is left
        await produce(stack, [(case_id, step(case_id, "object", "registered", "assigned", 5,
                                             unit="city_bureau"))])
        record = await routed(http, stack, case_id, until=lambda r: len(r["history"]) == 3)
    assert record["current"]["unit"] is None
    assert record["current"]["transfer_to"] == "吉安市人民政府"
    events = await routing_events(stack, since, {case_id}, expect=3)
    assert [e.type for e in events] == ["case.assigned", "case.assigned",
                                        "case.transfer_decided"]
    assert [getattr(e.data, "assignment_version", None) for e in events] == [1, 2, None]


async def test_staff_reassignment(stack) -> None:
    since = await end_offsets(stack.bootstrap, ROUTING_EVENTS.name())
    async with aiohttp.ClientSession() as http:
        case_id = await submit(http, stack, petitioner(), subject={"unit": "吉安县第一中学"})
        await routed(http, stack, case_id)
        url = stack.url("routing", f"/v1/assignments/{case_id}/reassign")

        async def post(body: Any, token: str = STAFF) -> tuple[int, dict[str, Any]]:
            async with http.post(url, json=body, headers=bearer(token)) as r:
                return r.status, dict(await r.json())

        assert (await post({"unit": "taihe_bureau", "reason": "x"},
                           channel_token("letter")))[0] == 403
        status, body = await post({"unit": "", "reason": ""})
        assert status == 422
        assert [e["field"] for e in body["errors"]] == ["unit", "reason"]
        status, body = await post({"unit": "jian_no1_middle", "reason": "学校自查"})
        assert status == 422 and body["errors"][0]["field"] == "unit"  # the subject: 回避
        assert "回避" in body["errors"][0]["message"]
        status, body = await post({"unit": "no_such_unit", "reason": "试试"})
        assert (status, body["errors"][0]["field"]) == (422, "unit")
        note = "县局人手不足，由市局直接办理"
        status, body = await post({"unit": "吉安市教育局", "reason": note})
        assert status == 201, body
        assert (body["assignment_version"], body["unit"]["key"], body["cause"]) == (
            2, "city_bureau", "reassign")
        assert (await post({"unit": "city_bureau", "reason": "again"}))[0] == 422
        unknown = stack.url("routing", f"/v1/assignments/{uuid.uuid4()}/reassign")
        async with http.post(unknown, json={"unit": "city_bureau", "reason": "x"},
                             headers=bearer(STAFF)) as r:
            assert r.status == 404
        record = await routed(http, stack, case_id)
    assert [h["assignment_version"] for h in record["history"]] == [1, 2]
    assert record["history"][1]["note"] == note
    events = await routing_events(stack, since, {case_id}, expect=2)
    assert [getattr(e.data, "assignment_version", None) for e in events] == [1, 2]
    assert events[1].data.unit == "city_bureau"  # type: ignore[attr-defined]
    assert "县局" not in events[1].data.model_dump_json()  # the staff's note stays internal


async def test_a_linked_case_cannot_be_reassigned(stack) -> None:
    who = petitioner()
    async with aiohttp.ClientSession() as http:
        first = await submit(http, stack, who)
        await routed(http, stack, first)
        dup = await submit(http, stack, who, channel="email", content=FEES_AGAIN)
        await routed(http, stack, dup)
        async with http.post(stack.url("routing", f"/v1/assignments/{dup}/reassign"),
                             json={"unit": "city_bureau", "reason": "x"},
                             headers=bearer(STAFF)) as r:
            assert r.status == 409
            assert "duplicate" in (await r.json())["error"]


# -- rules ---------------------------------------------------------------------------------


async def test_rules_are_validated_and_activated_atomically(stack) -> None:
    url = stack.url("routing", "/v1/rules")
    yaml_headers = {**bearer(ADMIN), "Content-Type": "application/yaml"}
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as r:
            assert r.status == 401
        async with http.get(url, headers=bearer(STAFF)) as r:
            assert r.status == 200
            active = (await r.json())["version"]
        text = RULES_FILE.read_text(encoding="utf-8")
        async with http.put(url, data=text.encode(),
                            headers={**bearer(STAFF), "Content-Type": "application/yaml"}) as r:
            assert r.status == 403
        # an unknown unit, and a cycle in the hierarchy: refused, each named by its line
        bad = text.replace("version: 1", f"version: {active + 1}").replace(
            "{id: city-fees, jurisdiction: city, category: fees, unit: finance}",
            "{id: city-fees, jurisdiction: city, category: fees, unit: treasury}").replace(
            "{code: office, name: 办公室, parent: city_bureau, kind: section}",
            "{code: office, name: 办公室, parent: planning, kind: section}").replace(
            "{code: planning, name: 发展规划科, parent: city_bureau, kind: section}",
            "{code: planning, name: 发展规划科, parent: office, kind: section}")
        lines = bad.splitlines()
        async with http.put(url, data=bad.encode(), headers=yaml_headers) as r:
            assert r.status == 422
            errors = (await r.json())["errors"]
        assert {"line": next(i for i, x in enumerate(lines, 1) if "treasury" in x),
                "message": "unknown unit 'treasury'"} in errors
        assert any("cycle" in e["message"] and "office" in lines[e["line"] - 1] for e in errors)
        # a version that is not new is refused at the version line
        async with http.put(url, data=text.replace("version: 1", f"version: {active}").encode(),
                            headers=yaml_headers) as r:
            assert r.status in (200, 422)  # 200 only if the active set is this very text
            if r.status == 422:
                assert (await r.json())["errors"][0]["line"] == lines.index(
                    f"version: {active + 1}") + 1
        async with http.get(url, headers=bearer(STAFF)) as r:
            assert (await r.json())["version"] == active  # nothing changed
        good = text.replace("version: 1", f"version: {active + 1}")
        async with http.put(url, data=good.encode(), headers=yaml_headers) as r:
            assert r.status == 201, await r.text()
        async with http.put(url, data=good.encode(), headers=yaml_headers) as r:
            assert r.status == 200  # the same again: unchanged
        async with http.get(url, headers=bearer(STAFF)) as r:
            body = await r.json()
            assert (body["version"], body["active"]) == (active + 1, True)
        async with http.get(url, params={"version": str(active)}, headers=bearer(STAFF)) as r:
            assert (await r.json())["active"] is False
        case_id = await submit(http, stack, petitioner(), received_at=(
            datetime.now(UTC) - timedelta(minutes=1)).isoformat())
        record = await routed(http, stack, case_id)
    assert record["current"]["rule_version"] >= active + 1
