"""The report back to an assigning body over the real stack: a handed-off case gets a
report_back deadline of its body's limit (deploy/local/report-back-limits.yaml), warned and
overdue like any duty, its due date announced as deadline.scheduled; a closing report in time
meets it. Case times are set relative to now: the sweep runs on the service's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from services.deadlines.report_back import load
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import DeadlineKind, compute_due, local_date
from shared.platform.settings import REPO_ROOT
from shared.platform.topics import DEADLINE_EVENTS
from shared.tools.testing.helpers import end_offsets
from tests.integration.test_deadlines_timers import (
    CaseScript,
    alerts_of,
    days_ago,
    deadlines,
    produce,
    timer_when,
)

BODY = "江西省信访局"
_DAYS = load(REPO_ROOT / "deploy" / "local" / "report-back-limits.yaml").days_for(
    "provincial_transfer", BODY)
assert _DAYS is not None, "the local limits name the provincial bureau"
DAYS: int = _DAYS


def received_days_before_due(lo: int, hi: int) -> float:
    """How many days ago a case must be received for its report-back due date to lie lo..hi
    days ahead (holidays move due dates, so it is searched, not assumed)."""
    today = local_date(datetime.now(UTC))
    for n in range(DAYS - hi - 8, DAYS + 8):
        due = compute_due(DeadlineKind.report_back, today - timedelta(days=n),
                          WorkingCalendar(), days=DAYS).due_date
        if lo <= (due - today).days <= hi:
            return float(n)
    raise AssertionError("no receipt day gives that due date")


async def test_report_back_warned_overdue_and_met(stack: Any) -> None:
    warned = CaseScript().registered(days_ago(received_days_before_due(4, 6)),
                                     channel="provincial_transfer", assigned_by=BODY)
    overdue = CaseScript().registered(days_ago(DAYS + 20), channel="provincial_transfer",
                                      assigned_by=BODY)
    met = (CaseScript().registered(days_ago(DAYS + 20), channel="provincial_transfer",
                                   assigned_by=BODY).assigned(days_ago(DAYS + 19))
           .step("accept", days_ago(DAYS + 18)).step("reply", days_ago(DAYS - 5))
           .step("close", days_ago(DAYS - 6)))
    letter = CaseScript().registered(days_ago(DAYS + 20))
    ids = {c.case_id for c in (warned, overdue, met, letter)}
    since = await end_offsets(stack.bootstrap, DEADLINE_EVENTS.name())
    await produce(stack.bootstrap, [warned, overdue, met, letter])
    async with aiohttp.ClientSession() as http:
        w = await timer_when(http, warned.case_id, "report_back", status="warned")
        o = await timer_when(http, overdue.case_id, "report_back", status="overdue")
        m = await timer_when(http, met.case_id, "report_back", status="met")
        others = {t["kind"] for t in await _all(http, letter.case_id)}
    assert w["warned"] == [7] and w["length_days"] == DAYS and w["window"] is False
    assert m["outcome"] == "on_time" and o["outcome"] is None
    assert "report_back" not in others  # a letter owes no assigning body a report
    expected = compute_due(DeadlineKind.report_back, local_date(days_ago(DAYS + 20)),
                           WorkingCalendar(), days=DAYS).due_date
    assert o["due_date"] == expected.isoformat()

    def complete(events: list[Any]) -> bool:
        # The overdue case's acceptance goes overdue too: wait for the report-back alerts.
        return {(e.subject, e.type) for e in events
                if getattr(e.data, "kind", None) == "report_back"} >= {
            (overdue.case_id, "deadline.overdue"), (warned.case_id, "deadline.warning")}

    found = await alerts_of(stack.bootstrap, since, ids, until=complete)
    report_back = [(e.subject, e.type) for e in found if getattr(e.data, "kind", None)
                   == "report_back"]
    assert (overdue.case_id, "deadline.overdue") in report_back
    assert (warned.case_id, "deadline.warning") in report_back
    scheduled = {e.subject: e.data for e in found if e.type == "deadline.scheduled"}
    assert set(scheduled) == {warned.case_id, overdue.case_id, met.case_id}
    assert scheduled[overdue.case_id].due_date == expected  # type: ignore[attr-defined]


async def _all(http: aiohttp.ClientSession, case_id: str) -> list[dict[str, Any]]:
    # The letter's own timers, once deadlines has seen it.
    t = await timer_when(http, case_id, "acceptance")
    assert t["kind"] == "acceptance"
    return await deadlines(http, case_id)
