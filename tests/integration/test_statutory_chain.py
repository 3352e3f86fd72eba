"""The statutory chain through the public APIs: an extension requested, refused, requested again
and approved by the unit head (Art. 34); a hearing over National Day pausing the re-review
decision (Art. 36); urging (督办) twice making a key case; a leader's instruction (领导批示) on
the key case they are responsible for, refused to another leader."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import aiohttp

from shared.domain.limits import SHANGHAI
from shared.tools.testing.helpers import eventually
from shared.tools.testing.people import Person, person
from shared.tools.testing.tokens import STAFF, bearer, unit_token
from tests.integration.lifecycle_support import (
    UNIT,
    act,
    assign,
    days_ago,
    read_case,
    submit,
)


async def _timer(http: aiohttp.ClientSession, stack: Any, case_id: str,
                 kind: str) -> dict[str, Any] | None:
    async with http.get(stack.url("deadlines", f"/v1/deadlines/{case_id}"),
                        headers=bearer(STAFF)) as r:
        if r.status != 200:
            return None
        return next((t for t in await r.json() if t["kind"] == kind), None)


async def _people(http: aiohttp.ClientSession, stack: Any) -> tuple[Person, Person]:
    console = stack.url("console", "")
    return (await person(http, console, "handler", unit=UNIT),
            await person(http, console, "unit_head", unit=UNIT))


async def _as(http: aiohttp.ClientSession, stack: Any, case_id: str, who: Person | str,
              action: str, **fields: Any) -> tuple[int, dict[str, Any]]:
    token = who if isinstance(who, str) else who.token
    return await act(http, stack, case_id, action, token=token, **fields)


async def test_extension_requested_refused_requested_again_and_approved(stack) -> None:
    async with aiohttp.ClientSession() as http:
        handler, head = await _people(http, stack)
        case = await submit(http, stack, days_ago(10))
        case_id = case["case_id"]
        await assign(http, stack, case_id, at=days_ago(9.5))
        assert (await _as(http, stack, case_id, handler, "accept", at=days_ago(9)))[0] == 200
        first = await eventually(lambda: _timer(http, stack, case_id, "handling"),
                                 what="the handling timer")

        code, body = await _as(http, stack, case_id, handler, "extend", days=20,
                               reason="需现场调查", at=days_ago(8))
        assert code == 200 and body["status"] == "accepted", body
        assert "approve_extension" not in body["allowed_actions"]  # the handler's view
        code, body = await _as(http, stack, case_id, handler, "approve_extension")
        assert code == 403, body
        async with http.get(stack.url("intake", f"/v1/cases/{case_id}"),
                            headers=head.headers) as r:
            seen = await r.json()
        assert seen["extension_requested_days"] == 20
        assert {"approve_extension", "refuse_extension"} <= set(seen["allowed_actions"])

        code, body = await _as(http, stack, case_id, head, "refuse_extension",
                               at=days_ago(7))
        assert code == 422 and body["errors"][0]["field"] == "reason"
        code, body = await _as(http, stack, case_id, head, "refuse_extension",
                               reason="理由不充分", at=days_ago(7))
        assert code == 200 and body["status"] == "accepted"
        code, body = await _as(http, stack, case_id, head, "approve_extension")
        assert code == 409, body  # nothing waits for an answer now

        code, body = await _as(http, stack, case_id, handler, "extend", days=15,
                               reason="需补充材料", at=days_ago(6))
        assert code == 200, body
        code, body = await _as(http, stack, case_id, head, "approve_extension",
                               at=days_ago(5))
        assert code == 200 and body["status"] == "extended", body
        code, body = await _as(http, stack, case_id, handler, "extend", days=5, reason="再延")
        assert code == 409 and "once" in body["error"]

        async def moved() -> dict[str, Any] | None:
            timer = await _timer(http, stack, case_id, "handling")
            return timer if timer and timer["extension_days"] == 15 else None

        handling = await eventually(moved, what="the approved extension in deadlines")
        async with http.get(stack.url("intake", f"/v1/track/{case['tracking_no']}"),
                            params={"code": case["query_code"]}) as r:
            public = await r.json()
    # Only the approval moved the due date: one move in the history, from the first date.
    assert [(h["reason"], h["old_due_date"]) for h in handling["history"]] == [
        ("extension", first["due_date"])]
    assert handling["due_date"] > first["due_date"]
    # The petitioner is told the approved extension's reason (Art. 34), nothing of the
    # refused request.
    notes = {s["action"]: s["note"] for s in public["timeline"]}
    assert notes["approve_extension"] == "需补充材料"
    assert "需现场调查" not in str(public) and "理由不充分" not in str(public)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def test_a_hearing_over_national_day_pauses_the_rereview_decision(stack) -> None:
    async with aiohttp.ClientSession() as http:
        case_id = (await submit(http, stack, _at("2024-08-01T09:00")))["case_id"]
        await assign(http, stack, case_id, at=_at("2024-08-01T10:00"))
        for action, at in (("accept", "2024-08-02T09:00"), ("reply", "2024-08-10T09:00"),
                           ("close", "2024-08-11T09:00"), ("request_review", "2024-08-20T09:00"),
                           ("review_decision", "2024-08-25T09:00"),
                           ("request_rereview", "2024-09-05T10:00"),
                           ("hearing_started", "2024-09-30T09:00")):
            code, body = await act(http, stack, case_id, action, at=_at(at))
            assert code == 200, (action, body)
        assert body["allowed_actions"] == ["hearing_ended"]  # no decision during a hearing

        async def paused() -> dict[str, Any] | None:
            timer = await _timer(http, stack, case_id, "rereview_decision")
            return timer if timer and timer["paused_since"] == "2024-09-30" else None

        before = await eventually(paused, what="the re-review decision paused")
        assert before["due_date"] == "2024-10-08"  # day 30 (5 Oct) rolled past the holiday
        code, body = await act(http, stack, case_id, "hearing_ended",
                               at=_at("2024-10-09T16:00"))
        assert code == 200, body

        async def resumed() -> dict[str, Any] | None:
            timer = await _timer(http, stack, case_id, "rereview_decision")
            return timer if timer and timer["paused_since"] is None else None

        after = await eventually(resumed, what="the re-review decision resumed")
    # 30 Sep … 9 Oct: ten calendar days, holiday included; day 40 is 15 October.
    assert (after["due_date"], after["paused_days"], after["length_days"]) == (
        "2024-10-15", 10, 40)
    assert [h["reason"] for h in after["history"]] == ["hearing"]


async def _routed(http: aiohttp.ClientSession, stack: Any, **over: Any) -> dict[str, Any]:
    """A case registered now and assigned by routing's own rules (jizhou → jizhou_bureau)."""
    case = await submit(http, stack, datetime.now(SHANGHAI) - timedelta(minutes=5), **over)

    async def assigned() -> dict[str, Any] | None:
        record = await read_case(http, stack, case["case_id"])
        return record if record["status"] == "assigned" else None

    return await eventually(assigned, what="routing's assignment")


async def test_a_case_urged_twice_becomes_a_key_case(stack) -> None:
    respond_by = (date.today() + timedelta(days=5)).isoformat()
    async with aiohttp.ClientSession() as http:
        record = await _routed(http, stack)
        case_id = record["case_id"]
        assert not record["key_case"]
        code, body = await act(http, stack, case_id, "urge", token=unit_token(UNIT),
                               note="请加快办理", respond_by=respond_by)
        assert code == 403, body  # urging is the petition office's
        code, body = await act(http, stack, case_id, "urge", token=STAFF,
                               note="请加快办理", respond_by="2020-01-01")
        assert code == 422 and body["errors"][0]["field"] == "respond_by"
        for note in ("请加快办理", "再次督办：请于期限内答复"):
            code, body = await act(http, stack, case_id, "urge", token=STAFF, note=note,
                                   respond_by=respond_by)
            assert code == 200 and body["status"] == "assigned", body
        async with http.get(stack.url("intake", f"/v1/cases/{case_id}"),
                            headers=bearer(unit_token(UNIT))) as r:
            seen = await r.json()  # the unit sees the urges, their notes and dates

        async def escalated() -> dict[str, Any] | None:
            async with http.get(stack.url("routing", f"/v1/assignments/{case_id}"),
                                headers=bearer(STAFF)) as r:
                body = await r.json()
            return body if "urged_twice" in body["key_reasons"] else None

        await eventually(escalated, what="routing's key case")
        leader = await eventually(
            lambda: _leader_of(http, stack, case_id), what="the leader reaching intake")
    assert seen["key_case"] and seen["urges"] == 2
    urges = [s for s in seen["timeline"] if s["action"] == "urge"]
    assert [(s["internal_note"], s["details"]["respond_by"]) for s in urges] == [
        ("请加快办理", respond_by), ("再次督办：请于期限内答复", respond_by)]
    assert leader == "郭文斌"  # jizhou's leader, the case being handled inside his bureau


async def _leader_of(http: aiohttp.ClientSession, stack: Any, case_id: str) -> str | None:
    return (await read_case(http, stack, case_id))["leader"]  # type: ignore[no-any-return]


async def test_a_leader_instructs_on_their_key_case_and_another_leader_may_not(stack) -> None:
    console = stack.url("console", "")
    async with aiohttp.ClientSession() as http:
        record = await _routed(http, stack, signers=6)  # collective: a key case at once
        case_id = record["case_id"]
        leader_name = await eventually(lambda: _leader_of(http, stack, case_id),
                                       what="the collective case's leader")
        own = await person(http, console, "leader", name=leader_name)
        other = await person(http, console, "leader", name="周建平")
        code, body = await _as(http, stack, case_id, other, "instruct", note="我来处理")
        assert code == 403, body
        async with http.get(stack.url("intake", f"/v1/cases/{case_id}"),
                            headers=other.headers) as r:
            assert r.status == 403
        async with http.get(stack.url("intake", "/v1/cases"), params={"sort": "received"},
                            headers=other.headers) as r:
            assert case_id not in {i["case_id"] for i in (await r.json())["items"]}
        code, body = await _as(http, stack, case_id, own, "instruct",
                               note="请依法依规妥善化解，每周报告进展")
        assert code == 200 and body["status"] == "assigned", body
        assert body["allowed_actions"] == ["instruct"]
        code, body = await _as(http, stack, case_id, STAFF, "instruct", note="代批")
        assert code == 403, body
        # Newest first: earlier runs left this leader other key cases.
        async with http.get(stack.url("intake", "/v1/cases"),
                            params={"key": "true", "sort": "received", "limit": "10"},
                            headers=own.headers) as r:
            listed = await r.json()
        async with http.get(stack.url("intake", f"/v1/cases/{case_id}"),
                            headers=bearer(unit_token(UNIT))) as r:
            seen = await r.json()
    assert case_id in {i["case_id"] for i in listed["items"]}
    assert all(i["key_case"] and i["leader"] == leader_name for i in listed["items"])
    [step] = [s for s in seen["timeline"] if s["action"] == "instruct"]
    assert step["internal_note"] == "请依法依规妥善化解，每周报告进展"
    assert step["actor_name"] == leader_name
