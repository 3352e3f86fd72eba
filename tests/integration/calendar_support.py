"""What the calendar tests share: a quiet stretch of a year without library data, the calendar
PUT, and reading a statistics summary or a consumer's folded calendar versions."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

import aiohttp
import asyncpg

from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import SHANGHAI
from shared.tools.testing.helpers import eventually
from shared.tools.testing.tokens import ADMIN, STAFF, bearer
from tests.integration.lifecycle_support import read_case

# Years the calendar library has no data for, that intake accepts (it refuses days before
# 1990): counted on weekends only until an operator enters them. Past years, so that a due date
# and the action after it both lie before the real clock's now.
YEARS_WITHOUT_DATA = [y for y in range(1990, 2004) if not WorkingCalendar().has_data(y)]


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), SHANGHAI)


async def summary(http: aiohttp.ClientSession, stack: Any, start: date, end: date
                  ) -> dict[str, Any]:
    params = {"from": start.isoformat(), "to": end.isoformat()}
    async with http.get(stack.url("statistics", "/v1/stats/summary"), params=params,
                        headers=bearer(STAFF)) as r:
        assert r.status == 200, await r.text()
        return dict(await r.json())


async def quiet_days(http: aiohttp.ClientSession, stack: Any, rng: random.Random, days: int,
                     *, first_month: int = 2, last_month: int = 6) -> date:
    """A first day of ``days`` days in a year without library data on which no case was
    received (earlier runs and other tests leave theirs elsewhere)."""
    for _ in range(40):
        year = rng.choice(YEARS_WITHOUT_DATA)
        start = date(year, first_month, 1) + timedelta(
            days=rng.randrange((date(year, last_month, 28) - date(year, first_month, 1)).days))
        if (await summary(http, stack, start, start + timedelta(days=days - 1)))["received"] == 0:
            return start
    raise AssertionError("no quiet stretch of days in the years without calendar data")


async def put_year(http: aiohttp.ClientSession, stack: Any, year: int, holidays: list[date]
                   ) -> dict[str, Any]:
    body = {"holidays": sorted({d.isoformat() for d in holidays}), "workdays": []}
    async with http.put(stack.url("deadlines", f"/v1/calendar/{year}"), json=body,
                        headers=bearer(ADMIN)) as r:
        assert r.status == 200, await r.text()
        return dict(await r.json())


async def remove_year(http: aiohttp.ClientSession, stack: Any, year: int) -> None:
    async with http.delete(stack.url("deadlines", f"/v1/calendar/{year}"),
                           headers=bearer(ADMIN)) as r:
        assert r.status == 200, await r.text()


async def assigned(http: aiohttp.ClientSession, stack: Any, case_id: str) -> dict[str, Any]:
    """Routing's record of the case once it has decided it (assigned, or linked)."""

    async def decided() -> dict[str, Any] | None:
        async with http.get(stack.url("routing", f"/v1/assignments/{case_id}"),
                            headers=bearer(STAFF)) as r:
            if r.status != 200:
                return None
            body = dict(await r.json())
        if body["link"] is None and body["current"] is None:
            return None
        record = await read_case(http, stack, case_id)
        # intake applied the assignment too (a linked case stays registered)
        return body if body["link"] or record["status"] == "assigned" else None

    return await eventually(decided, within=30, what=f"routing's decision on {case_id}")


async def folded_revision(dsn: str) -> int:
    """The latest calendar revision a consuming service has folded into its database."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(
            "SELECT coalesce(max(revision), 0) FROM calendar_versions"))
    finally:
        await conn.close()
