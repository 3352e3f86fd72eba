"""Hostile and careless input against the running services: a 4xx naming the field, never a
500, and nothing changed. One test per reproduction of the hostile-input findings."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import asyncpg
import pytest
from yarl import URL

from shared.tools.testing.helpers import eventually
from shared.tools.testing.tokens import ADMIN, STAFF, bearer, channel_token
from tests.integration.intake_support import case_count, resident_id, submission
from tests.integration.lifecycle_support import act, assign, days_ago, read_case, submit


def raw(stack: Any, service: str, path: str) -> URL:
    """The URL exactly as written: aiohttp would otherwise re-quote ``%00`` and ``%FF``."""
    return URL(stack.url(service, path), encoded=True)


async def get(stack: Any, service: str, path: str, token: str | None = None
              ) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(
            raw(stack, service, path), headers=bearer(token) if token else {}) as r:
        return r.status, await r.json(content_type=None)


def named(body: Any) -> list[str]:
    return [e["field"] for e in body["errors"]]


REFUSED_GETS = [
    # (service, path, token, status, field the 422 names; Open311 answers 400 in its format)
    ("intake", "/v1/track/%00?code=x", None, 422, "tracking_no"),
    ("intake", "/v1/track/x?code=%00", None, 422, "code"),
    ("intake", "/v1/track/%FF?code=x", None, 422, "path"),
    ("intake", "/v1/track/x?code=%FF", None, 422, "code"),
    ("intake", "/v1/track/x?code=a%1Bb", None, 422, "code"),
    ("intake", "/open311/v2/requests.json?service_request_id=%00", STAFF, 400, None),
    ("intake", "/open311/v2/requests.json?service_code=%00", STAFF, 400, None),
    ("intake", "/open311/v2/requests/%00.json", STAFF, 400, None),
    ("deadlines", "/v1/deadlines/%00", STAFF, 422, "case_id"),
    ("deadlines", "/v1/overdue?unit=%00", STAFF, 422, "unit"),
    ("deadlines", "/v1/overdue?limit=%C2%B2", STAFF, 422, "limit"),
    ("deadlines", "/v1/calendar/%C2%B2", STAFF, 422, "year"),
    ("routing", "/v1/rules?version=99999999999999999999", STAFF, 422, "version"),
    ("routing", "/v1/assignments/%00", STAFF, 422, "case_id"),
    ("statistics", "/v1/reports/quarterly?year=%C2%B2&quarter=1", STAFF, 422, "year"),
    ("statistics", "/v1/stats/summary?channel=%00", STAFF, 422, "channel"),
    ("statistics", "/v1/reports/quarterly?year=6083&quarter=4&as_of=0001-01-01T01%3A00%3A01Z",
     STAFF, 422, "as_of"),
]


@pytest.mark.parametrize(("service", "path", "token", "status", "field"), REFUSED_GETS,
                         ids=[f"{s}:{p}" for s, p, *_ in REFUSED_GETS])
async def test_nul_control_characters_bad_encoding_and_overflow_in_path_or_query_are_refused(
        stack, service: str, path: str, token: str | None, status: int, field: str | None
) -> None:
    got, body = await get(stack, service, path, token)
    assert got == status, body
    if field is None:
        assert body[0]["code"] == 400 and body[0]["description"], body
    else:
        assert field in named(body), body


async def test_nul_in_an_action_reason_or_transfer_to_is_a_422_and_changes_nothing(stack
                                                                                  ) -> None:
    async with aiohttp.ClientSession() as http:
        case = await submit(http, stack, days_ago(3))
        await assign(http, stack, case["case_id"], at=days_ago(2))
        before = await read_case(http, stack, case["case_id"])
        status, body = await act(http, stack, case["case_id"], "decline", reason="不\x00受理")
        assert (status, named(body)) == (422, ["reason"]), body
        status, body = await act(http, stack, case["case_id"], "transfer_out",
                                 reason="不属本局", transfer_to="市\x00政府", token=STAFF)
        assert (status, named(body)) == (422, ["transfer_to"]), body
        after = await read_case(http, stack, case["case_id"])
    assert (after["status"], after["version"], len(after["timeline"])) == (
        before["status"], before["version"], len(before["timeline"]))


async def test_nul_in_a_routing_reassign_reason_is_a_422(stack) -> None:
    async with aiohttp.ClientSession() as http:
        case = await submit(http, stack, days_ago(1))
        url = stack.url("routing", f"/v1/assignments/{case['case_id']}")

        async def routed() -> bool:
            async with http.get(url, headers=bearer(STAFF)) as r:
                return r.status == 200

        await eventually(routed, within=30, what="routing decided the case")
        async with http.post(f"{url}/reassign", json={"unit": "city_bureau", "reason": "a\x00b"},
                             headers=bearer(STAFF)) as r:
            assert r.status == 422, await r.text()
            assert named(await r.json()) == ["reason"]
        async with http.get(url, headers=bearer(STAFF)) as r:
            assert len((await r.json())["history"]) == 1


# Before the earliest day (1000-01-01 in the local stack, whose statistics tests use past
# centuries; production's 1990-01-01 is tested in test_production_defaults.py) or too late.
@pytest.mark.parametrize("received_at", ["0001-01-01T00:00:00+08:00",
                                         "0999-12-31T23:59:59+08:00",
                                         "9999-12-31T23:59:59-08:00"])
async def test_received_at_out_of_range_is_a_422_not_a_500(stack, received_at: str) -> None:
    body = submission("letter", received_at=received_at)
    async with aiohttp.ClientSession() as http, http.post(
            stack.url("intake", "/v1/cases"), json=body,
            headers=bearer(channel_token("letter"))) as r:
        assert r.status == 422, await r.text()
        assert named(await r.json()) == ["received_at"]
    assert await case_count(stack.dsns["intake"], "external_id = $1", body["external_id"]) == 0


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00"])
async def test_action_at_out_of_range_is_a_422_not_a_500(stack, at: str) -> None:
    async with aiohttp.ClientSession() as http:
        case = await submit(http, stack, days_ago(3))
        await assign(http, stack, case["case_id"], at=days_ago(2))
        status, body = await act(http, stack, case["case_id"], "accept", at=at)
        assert (status, named(body)) == (422, ["at"]), body


async def _petitioner_key(dsn: str, case_id: str) -> str | None:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT petitioner_key FROM cases WHERE case_id = $1",
                                   uuid.UUID(case_id))
    finally:
        await conn.close()


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


@pytest.mark.parametrize("field", ["id_number", "phone"])
async def test_full_width_digits_give_the_same_petitioner_key(stack, field: str) -> None:
    ident = resident_id(birth="19770707", seq=f"{uuid.uuid4().int % 1000:03d}")
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    ascii_form = {"id_number": ident} if field == "id_number" else {"phone": phone}
    wide_form = {k: _full_width(v) for k, v in ascii_form.items()}
    assert wide_form != ascii_form
    keys = []
    async with aiohttp.ClientSession() as http:
        for form in (ascii_form, wide_form):
            body = submission("letter", petitioner={"name": "测试人", **form})
            async with http.post(stack.url("intake", "/v1/cases"), json=body,
                                 headers=bearer(channel_token("letter"))) as r:
                assert r.status == 201, await r.text()
                keys.append(await _petitioner_key(stack.dsns["intake"],
                                                  (await r.json())["case_id"]))
    assert keys[0] is not None and keys[0] == keys[1]


async def test_open311_registration_follows_the_roles_of_post_cases(stack) -> None:
    marker = f"o311-roles-{uuid.uuid4().hex[:8]}"
    form = {"service_code": "fees", "jurisdiction_id": "jizhou", "first_name": "四",
            "last_name": "王", "description": "学校收取资料费。", "external_id": marker}
    url = stack.url("intake", "/open311/v2/requests.json")
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data={**form, "api_key": STAFF}) as r:
            assert r.status == 403, await r.text()
            assert (await r.json())[0]["code"] == 403
        async with http.post(stack.url("intake", "/v1/cases"), headers=bearer(STAFF),
                             json=submission("online", external_id=marker)) as r:
            assert r.status == 403  # the same refusal through the JSON API
        assert await case_count(stack.dsns["intake"], "external_id = $1", marker) == 0
        async with http.post(url, data={**form, "api_key": ADMIN}) as r:
            assert r.status == 201, await r.text()


@pytest.mark.parametrize(("over", "field"), [
    ({"title": "标题\x00"}, "title"),
    ({"content": "内容\x07响铃"}, "content"),
    ({"signers": 99_999_999_999_999_999_999}, "signers"),
    ({"petitioner": {"name": "张\u0085三"}}, "petitioner.name"),
])
async def test_control_characters_and_huge_numbers_in_a_body_are_named(
        stack, over: dict[str, Any], field: str) -> None:
    body = submission("letter", **over)
    async with aiohttp.ClientSession() as http, http.post(
            stack.url("intake", "/v1/cases"), json=body,
            headers=bearer(channel_token("letter"))) as r:
        assert r.status == 422, await r.text()
        assert field in named(await r.json())
    assert await case_count(stack.dsns["intake"], "external_id = $1", body["external_id"]) == 0


async def test_newlines_and_tabs_in_free_text_still_pass(stack) -> None:
    body = submission("letter", content="第一段。\n\t第二段。\r\n")
    async with aiohttp.ClientSession() as http, http.post(
            stack.url("intake", "/v1/cases"), json=body,
            headers=bearer(channel_token("letter"))) as r:
        assert r.status == 201, await r.text()


async def test_open311_multipart_without_its_boundary_is_a_400_not_a_500(stack) -> None:
    async with aiohttp.ClientSession() as http, http.post(
            stack.url("intake", "/open311/v2/requests.json"), data=b"service_code=fees",
            headers={**bearer(channel_token("online")),
                     "Content-Type": "multipart/form-data"}) as r:
        assert r.status == 400, await r.text()
        assert (await r.json())[0]["code"] == 400
