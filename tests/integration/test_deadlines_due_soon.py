"""临期: ``GET /v1/due-soon`` lists the open duties that were warned and are not overdue, due
first, with the days left; an overdue duty is in ``/v1/overdue`` only; a unit sees its own."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import DeadlineKind, compute_due, local_date
from shared.tools.testing.tokens import STAFF, bearer, unit_token
from tests.integration.test_deadlines_timers import (
    DEADLINES_URL,
    CaseScript,
    days_ago,
    produce,
    timer_when,
)


async def listed(http: aiohttp.ClientSession, path: str, unit: str, token: str = STAFF
                 ) -> tuple[int, Any]:
    async with http.get(f"{DEADLINES_URL}{path}", params={"unit": unit},
                        headers=bearer(token)) as r:
        return r.status, await r.json()


async def test_warned_duties_are_due_soon_and_overdue_ones_are_not(stack: Any) -> None:
    unit = f"t-unit-{uuid.uuid4().hex[:10]}"
    # Not yet accepted 10 days after receipt: the 15-day acceptance notice is warned (7 days).
    soon = CaseScript(unit=unit).registered(days_ago(10)).assigned(days_ago(9.9))
    late = CaseScript(unit=unit).registered(days_ago(40)).assigned(days_ago(39.9))
    await produce(stack.bootstrap, [soon, late])
    async with aiohttp.ClientSession() as http:
        await timer_when(http, soon.case_id, "acceptance", status="warned")
        await timer_when(http, late.case_id, "acceptance", status="overdue")
        status, items = await listed(http, "/v1/due-soon", unit)
        assert status == 200
        due = compute_due(DeadlineKind.acceptance, local_date(days_ago(10)),
                          WorkingCalendar()).due_date
        assert [(i["case_id"], i["kind"], i["due_date"]) for i in items] == [
            (soon.case_id, "acceptance", due.isoformat())]
        assert items[0]["days_left"] == (due - local_date(days_ago(0))).days
        assert items[0]["jurisdiction"] == {"key": "jizhou", "label": "吉州区"}
        status, overdue = await listed(http, "/v1/overdue", unit)
        assert {i["case_id"] for i in overdue} == {late.case_id}
        # A unit's own token sees only its own list; another unit's is refused.
        status, _ = await listed(http, "/v1/due-soon", unit, unit_token("jizhou_bureau"))
        assert status == 403
