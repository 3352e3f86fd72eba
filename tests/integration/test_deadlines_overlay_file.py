"""The calendar overlay file read at start: applied once per change of its entry, recounting
the open timers that depend on the year; a later API change survives a restart with the same
file."""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import SHANGHAI, DeadlineKind, compute_due
from shared.tools.stack.layout import PORT_OFFSET
from shared.tools.testing.instances import ServiceProcess, running
from shared.tools.testing.tokens import ADMIN, STAFF, bearer
from tests.integration.test_deadlines_timers import DEADLINES_URL, CaseScript, produce, timer_when


async def test_overlay_file_applies_at_start_and_yields_to_later_api_changes(
        stack: Any, tmp_path: Path) -> None:
    # A far year no library knows; HYPOTHETICAL data, removed at the end.
    year = 3000 + uuid.uuid4().int % 6000
    start = date(year - 1, 11, 2)
    before = compute_due(DeadlineKind.handling, start, WorkingCalendar())
    holiday = before.due_date.isoformat()
    after = compute_due(DeadlineKind.handling, start, WorkingCalendar().with_overlay(
        {year: {"holidays": [holiday], "workdays": []}}))
    case = CaseScript().step("accept", datetime.combine(start, datetime.min.time(), SHANGHAI)
                             + timedelta(hours=9))
    await produce(stack.bootstrap, [case])
    overlay = tmp_path / "calendar.yaml"
    overlay.write_text(f"years:\n  {year}:\n    holidays: [{holiday}]\n    workdays: []\n",
                       encoding="utf-8")
    url = f"{DEADLINES_URL}/v1/calendar/{year}"
    async with aiohttp.ClientSession() as http:
        await timer_when(http, case.case_id, "handling", provisional=True, due_date=holiday)
        try:
            async with _with_overlay(stack, overlay):
                await timer_when(http, case.case_id, "handling", provisional=False,
                                 due_date=after.due_date.isoformat())
            async with http.get(url, headers=bearer(STAFF)) as r:
                shown = await r.json()
            assert (shown["source"], shown["holidays"]) == ("file", [holiday])

            # An operator corrects the year through the API; a restart with the same file
            # must not undo it.
            async with http.put(url, json={"holidays": [], "workdays": []},
                                headers=bearer(ADMIN)) as r:
                assert r.status == 200 and (await r.json())["rescheduled"] == 1
            await timer_when(http, case.case_id, "handling", due_date=holiday,
                             provisional=False)
            async with _with_overlay(stack, overlay) as second:
                async with http.get(f"{second.base}/v1/calendar/{year}",
                                    headers=bearer(STAFF)) as r:
                    shown = await r.json()
            assert (shown["source"], shown["holidays"]) == ("api", [])
        finally:
            async with http.delete(url, headers=bearer(ADMIN)) as r:
                assert r.status == 200


def _with_overlay(stack: Any, overlay: Path) -> AbstractAsyncContextManager[ServiceProcess]:
    """A second deadlines instance, started with the overlay file (it applies it at start)."""
    return running(stack.layout, "deadlines", port=18083 + PORT_OFFSET, name="deadlines-test-2",
                   env={"XF_CALENDAR_OVERLAY": str(overlay)})
