"""GET /v1/cases through the real stack: who sees which cases, due-first order, keyset pages
with X-Total-Count, and filters that name the parameter they reject."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from shared.tools.testing.people import person
from shared.tools.testing.tokens import STAFF, bearer
from tests.integration.intake_support import submission
from tests.integration.lifecycle_support import assign, days_ago, submit


async def _list(http: aiohttp.ClientSession, stack: Any, headers: dict[str, str],
                **params: str) -> tuple[int, dict[str, Any], str | None]:
    async with http.get(stack.url("intake", "/v1/cases"), params=params,
                        headers=headers) as r:
        return r.status, dict(await r.json()), r.headers.get("X-Total-Count")


async def test_a_units_open_cases_due_first_in_keyset_pages(stack) -> None:
    unit = f"t_list_{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as http:
        ids = []
        for age in (3, 9, 6):  # received 3, 9 and 6 days ago: the 9-day-old is due first
            case = await submit(http, stack, days_ago(age))
            await assign(http, stack, case["case_id"], at=days_ago(age), unit=unit)
            ids.append(case["case_id"])
        handler = await person(http, stack.url("console", ""), "handler", unit=unit)
        status, page1, total = await _list(http, stack, handler.headers, status="open",
                                           sort="due", limit="2")
        assert status == 200, page1
        assert total == "3"
        assert [i["case_id"] for i in page1["items"]] == [ids[1], ids[2]]
        assert page1["next_cursor"]
        assert all("petitioner" not in i for i in page1["items"]), "no personal data in lists"
        status, page2, _ = await _list(http, stack, handler.headers, status="open", sort="due",
                                       limit="2", cursor=page1["next_cursor"])
        assert status == 200, page2
        assert [i["case_id"] for i in page2["items"]] == [ids[0]]
        assert page2["next_cursor"] is None
        # Another unit's handler sees none of them; staff see them with a unit filter.
        other = await person(http, stack.url("console", ""), "handler",
                             unit=f"t_other_{uuid.uuid4().hex[:8]}")
        _, theirs, total = await _list(http, stack, other.headers)
        assert total == "0" and theirs["items"] == []
        _, staff, total = await _list(http, stack, bearer(STAFF), unit=unit)
        assert total == "3" and {i["case_id"] for i in staff["items"]} == set(ids)
        _, accepted, total = await _list(http, stack, bearer(STAFF), unit=unit,
                                         status="accepted")
        assert total == "0" and accepted["items"] == []


async def test_a_clerk_lists_what_they_registered(stack) -> None:
    async with aiohttp.ClientSession() as http:
        clerk = await person(http, stack.url("console", ""), "clerk", channels=["letter"])
        async with http.post(stack.url("intake", "/v1/cases"), json=submission("letter"),
                             headers=clerk.headers) as r:
            assert r.status == 201, await r.text()
            mine = (await r.json())["case_id"]
        await submit(http, stack, days_ago(1))  # someone else's registration
        status, body, total = await _list(http, stack, clerk.headers, sort="received")
        assert status == 200, body
        assert total == "1" and [i["case_id"] for i in body["items"]] == [mine]


async def test_bad_filters_get_422_naming_the_parameter(stack) -> None:
    async with aiohttp.ClientSession() as http:
        for params, field in (({"status": "bogus"}, "status"), ({"limit": "0"}, "limit"),
                              ({"limit": "abc"}, "limit"), ({"sort": "name"}, "sort"),
                              ({"cursor": "not-a-cursor"}, "cursor"),
                              ({"channel": "pigeon"}, "channel"),
                              ({"unit": "DROP TABLE"}, "unit"), ({"q": "x" * 101}, "q")):
            status, body, _ = await _list(http, stack, bearer(STAFF), **params)
            assert status == 422, (params, body)
            assert [e["field"] for e in body["errors"]] == [field], body
        async with http.get(stack.url("intake", "/v1/cases")) as r:
            assert r.status == 401
