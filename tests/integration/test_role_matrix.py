"""The role matrix (role_matrix.yaml) cell by cell against the real services."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from shared.tools.testing.helpers import eventually
from shared.tools.testing.people import person
from shared.tools.testing.tokens import STAFF, bearer, channel_token, unit_token
from tests.integration.intake_support import submission

MATRIX = yaml.safe_load((Path(__file__).with_name("role_matrix.yaml")).read_text("utf-8"))
CALLERS = ("anonymous", "clerk", "handler", "handler_other_unit", "unit_head", "leader",
           "staff", "admin", "channel_right", "channel_other", "unit_machine")
MACHINE_UNITS = ("jizhou_bureau", "jian_bureau")  # units with a development machine token


def _cells() -> list[Any]:
    cells = []
    for row in MATRIX["rows"]:
        unknown = set(row["expect"]) - {"default", *CALLERS}
        assert not unknown, f"{row['path']}: unknown callers {unknown}"
        for caller in CALLERS:
            expected = row["expect"].get(caller, row["expect"]["default"])
            cells.append(pytest.param(row, caller, expected,
                                      id=f"{row['method']} {row['service']}{row['path']} "
                                         f"as {caller} -> {expected}"))
    return cells


@pytest.fixture(scope="module")
async def world(stack) -> dict[str, Any]:
    """One letter case assigned to a unit that has a machine token, and a caller per column."""
    async with aiohttp.ClientSession() as http:
        case = None
        for _ in range(5):  # routing decides the unit; use a case that lands on one we know
            async with http.post(stack.url("intake", "/v1/cases"), json=submission("letter"),
                                 headers=bearer(channel_token("letter"))) as r:
                created = await r.json()
            case_id = created["case_id"]

            async def unit(case_id: str = case_id) -> str | None:
                async with http.get(stack.url("intake", f"/v1/cases/{case_id}"),
                                    headers=bearer(STAFF)) as r:
                    return (await r.json())["assigned_unit"]

            if await eventually(unit, within=60, what="routing to assign") in MACHINE_UNITS:
                case = created | {"unit": await unit()}
                break
        assert case is not None, "no test case reached a unit with a machine token"
        own = case["unit"]
        other = next(u for u in MACHINE_UNITS if u != own)

        async def deadlines_known() -> bool:
            async with http.get(stack.url("deadlines", f"/v1/deadlines/{case['case_id']}"),
                                headers=bearer(STAFF)) as r:
                return r.status == 200

        await eventually(deadlines_known, within=60, what="deadlines to know the case")
        console = stack.url("console", "")
        headers: dict[str, dict[str, str]] = {"anonymous": {}}
        for caller, role, extra in (
                ("clerk", "clerk", {"channels": ["letter", "visit"]}),
                ("handler", "handler", {"unit": own}),
                ("handler_other_unit", "handler", {"unit": other}),
                ("unit_head", "unit_head", {"unit": own}),
                ("leader", "leader", {}), ("staff", "staff", {}), ("admin", "admin", {})):
            headers[caller] = (await person(http, console, role, **extra)).headers
        headers["channel_right"] = bearer(channel_token("letter"))
        headers["channel_other"] = bearer(channel_token("visit"))
        headers["unit_machine"] = bearer(unit_token(own))
    return {"case": case, "headers": headers}


@pytest.mark.parametrize(("row", "caller", "expected"), _cells())
async def test_cell(stack, world: dict[str, Any], row: dict[str, Any], caller: str,
                    expected: int) -> None:
    case = world["case"]
    ids = {"case_id": case["case_id"], "tracking_no": case["tracking_no"],
           "query_code": case["query_code"]}
    path = row["path"].format(**ids)
    headers = dict(world["headers"][caller])
    kwargs: dict[str, Any] = {"headers": headers}
    body = row.get("body")
    if body == "new_letter":
        kwargs["json"] = submission("letter", external_id=f"matrix-{uuid.uuid4()}")
    elif isinstance(body, str):
        kwargs["data"] = body.encode()
        headers["Content-Type"] = row["content_type"]
    elif body is not None:  # placeholders in a JSON body's strings too (the query code)
        kwargs["json"] = {k: v.format(**ids) if isinstance(v, str) else v
                          for k, v in body.items()}
    async with aiohttp.ClientSession() as http, http.request(
            row["method"], stack.url(row["service"], path), **kwargs) as r:
        answer = await r.text()
    assert r.status == expected, answer[:500]
