"""Group visits (Art. 20) and the figures beside cases, through the public APIs: six
representatives refused naming the field, five kept encrypted and off the topics; statistics
count people (人次) beside cases (件次) and urges (督办), in the summary and by unit."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp

from shared.domain.limits import SHANGHAI
from shared.platform.topics import CASE_EVENTS
from shared.tools.testing.helpers import end_offsets, eventually, read_topic
from shared.tools.testing.tokens import STAFF, bearer, channel_token
from tests.integration.intake_support import submission
from tests.integration.lifecycle_support import act
from tests.integration.test_statistics_support import fresh_block

NAMES = ["代表甲", "代表乙", "代表丙", "代表丁", "代表戊", "代表己"]


def group_visit(received_at: datetime, representatives: int, **over: Any) -> dict[str, Any]:
    return submission("visit", received_at=received_at.isoformat(), signers=30,
                      representatives=[{"name": n, "phone": "13900139000"}
                                       for n in NAMES[:representatives]], **over)


async def _post(http: aiohttp.ClientSession, stack: Any, body: dict[str, Any]
                ) -> tuple[int, dict[str, Any]]:
    async with http.post(stack.url("intake", "/v1/cases"), json=body,
                         headers=bearer(channel_token(body["channel"]))) as r:
        return r.status, await r.json()


async def test_six_representatives_are_refused_and_five_stay_in_intake(stack) -> None:
    since = await end_offsets(stack.bootstrap, CASE_EVENTS.name())
    at = datetime.now(SHANGHAI) - timedelta(hours=1)
    async with aiohttp.ClientSession() as http:
        code, body = await _post(http, stack, group_visit(at, 6))
        assert code == 422, body
        assert [e["field"] for e in body["errors"]] == ["representatives"]
        assert "代表" not in str(body)  # the message names the rule, not the people
        code, created = await _post(http, stack, group_visit(at, 5))
        assert code == 201, created
        case_id = created["case_id"]
        async with http.get(stack.url("intake", f"/v1/cases/{case_id}"),
                            params={"purpose": "核实集体访代表身份"},
                            headers=bearer(STAFF)) as r:
            record = await r.json()
        async with http.get(stack.url("intake", f"/v1/cases/{case_id}"),
                            headers=bearer(STAFF)) as r:
            withheld = await r.json()
    assert record["representatives"] == 5 and record["signers"] == 30
    assert [p["name"] for p in record["petitioner"]["representatives"]] == NAMES[:5]
    assert "representatives" not in withheld["petitioner"]  # without a purpose: withheld
    msgs = await read_topic(stack.bootstrap, CASE_EVENTS.name(), since=since, until=lambda m: any(
        e is not None and e.subject == case_id for _, e in m))
    [event] = [e for _, e in msgs if e is not None and e.subject == case_id]
    assert event.data.representatives == 5  # type: ignore[attr-defined]
    assert not any(n in raw.value.decode() for raw, _ in msgs for n in NAMES)


async def _summary(http: aiohttp.ClientSession, stack: Any, y: int) -> dict[str, Any]:
    async with http.get(stack.url("statistics", "/v1/stats/summary"),
                        params={"from": f"{y}-01-01", "to": f"{y}-12-31"},
                        headers=bearer(STAFF)) as r:
        return dict(await r.json())


async def test_statistics_count_people_beside_cases_and_urges_by_unit(stack) -> None:
    async with aiohttp.ClientSession() as http:
        y = await fresh_block(http, stack, random.Random(), years=1)
        # A fixed +08:00: before 1901 the zone database gives Shanghai its local mean time.
        received = datetime(y, 3, 2, 9, tzinfo=timezone(timedelta(hours=8)))
        code, group = await _post(http, stack, group_visit(received, 3))
        assert code == 201, group
        code, single = await _post(http, stack, submission(
            "letter", received_at=received.isoformat(), jurisdiction="jian"))
        assert code == 201, single
        for days in (3, 5):  # urged twice: also a key case
            code, body = await act(http, stack, group["case_id"], "urge", token=STAFF,
                                   at=received + timedelta(days=days), note="请按期办理",
                                   respond_by=f"{y}-03-20")
            assert code == 200, body

        async def counted() -> dict[str, Any] | None:
            figures = await _summary(http, stack, y)
            return figures if (figures["received"], figures["urges"]) == (2, 2) else None

        summary = await eventually(counted, within=60, what="both cases and the urges counted")

        async def by_unit() -> dict[str, tuple[int, int, int]] | None:
            async with http.get(stack.url("statistics", "/v1/stats/breakdown"),
                                params={"by": "unit", "from": f"{y}-01-01", "to": f"{y}-12-31"},
                                headers=bearer(STAFF)) as r:
                rows = {row["key"]: (row["count"], row["people"], row["urges"])
                        for row in (await r.json())["rows"]}
            return rows if "unassigned" not in rows else None  # routing's assignments in

        rows = await eventually(by_unit, within=60, what="both cases filed under their units")
        async with http.get(stack.url("statistics", "/v1/stats/summary"),
                            params={"from": f"{y}-01-01", "to": f"{y}-12-31",
                                    "as_of": (received + timedelta(days=4)).isoformat()},
                            headers=bearer(STAFF)) as r:
            between = await r.json()
    assert summary["people"] == 31  # the group's thirty and one letter writer
    assert between["urges"] == 1 and between["people"] == 31  # as of the day between urges
    assert rows == {"jizhou_bureau": (1, 30, 2), "jian_bureau": (1, 1, 0)}
