"""The working-day calendar as this service holds it: the library's data plus the operators'
overlay stored in the database, and what happens when the overlay changes.

Every instance reads the overlay from the database and reloads it when its revision moves, so
a change made through one instance is seen by all. A change takes an exclusive advisory lock
that the consumer takes shared: no timer can be counted on the old calendar after the change
has recounted the open timers, and no recount runs in the middle of a consumer's batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import orjson

from services.deadlines import outputs, store, withdrawals
from services.deadlines.reconcile import DueChange, Policy, recount
from shared.domain.calendar import OverlayError, WorkingCalendar, YearDays
from shared.domain.schemas import CalendarChanged
from shared.platform import outbox
from shared.platform.auth import Actor
from shared.platform.clock import Clock
from shared.platform.logging import get_logger

log = get_logger(__name__)

CALENDAR_LOCK = (0x5843, 0)  # "XC"


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


def validate_year(year_text: str, body: Any) -> YearDays | list[FieldProblem]:
    """`PUT /v1/calendar/{year}`'s input as a YearDays, or the problems, each naming its field."""
    problems: list[FieldProblem] = []
    # isascii: str.isdigit also takes "²", which int() refuses
    year = int(year_text) if year_text.isascii() and year_text.isdigit() else None
    if year is None or not 1949 <= year <= 9998:
        problems.append(FieldProblem("year", f"{year_text!r} is not a year (1949–9998)"))
    if not isinstance(body, dict):
        return [*problems, FieldProblem("body", "expected an object {holidays, workdays}")]
    for extra in sorted(set(body) - {"holidays", "workdays"}):
        problems.append(FieldProblem(extra, "unknown field; expected holidays and workdays"))
    days: dict[str, set[date]] = {}
    for field in ("holidays", "workdays"):
        raw = body.get(field)
        if raw is None:
            problems.append(FieldProblem(field, "required: a list of dates (use [] for none)"))
            continue
        if not isinstance(raw, list):
            problems.append(FieldProblem(field, "expected a list of dates (YYYY-MM-DD)"))
            continue
        days[field] = set()
        for i, value in enumerate(raw):
            where = f"{field}[{i}]"
            try:
                day = date.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                day = None
            if day is None or len(value) != 10:
                problems.append(FieldProblem(where, f"{value!r} is not a date (YYYY-MM-DD)"))
            elif year is not None and day.year != year:
                problems.append(FieldProblem(where, f"{value} is not in {year}"))
            elif field == "workdays" and day.weekday() < 5:
                problems.append(FieldProblem(
                    where, f"{value} is a {day.strftime('%A')}; workdays lists only weekend "
                           "days made working days (调休)"))
            else:
                days[field].add(day)
    both = sorted(days.get("holidays", set()) & days.get("workdays", set()))
    if both:
        problems.append(FieldProblem("workdays", "listed both as holiday and as workday: "
                                     + ", ".join(d.isoformat() for d in both)))
    if problems or year is None:
        return problems
    try:
        return YearDays(year, frozenset(days["holidays"]), frozenset(days["workdays"]))
    except OverlayError as exc:  # a rule YearDays knows and this function does not
        return [FieldProblem("body", str(exc))]


def digest(days: YearDays) -> str:
    doc = {"holidays": sorted(d.isoformat() for d in days.holidays),
           "workdays": sorted(d.isoformat() for d in days.workdays)}
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def stored_overlay(conn: asyncpg.Connection) -> dict[int, YearDays]:
    rows = await conn.fetch("SELECT year, holidays, workdays FROM calendar_years")
    return {r["year"]: YearDays(r["year"], frozenset(r["holidays"]), frozenset(r["workdays"]))
            for r in rows}


async def _revision(conn: asyncpg.Connection) -> int:
    row = await conn.fetchrow("SELECT last_value, is_called FROM calendar_revision")
    return int(row["last_value"]) if row["is_called"] else 0


class Calendars:
    """The instance's calendar, reloaded when the stored overlay's revision moves."""

    def __init__(self) -> None:
        self._revision = -1
        self._calendar = WorkingCalendar()

    @property
    def revision(self) -> int:
        """The revision of the calendar `current` last returned (0: no change ever made)."""
        return max(self._revision, 0)

    async def current(self, conn: asyncpg.Connection) -> WorkingCalendar:
        """The calendar in force; call holding the calendar lock (`shared_lock`)."""
        revision = await _revision(conn)
        if revision != self._revision:
            self._calendar = WorkingCalendar(await stored_overlay(conn))
            self._revision = revision
            log.info("calendar_loaded", revision=revision,
                     overlay_years=sorted(self._calendar.overlay))
        return self._calendar


async def shared_lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1, $2)", *CALENDAR_LOCK)


@dataclass(frozen=True)
class Applied:
    year: int
    changed: bool
    revision: int
    moves: Sequence[DueChange]
    version: int = 0


FILE_ACTOR = Actor("service:deadlines", "overlay file", "deadlines")


def _days(values: Iterable[date]) -> list[date]:
    return sorted(set(values))


async def apply_year(conn: asyncpg.Connection, year: int, days: YearDays | None, *,
                     source: str, actor: Actor, policy: Policy, clock: Clock, topic: str,
                     calendar_topic: str, file_digest: str | None = None) -> Applied:
    """Store (or, with None, remove) one year's overlay, recount the open timers that depend
    on it (each old due date kept in the history, each move announced), keep the change as the
    year's next version and publish it as `calendar.changed`. Call in a transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *CALENDAR_LOCK)
    row = await conn.fetchrow("SELECT holidays, workdays, source, file_digest FROM "
                              "calendar_years WHERE year = $1", year)
    same = (row is None and days is None) or (
        row is not None and days is not None and set(row["holidays"]) == days.holidays
        and set(row["workdays"]) == days.workdays)
    if same:
        if row is not None and file_digest and row["file_digest"] != file_digest:
            await conn.execute("UPDATE calendar_years SET file_digest = $2 WHERE year = $1",
                               year, file_digest)
        return Applied(year, False, await _revision(conn), ())
    before = WorkingCalendar(await stored_overlay(conn)).year_days(year)
    old_source = row["source"] if row else ("library" if before is not None else None)
    revision = int(await conn.fetchval("SELECT nextval('calendar_revision')"))
    if days is None:
        await conn.execute("DELETE FROM calendar_years WHERE year = $1", year)
    else:
        await conn.execute(
            """
            INSERT INTO calendar_years (year, holidays, workdays, source, file_digest, revision,
                                        updated_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (year) DO UPDATE SET holidays = EXCLUDED.holidays,
                workdays = EXCLUDED.workdays, source = EXCLUDED.source,
                file_digest = coalesce(EXCLUDED.file_digest, calendar_years.file_digest),
                revision = EXCLUDED.revision, updated_by = EXCLUDED.updated_by,
                updated_at = now()
            """,
            year, sorted(days.holidays), sorted(days.workdays), source, file_digest, revision,
            actor.signature)
    calendar = WorkingCalendar(await stored_overlay(conn))
    now = clock.now()
    rows = await conn.fetch(
        f"""
        SELECT {store._SELECT_TIMER} FROM timers
        WHERE status IN ('pending', 'warned', 'overdue')
          AND due_date >= make_date($1, 1, 1) AND start_date <= make_date($1, 12, 31)
        ORDER BY id FOR UPDATE
        """, year)
    cause = f"calendar:{year}@{revision}"
    updates, moves, withdrawn = [], [], []
    for r in rows:
        old = store.timer_of(r)
        timer, change = recount(old, calendar, policy, now, cause)
        if change is not None:
            updates.append(timer)
            moves.append(change)
            withdrawn.extend(withdrawals.of(old, timer, now))
    await store.update_timers(conn, updates)
    await store.record_moves(conn, moves)
    # Every timer recounted was counted on this revision, moved or not.
    await conn.execute("UPDATE timers SET calendar_version = $1 WHERE id = ANY($2::bigint[])",
                       revision, [r["id"] for r in rows])
    await outbox.add(conn, topic, [*(outputs.rescheduled(m) for m in moves), *withdrawn])
    version = int(await conn.fetchval(
        "SELECT coalesce(max(version), 0) + 1 FROM calendar_history WHERE year = $1", year))
    change_event = CalendarChanged(
        year=year, version=version, revision=revision, removed=days is None,
        holidays=_days(days.holidays) if days else [],
        workdays=_days(days.workdays) if days else [],
        old_holidays=_days(before.holidays) if before else [],
        old_workdays=_days(before.workdays) if before else [],
        old_source=old_source, source=source, actor_id=actor.id, actor_name=actor.name,
        at=now, moved=len(moves))
    envelope = outputs.calendar_changed(change_event)
    await _record_version(conn, change_event, envelope.id)
    await outbox.add(conn, calendar_topic, [envelope])
    log.info("calendar_changed", year=year, revision=revision, version=version, source=source,
             removed=days is None, rescheduled=len(moves), withdrawn=len(withdrawn))
    return Applied(year, True, revision, moves, version)


async def _record_version(conn: asyncpg.Connection, c: CalendarChanged, event_id: str | None
                          ) -> None:
    await conn.execute(
        """INSERT INTO calendar_history (year, version, revision, removed, holidays, workdays,
                                         old_holidays, old_workdays, old_source, source,
                                         actor_id, actor_name, at, moved, event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)""",
        c.year, c.version, c.revision, c.removed, c.holidays, c.workdays, c.old_holidays,
        c.old_workdays, c.old_source, c.source, c.actor_id, c.actor_name, c.at, c.moved,
        event_id)


async def announce_unpublished(pool: asyncpg.Pool, calendar_topic: str) -> int:
    """Versions recorded before versions were published (the migration's seed of the overlay
    then stored) go out now, so every consumer counts on the same calendar; once each."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *CALENDAR_LOCK)
        rows = await conn.fetch("SELECT * FROM calendar_history WHERE event_id IS NULL "
                                "ORDER BY revision FOR UPDATE")
        for r in rows:
            envelope = outputs.calendar_changed(CalendarChanged(
                year=r["year"], version=r["version"], revision=r["revision"],
                removed=r["removed"], holidays=r["holidays"], workdays=r["workdays"],
                old_holidays=r["old_holidays"], old_workdays=r["old_workdays"],
                old_source=r["old_source"], source=r["source"], actor_id=r["actor_id"],
                actor_name=r["actor_name"], at=r["at"], moved=r["moved"]))
            await conn.execute("UPDATE calendar_history SET event_id = $3 "
                               "WHERE year = $1 AND version = $2", r["year"], r["version"],
                               envelope.id)
            await outbox.add(conn, calendar_topic, [envelope])
    return len(rows)


async def apply_file(pool: asyncpg.Pool, overlay: Mapping[int, YearDays], *, policy: Policy,
                     clock: Clock, topic: str, calendar_topic: str) -> list[Applied]:
    """The overlay file read at start: each year whose entry differs from the one last applied
    from the file is applied (one transaction per year); the others leave the database's
    overlay (perhaps changed since through the API) as it is."""
    results = []
    for year, days in sorted(overlay.items()):
        entry = digest(days)
        async with pool.acquire() as conn, conn.transaction():
            known = await conn.fetchval("SELECT file_digest FROM calendar_years WHERE year = $1",
                                        year)
            if known == entry:
                continue
            results.append(await apply_year(conn, year, days, source="file",
                                            actor=FILE_ACTOR, policy=policy, clock=clock,
                                            topic=topic, calendar_topic=calendar_topic,
                                            file_digest=entry))
    return results
