"""The working-day calendar as a consuming service holds it: every `calendar.changed` the
deadlines service published, folded into the service's own `calendar_versions` table, and the
calendar of the latest version of each year, loaded from that table.

Why a table and not the events in memory: an instance starts counting on the calendar its own
database holds (no replay of the topic first), every instance of a service sees a change the
moment one of them has folded it (the topic has one partition, so one instance reads it), and
a statistics rebuild folds the versions into its fresh schema like any other event.

Ordering with the service's other work: folding a version takes an exclusive transaction lock
that every counting transaction takes shared (`counting_lock`) before it reads the calendar.
A counting transaction therefore either ran wholly before the change (and whatever the change
re-counts includes its result) or starts after it has committed and reads the new version.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta

import asyncpg

from shared.domain.calendar import WorkingCalendar, YearDays
from shared.domain.schemas import CalendarChanged
from shared.platform.logging import get_logger

log = get_logger(__name__)

# Advisory lock of "the calendar is changing" (class "XK"), per database.
_LOCK = (0x584B, 0)

# Keyed by the event: a version is the event that announced it. The latest of a year is the
# one with the highest revision (deadlines' sequence over all years), whatever order they came in.
CALENDAR_VERSIONS_DDL = """
CREATE TABLE calendar_versions (
    event_id  uuid        PRIMARY KEY,
    year      integer     NOT NULL,
    version   integer     NOT NULL,
    revision  bigint      NOT NULL,
    removed   boolean     NOT NULL,
    holidays  date[]      NOT NULL,
    workdays  date[]      NOT NULL,
    at        timestamptz NOT NULL,
    folded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calendar_versions_year ON calendar_versions (year, revision);
"""
CALENDAR_VERSIONS_DROP = "DROP TABLE calendar_versions;"


async def counting_lock(conn: asyncpg.Connection) -> None:
    """Held (shared) by a transaction that counts on the calendar, until it ends."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1, $2)", *_LOCK)


async def changing_lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *_LOCK)


@dataclass(frozen=True)
class Folded:
    """A version folded now (not seen before), with the year's days before and after."""

    year: int
    version: int
    revision: int
    before: WorkingCalendar
    after: WorkingCalendar


async def overlay(conn: asyncpg.Connection) -> dict[int, YearDays]:
    """Each year's latest version that is not a removal: the operators' overlay in force."""
    rows = await conn.fetch(
        """SELECT DISTINCT ON (year) year, removed, holidays, workdays
           FROM calendar_versions ORDER BY year, revision DESC, version DESC""")
    return {r["year"]: YearDays(r["year"], frozenset(r["holidays"]), frozenset(r["workdays"]))
            for r in rows if not r["removed"]}


async def fold(conn: asyncpg.Connection, event_id: str, change: CalendarChanged
               ) -> Folded | None:
    """Record one version (idempotent: a version seen before changes nothing, whatever order
    versions come in; only the latest of a year is in force). Takes the changing lock; call in
    the transaction that applies the event, before anything that counts on the result."""
    await changing_lock(conn)
    before = WorkingCalendar(await overlay(conn))
    inserted = await conn.fetchval(
        """INSERT INTO calendar_versions (year, version, revision, removed, holidays, workdays,
                                          event_id, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (event_id) DO NOTHING RETURNING true""",
        change.year, change.version, change.revision, change.removed,
        sorted(set(change.holidays)), sorted(set(change.workdays)), event_id, change.at)
    if not inserted:
        return None
    after = WorkingCalendar(await overlay(conn))
    log.info("calendar_version_folded", year=change.year, version=change.version,
             revision=change.revision, removed=change.removed)
    return Folded(change.year, change.version, change.revision, before, after)


def year_changed(folded: Folded) -> bool:
    """Whether the days in force for the year differ (an older version arriving late, or the
    same days again, change nothing)."""
    a, b = folded.before.year_days(folded.year), folded.after.year_days(folded.year)
    if a is None or b is None:
        return (a is None) != (b is None)
    return (a.holidays, a.workdays) != (b.holidays, b.workdays)


class CalendarView:
    """An instance's calendar: reloaded from the table when its versions change (one cheap
    query per use), so every instance counts on the latest version folded by any of them."""

    def __init__(self) -> None:
        self._key: tuple[int, int] | None = None
        self._calendar = WorkingCalendar()
        self.revision = 0

    async def current(self, conn: asyncpg.Connection) -> WorkingCalendar:
        """The calendar in force. For an answer consistent with a concurrent change, call it
        inside a transaction holding `counting_lock`."""
        row = await conn.fetchrow(
            "SELECT count(*) AS n, coalesce(max(revision), 0) AS r FROM calendar_versions")
        key = (int(row["n"]), int(row["r"]))
        if key != self._key:
            self._calendar = WorkingCalendar(await overlay(conn))
            self._key = key
            self.revision = key[1]
            log.info("calendar_loaded", revision=key[1], versions=key[0],
                     overlay_years=sorted(self._calendar.overlay))
        return self._calendar

    @property
    def latest(self) -> WorkingCalendar:
        """The calendar last loaded, for code that cannot wait on the database (kept within
        seconds of the table by `refresh_forever`)."""
        return self._calendar

    async def refresh_forever(self, pool: asyncpg.Pool, every: float = 2.0) -> None:
        """Reload when the table changes, every ``every`` seconds (a background task)."""
        while True:
            try:
                async with pool.acquire() as conn:
                    await self.current(conn)
            except Exception as exc:  # the database away: keep the last calendar, try again
                log.warning("calendar_refresh_failed", error=type(exc).__name__)
            await asyncio.sleep(every)


# The longest limit, counted from its start: 60 + 30 days of handling (or 90 working days when
# a bureau counts every limit in working days, about 130 calendar days) and the days a
# roll-forward crosses, with room to spare.
REACH_DAYS = 200


def starts_reaching(year: int) -> tuple[date, date]:
    """The start dates whose limits can end in, or roll through, ``year``."""
    return date(year, 1, 1) - timedelta(days=REACH_DAYS), date(year, 12, 31)
