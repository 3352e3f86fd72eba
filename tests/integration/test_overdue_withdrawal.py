"""Overdue follows the facts, and assignments carry the case's own time: a case entered from
paper history is assigned at its received time (not routing's today), goes overdue on
acceptance at once (its limit passed long ago), and the acceptance entered a minute later with
its real, on-time date withdraws the alert — deadlines publishes `deadline.overdue_withdrawn`
and statistics stops counting the case as overdue.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from shared.domain.schemas import CaseAssigned, DeadlineOverdue, DeadlineOverdueWithdrawn
from shared.platform.topics import DEADLINE_EVENTS, ROUTING_EVENTS
from shared.tools.testing.helpers import end_offsets, events_for, eventually, read_topic
from shared.tools.testing.tokens import STAFF, bearer, unit_token
from tests.integration.calendar_support import assigned, at, quiet_days, summary
from tests.integration.lifecycle_support import act, read_case, submit


async def _timer(http: aiohttp.ClientSession, stack: Any, case_id: str, kind: str
                 ) -> dict[str, Any]:
    """The case's timer of ``kind``, once deadlines has applied the event that opens it."""
    async def found() -> dict[str, Any] | None:
        async with http.get(stack.url("deadlines", f"/v1/deadlines/{case_id}"),
                            headers=bearer(STAFF)) as r:
            assert r.status == 200, await r.text()
            return next((t for t in await r.json() if t["kind"] == kind), None)
    return await eventually(found, within=30, what=f"the {kind} timer of {case_id}")


async def test_paper_history_is_assigned_at_its_time_and_an_overdue_alert_is_withdrawn(
        stack: Any) -> None:
    async with aiohttp.ClientSession() as http:
        day = await quiet_days(http, stack, random.Random(), 1)
        received = at(day, 9)
        routing_since = await end_offsets(stack.bootstrap, ROUTING_EVENTS.name())
        alerts_since = await end_offsets(stack.bootstrap, DEADLINE_EVENTS.name())
        case_id = (await submit(http, stack, received))["case_id"]
        await assigned(http, stack, case_id)

        # The assignment is stamped with the case's time, not routing's clock: every consumer
        # counts from it (deadlines' objection window starts on the received day).
        found = await read_topic(stack.bootstrap, ROUTING_EVENTS.name(), since=routing_since,
                                 until=lambda ms: bool(events_for(ms, {case_id})))
        [event] = [e.data for e in events_for(found, {case_id})
                   if isinstance(e.data, CaseAssigned)]
        assert event.assigned_at == received
        objection = await _timer(http, stack, case_id, "objection")
        assert datetime.fromisoformat(objection["start"]["at"]) == received

        async def overdue(n: int) -> bool:
            return bool((await summary(http, stack, day, day))["overdue"] == n)

        await eventually(lambda: overdue(1), within=40, what="the acceptance counted overdue")
        unit = (await read_case(http, stack, case_id))["assigned_unit"]
        status, body = await act(http, stack, case_id, "accept", token=unit_token(unit),
                                 at=received + timedelta(days=2))
        assert status == 200, body

        await eventually(lambda: overdue(0), within=30, what="the overdue alert un-counted")
        acceptance = await _timer(http, stack, case_id, "acceptance")
        assert (acceptance["status"], acceptance["outcome"]) == ("met", "on_time")
        found = await read_topic(
            stack.bootstrap, DEADLINE_EVENTS.name(), since=alerts_since,
            until=lambda ms: any(e.type == "deadline.overdue_withdrawn"
                                 for e in events_for(ms, {case_id})))
        events = events_for(found, {case_id})
        [alert] = [e for e in events if isinstance(e.data, DeadlineOverdue)]
        [withdrawn] = [e.data for e in events if isinstance(e.data, DeadlineOverdueWithdrawn)]
        assert (withdrawn.alert_id, withdrawn.kind, withdrawn.reason) == (
            alert.id, "acceptance", "met_on_time")
