"""A calendar version deadlines published, applied to routing: folded into this database, and
the handling limits of repeat detection (Art. 19) counted again where the changed year can
matter, so an earlier case's "within its time limit" follows the latest calendar."""

from __future__ import annotations

import asyncpg

from services.routing.links import HANDLING_STATUSES
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import CountingMode, DeadlineKind, compute_due
from shared.domain.schemas import CalendarChanged
from shared.platform import calendar_versions
from shared.platform.logging import get_logger

log = get_logger(__name__)


async def apply(conn: asyncpg.Connection, event_id: str, change: CalendarChanged,
                mode: CountingMode) -> int:
    """Fold the version and recount the open handling limits it can move; the number moved."""
    folded = await calendar_versions.fold(conn, event_id, change)
    if folded is None or not calendar_versions.year_changed(folded):
        return 0
    return await recount_handling(conn, folded.year, folded.after, mode)


async def recount_handling(conn: asyncpg.Connection, year: int, calendar: WorkingCalendar,
                           mode: CountingMode) -> int:
    first, last = calendar_versions.starts_reaching(year)
    rows = await conn.fetch(
        """SELECT case_id, accepted_on, extended_days, handling_due FROM petitions
           WHERE status = ANY($1::text[]) AND accepted_on BETWEEN $2 AND $3
           FOR UPDATE""", sorted(HANDLING_STATUSES), first, last)
    moved = []
    for r in rows:
        due = compute_due(DeadlineKind.handling, r["accepted_on"], calendar, mode,
                          extension_days=r["extended_days"] or 0).due_date
        if due != r["handling_due"]:
            moved.append((r["case_id"], due))
    if moved:
        await conn.executemany("UPDATE petitions SET handling_due = $2 WHERE case_id = $1",
                               moved)
    log.info("handling_limits_recounted", year=year, open=len(rows), moved=len(moved))
    return len(moved)
