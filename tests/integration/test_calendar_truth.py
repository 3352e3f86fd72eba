"""One calendar truth, end to end through the public APIs: a year's holidays entered with
`PUT /v1/calendar/{year}` (a year the library has no data for, each changed day a due day)
move intake's objection and review windows, routing's Art. 19 repeat window, deadlines' due
dates (with the version they were counted on, the year's history and the provisional list) and
statistics' on-time judgement; and a rebuild of the statistics projection afterwards gives the
live figures.

The cases are paper history in a quiet stretch of a year before 2004 (no case received there
yet), so their due dates and the actions after them lie in the past of the real clock.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import aiohttp

from services.statistics.config import StatisticsSettings
from services.statistics.main import projector_for
from services.statistics.queries import Engine, StatsQuery
from services.statistics.rebuild import drop_schema, rebuild
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import DeadlineKind, compute_due
from shared.platform.clock import SystemClock
from shared.tools.testing.helpers import eventually
from shared.tools.testing.tokens import STAFF, bearer, unit_token
from tests.integration.calendar_support import (
    assigned,
    at,
    folded_revision,
    put_year,
    quiet_days,
    remove_year,
    summary,
)
from tests.integration.intake_support import submission
from tests.integration.lifecycle_support import act, read_case, submit

DAY = timedelta(days=1)


async def _unit_act(http: aiohttp.ClientSession, stack: Any, case_id: str, action: str,
                    **fields: Any) -> tuple[int, dict[str, Any]]:
    unit = (await read_case(http, stack, case_id))["assigned_unit"]
    return await act(http, stack, case_id, action, token=unit_token(unit), **fields)


async def _deadline(http: aiohttp.ClientSession, stack: Any, case_id: str, kind: str
                    ) -> dict[str, Any]:
    async with http.get(stack.url("deadlines", f"/v1/deadlines/{case_id}"),
                        headers=bearer(STAFF)) as r:
        assert r.status == 200, await r.text()
        return next(t for t in await r.json() if t["kind"] == kind)


async def _provisional(http: aiohttp.ClientSession, stack: Any, year: int) -> set[str]:
    async with http.get(stack.url("deadlines", "/v1/deadlines/provisional"),
                        params={"year": str(year), "kind": "handling"},
                        headers=bearer(STAFF)) as r:
        assert r.status == 200, await r.text()
        return {t["case_id"] for t in await r.json()}


async def _figures(dsn: str, schema: str, start: date, end: date) -> dict[str, list[int]]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"SET search_path TO {schema}")
        result = await Engine(conn).run(StatsQuery(start, end, SystemClock().now()))
        return {str(k): list(v) for k, v in result.items()}
    finally:
        await conn.close()


async def test_a_calendar_change_moves_every_window_and_figure(stack: Any) -> None:
    rng = random.Random()
    none = WorkingCalendar()
    async with aiohttp.ClientSession() as http:
        d0 = await quiet_days(http, stack, rng, 3)
        year, da, db, dd = d0.year, d0, d0 + DAY, d0 + 2 * DAY
        # A: the unit's objection window (5 working days from the assignment).
        a = (await submit(http, stack, at(da)))["case_id"]
        # B: accepted, in handling: the Art. 19 window of the same petitioner's next petition.
        petitioner = submission()["petitioner"]
        b = (await submit(http, stack, at(db, 9), petitioner=petitioner))["case_id"]
        # D: answered a day after its handling due date (late), then the review window.
        d = (await submit(http, stack, at(dd, 9)))["case_id"]
        for case_id in (a, b, d):
            await assigned(http, stack, case_id)
        assert (await _unit_act(http, stack, b, "accept", at=at(db, 15)))[0] == 200
        assert (await _unit_act(http, stack, d, "accept", at=at(dd, 11)))[0] == 200
        g0 = compute_due(DeadlineKind.handling, dd, none).due_date
        for action, hour in (("reply", 10), ("close", 11)):
            status, body = await _unit_act(http, stack, d, action, at=at(g0 + DAY, hour),
                                           reason="书面答复" if action == "reply" else None)
            assert status == 200, body

        d5 = compute_due(DeadlineKind.objection, da, none).due_date
        h0 = compute_due(DeadlineKind.handling, db, none).due_date
        r0 = compute_due(DeadlineKind.review_request, g0 + DAY, none).due_date
        holidays = [d5, h0, g0, r0]  # each a due day, made a holiday
        new = WorkingCalendar({year: {"holidays": [x.isoformat() for x in holidays],
                                      "workdays": []}})
        d5n = compute_due(DeadlineKind.objection, da, new).due_date
        h1 = compute_due(DeadlineKind.handling, db, new).due_date
        r1 = compute_due(DeadlineKind.review_request, g0 + DAY, new).due_date
        assert d5n > d5 and h1 > h0 and r1 > r0
        assert all(x.year == year for x in (d5n, h1, r1, g0))
        assert compute_due(DeadlineKind.handling, dd, new).due_date >= g0 + DAY

        # Before: the old windows hold everywhere.
        status, body = await _unit_act(http, stack, a, "object", at=at(d5n), reason="非本单位职责")
        assert status == 422 and body["errors"][0]["field"] == "at", body
        status, body = await _unit_act(http, stack, d, "request_review", at=at(r1))
        assert status == 422 and body["errors"][0]["field"] == "at", body
        c1 = (await submit(http, stack, at(h1, 10), petitioner=petitioner))["case_id"]
        assert (await assigned(http, stack, c1))["link"] is None  # past B's limit: new matter

        async def judged(rate: float) -> dict[str, Any] | None:
            s = await summary(http, stack, dd, dd)
            return s if s["closed"] == 1 and s["on_time_rate"] == rate else None

        await eventually(lambda: judged(0.0), what="D judged late")
        assert b in await _provisional(http, stack, year)

        try:
            applied = await put_year(http, stack, year, holidays)
            revision = applied["revision"]
            for service in ("intake", "routing", "statistics"):
                async def folded(service: str = service) -> bool:
                    return await folded_revision(stack.dsns[service]) >= revision

                await eventually(folded, within=20, what=f"{service} to fold the calendar")

            # After: every service counts on the new days.
            status, body = await _unit_act(http, stack, a, "object", at=at(d5n),
                                           reason="非本单位职责")
            assert status == 200, body
            status, body = await _unit_act(http, stack, d, "request_review", at=at(r1))
            assert status == 200, body
            c2 = (await submit(http, stack, at(h1, 11), petitioner=petitioner))["case_id"]
            link = (await assigned(http, stack, c2))["link"]
            assert link is not None and (link["kind"], link["linked_to"]) == ("repeat", b)
            await eventually(lambda: judged(100.0), what="D judged on time")

            handling = await _deadline(http, stack, b, "handling")
            assert (handling["due_date"], handling["provisional"],
                    handling["calendar_version"]) == (h1.isoformat(), False, revision)
            async with http.get(stack.url("deadlines", f"/v1/calendar/{year}/history"),
                                headers=bearer(STAFF)) as r:
                version = (await r.json())["versions"][-1]
            assert (version["revision"], version["actor"]["name"]) == (
                revision, "dev-admin-console")
            assert {"case_id": b, "kind": "handling", "round": 0,
                    "old_due_date": h0.isoformat(),
                    "new_due_date": h1.isoformat()} in version["moved"]
            assert b not in await _provisional(http, stack, year)

            # A rebuild replays the calendar too: the same figures as the live projection,
            # once the alerts of the three cases (A's acceptance, B's handling, D's review
            # decision) are all counted.
            await eventually(lambda: _overdue(http, stack, da, dd, 3), within=40,
                             what="the three overdue alerts counted")
            dsn = stack.dsns["statistics"]
            result = await rebuild(dsn, stack.bootstrap, projector_for(StatisticsSettings()),
                                   say=lambda _: None)
            try:
                rebuilt = await _figures(dsn, result.schema, da, dd)
                assert rebuilt == await _figures(dsn, "public", da, dd)
                assert sum(v[2] for v in rebuilt.values()) >= 1  # D closed on time, rebuilt too
            finally:
                await drop_schema(dsn, result.schema)
            # B answered and closed: no case of this test stays in a unit's handling queue
            # (the console's queue test lists the first 50 by due date).
            for action, hour in (("reply", 12), ("close", 13)):
                status, body = await _unit_act(http, stack, b, action, at=at(h1, hour),
                                               reason="书面答复" if action == "reply" else None)
                assert status == 200, body
        finally:
            await remove_year(http, stack, year)


async def _overdue(http: aiohttp.ClientSession, stack: Any, start: date, end: date, n: int
                   ) -> bool:
    return bool((await summary(http, stack, start, end))["overdue"] == n)
