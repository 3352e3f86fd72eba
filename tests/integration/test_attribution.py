"""Attribution through the real pipeline: every step names the person (account and name) or
the machine client who took it; the public tracking page names the unit, never the person."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import asyncpg

from shared.tools.testing.helpers import eventually
from shared.tools.testing.people import Person, person
from shared.tools.testing.tokens import ADMIN, STAFF, bearer
from tests.integration.intake_support import submission


async def _case(http: aiohttp.ClientSession, url: str, who: Person | str) -> dict[str, Any]:
    headers = who.headers if isinstance(who, Person) else bearer(who)
    async with http.get(url, headers=headers) as r:
        body = await r.json()
        assert r.status == 200, body
        return dict(body)


async def test_each_step_names_the_person_and_tracking_names_the_unit(stack) -> None:
    console = stack.url("console", "")
    async with aiohttp.ClientSession() as http:
        clerk = await person(http, console, "clerk", channels=["letter"], name="赵登记")
        other_clerk = await person(http, console, "clerk", channels=["letter"], name="钱登记")
        async with http.post(stack.url("intake", "/v1/cases"), json=submission("letter"),
                             headers=clerk.headers) as r:
            created = await r.json()
            assert r.status == 201, created
        case_url = stack.url("intake", f"/v1/cases/{created['case_id']}")

        async def assigned() -> str | None:
            return (await _case(http, case_url, STAFF))["assigned_unit"]

        unit = await eventually(assigned, within=60, what="routing to assign the case")
        handler = await person(http, console, "handler", unit=unit, name="李承办")
        async with http.post(f"{case_url}/actions", json={"action": "accept"},
                             headers=handler.headers) as r:
            assert r.status == 200, await r.text()
        staff = await person(http, console, "staff", name="王信访")
        record = await _case(http, f"{case_url}?purpose=核实", staff)
        # The clerk reads the case they registered, without the petitioner's identity; another
        # clerk may not.
        own = await _case(http, case_url, clerk)
        assert "name" not in own["petitioner"]
        async with http.get(case_url, headers=other_clerk.headers) as r:
            assert r.status == 403
        async with http.get(stack.url("intake", f"/v1/track/{created['tracking_no']}"),
                            params={"code": created["query_code"]}) as r:
            public = await r.json()
    steps = {s["action"]: s for s in record["timeline"]}
    assert steps["register"]["actor_name"] == "赵登记"
    assert steps["register"]["actor_id"] == f"account:{clerk.account['account_id']}"
    assert steps["assign"]["actor_id"] == "service:routing"
    assert steps["accept"]["actor_name"] == "李承办"
    assert steps["accept"]["actor_id"] == f"account:{handler.account['account_id']}"
    assert steps["accept"]["actor"] == unit
    for step in public["timeline"]:
        assert "actor_name" not in step and "actor_id" not in step
        assert step["actor"] not in ("赵登记", "李承办")
    assert {s["actor"] for s in public["timeline"]} >= {unit}
    conn = await asyncpg.connect(stack.dsns["intake"])
    try:
        reads = await conn.fetch("SELECT actor, actor_id, role FROM personal_data_reads "
                                 "WHERE case_id = $1", uuid.UUID(created["case_id"]))
    finally:
        await conn.close()
    assert [(r["actor"], r["actor_id"], r["role"]) for r in reads if r["actor"] == "王信访"] == [
        ("王信访", f"account:{staff.account['account_id']}", "staff")]


async def test_a_reassignment_names_the_staff_member_in_routing_and_on_the_case(stack) -> None:
    console = stack.url("console", "")
    async with aiohttp.ClientSession() as http:
        async with http.post(stack.url("intake", "/v1/cases"), json=submission("letter"),
                             headers=bearer("dev-channel-letter-0000000000001")) as r:
            created = await r.json()
        case_url = stack.url("intake", f"/v1/cases/{created['case_id']}")

        async def assigned() -> str | None:
            return (await _case(http, case_url, STAFF))["assigned_unit"]

        first = await eventually(assigned, within=60, what="routing to assign the case")
        target = "jian_bureau" if first != "jian_bureau" else "jizhou_bureau"
        staff = await person(http, console, "staff", name="周督办")
        async with http.post(stack.url("routing", f"/v1/assignments/{created['case_id']}"
                                                  "/reassign"),
                             json={"unit": target, "reason": "属地管理"},
                             headers=staff.headers) as r:
            decided = await r.json()
            assert r.status == 201, decided
        account = f"account:{staff.account['account_id']}"
        assert decided["actor"] == f"周督办 <{account}>"
        async with http.get(stack.url("routing", "/v1/audit"),
                            params={"case_id": created["case_id"]}, headers=bearer(ADMIN)) as r:
            (audited,) = (await r.json())["items"]
        assert (audited["action"], audited["actor"]["id"], audited["detail"]["reason"]) == (
            "assignment.reassign", account, "属地管理")

        async def reassigned() -> dict[str, dict[str, Any]] | None:
            steps = {s["action"]: s for s in (await _case(http, case_url, STAFF))["timeline"]}
            return steps if "reassign" in steps else None

        steps = await eventually(reassigned, within=60, what="intake to record the reassignment")
    assert (steps["reassign"]["actor_id"], steps["reassign"]["actor_name"]) == (account, "周督办")
    assert steps["register"]["actor_id"] == "client:dev-letter-gateway"
