"""超期与临期 by group: ``GET /v1/overdue/summary?by=unit|jurisdiction`` counts cases, not
timers — a case with two late duties once, a case overdue on one duty and due soon on another
as overdue only — the same figures the dashboard used to count from the two lists; a unit sees
only its own; a bad ``by`` is a 422 naming it. Case events are produced straight onto the
topics for a unit no other test uses, so the counts are exact."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from shared.tools.testing.tokens import STAFF, bearer, unit_token
from tests.integration.test_deadlines_timers import (
    DEADLINES_URL,
    CaseScript,
    days_ago,
    produce,
    timer_when,
)
from tests.integration.test_report_back import BODY, DAYS, received_days_before_due


async def _get(http: aiohttp.ClientSession, path: str, token: str = STAFF,
               **params: str) -> tuple[int, Any]:
    async with http.get(f"{DEADLINES_URL}{path}", params=params, headers=bearer(token)) as r:
        return r.status, await r.json()


def _by_case(overdue: list[dict[str, Any]], due_soon: list[dict[str, Any]]
             ) -> tuple[int, int]:
    """The dashboard's former rule over the two lists: cases late, cases only due soon."""
    late = {i["case_id"] for i in overdue}
    return len(late), len({i["case_id"] for i in due_soon} - late)


async def test_the_summary_counts_cases_per_unit_and_jurisdiction(stack: Any) -> None:
    unit = f"t-unit-{uuid.uuid4().hex[:10]}"
    n = received_days_before_due(1, 6)
    # Two late duties (acceptance and the report back): one overdue case.
    twice = (CaseScript(unit=unit).registered(days_ago(DAYS + 20), channel="provincial_transfer",
                                              assigned_by=BODY).assigned(days_ago(DAYS + 19)))
    # Acceptance overdue, the report back due soon: overdue only.
    both = (CaseScript(unit=unit).registered(days_ago(n), channel="provincial_transfer",
                                             assigned_by=BODY).assigned(days_ago(n - 0.1)))
    # In 吉安县: one overdue letter and one due soon (its acceptance notice warned).
    late = CaseScript(unit=unit, jurisdiction="jian").registered(days_ago(40)).assigned(
        days_ago(39.9))
    soon = CaseScript(unit=unit, jurisdiction="jian").registered(days_ago(10)).assigned(
        days_ago(9.9))
    await produce(stack.bootstrap, [twice, both, late, soon])
    async with aiohttp.ClientSession() as http:
        for case, kind, state in ((twice, "acceptance", "overdue"),
                                  (twice, "report_back", "overdue"),
                                  (both, "acceptance", "overdue"),
                                  (both, "report_back", "warned"),
                                  (late, "acceptance", "overdue"),
                                  (soon, "acceptance", "warned")):
            await timer_when(http, case.case_id, kind, status=state)
        for case in (twice, both, late, soon):  # its assignment applied: the unit is known
            await timer_when(http, case.case_id, "routing", status="met")

        status, by_unit = await _get(http, "/v1/overdue/summary", by="unit", unit=unit)
        assert status == 200, by_unit
        assert by_unit == {"by": "unit", "overdue": 3, "due_soon": 1, "rows": [
            {"key": unit, "label": None, "overdue": 3, "due_soon": 1}]}
        status, by_place = await _get(http, "/v1/overdue/summary", by="jurisdiction",
                                      unit=unit)
        assert status == 200, by_place
        assert by_place["rows"] == [
            {"key": "jizhou", "label": "吉州区", "overdue": 2, "due_soon": 0},
            {"key": "jian", "label": "吉安县", "overdue": 1, "due_soon": 1}]
        # The same figures as the lists the dashboard used to count, timer by timer.
        _, overdue = await _get(http, "/v1/overdue", unit=unit, limit="10000")
        _, due_soon = await _get(http, "/v1/due-soon", unit=unit, limit="10000")
        assert len(overdue) == 4 and len(due_soon) == 2  # timers: more than the cases
        assert _by_case(overdue, due_soon) == (3, 1)
        status, one_kind = await _get(http, "/v1/overdue/summary", by="unit", unit=unit,
                                      kind="report_back")
        assert (one_kind["overdue"], one_kind["due_soon"]) == (1, 1), one_kind


async def test_a_unit_sees_its_own_and_a_bad_group_names_the_field(stack: Any) -> None:
    own = unit_token("jizhou_bureau")
    async with aiohttp.ClientSession() as http:
        status, body = await _get(http, "/v1/overdue/summary", own, by="unit")
        assert status == 200, body
        assert {r["key"] for r in body["rows"]} <= {"jizhou_bureau"}
        status, body = await _get(http, "/v1/overdue/summary", own, by="jurisdiction")
        assert status == 200, body
        status, body = await _get(http, "/v1/overdue/summary", own, by="unit",
                                  unit="jian_bureau")
        assert status == 403, body
        for params in ({"by": "month"}, {}, {"by": "unit; DROP TABLE timers"}):
            status, body = await _get(http, "/v1/overdue/summary", **params)
            assert status == 422, body
            assert [e["field"] for e in body["errors"]] == ["by"]
        status, body = await _get(http, "/v1/overdue/summary", by="unit",
                                  jurisdiction="nowhere")
        assert status == 422 and [e["field"] for e in body["errors"]] == ["jurisdiction"]
