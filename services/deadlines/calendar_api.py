"""What the calendar's changes did, for operators (staff and admin read):

- `GET /v1/calendar/{year}/history` → `{year, versions: [{version, revision, removed, source,
  holidays, workdays, old_holidays, old_workdays, old_source, actor: {id, name}, at,
  rescheduled, moved: [{case_id, kind, round, old_due_date, new_due_date}]}]}`, oldest first:
  every version of the year, who made it and when, the days before and after, and the open
  deadlines it moved.
- `GET /v1/deadlines/provisional[?year=&unit=&kind=&limit=]` → `[{case_id, kind, round,
  due_date, status, article, unit, start_date, calendar_version, years_without_data}]`, due
  first, `X-Total-Count` before the limit: open deadlines still counted on a year without
  official data, i.e. what will move when that year's notice is entered.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
from aiohttp import web

from services.deadlines import calendars
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import DeadlineKind
from shared.domain.vocab import Vocabulary
from shared.platform.auth import Principal
from shared.platform.boundary import ParamInvalid, int_param
from shared.platform.clock import iso
from shared.platform.web import error, field_errors, json_response, principal

MAX_LIMIT = 10_000


def _days(values: list[date]) -> list[str]:
    return [d.isoformat() for d in sorted(values)]


def years_without_data(start: date, due: date, calendar: WorkingCalendar) -> list[int]:
    """The years between a limit's start and its due date that have no official calendar."""
    return [y for y in range(start.year, due.year + 1) if not calendar.has_data(y)]


class CalendarReads:
    def __init__(self, pool: asyncpg.Pool, vocab: Vocabulary) -> None:
        self._pool = pool
        self._vocab = vocab

    def install(self, app: web.Application) -> None:
        app.router.add_get("/v1/calendar/{year}/history", self.history)
        app.router.add_get("/v1/deadlines/provisional", self.provisional)

    async def history(self, request: web.Request) -> web.Response:
        _staff(request)
        try:
            year = int_param(request.match_info["year"], "year", minimum=1949, maximum=9998)
        except ParamInvalid as exc:
            return field_errors([{"field": exc.field, "message": exc.message}])
        async with self._pool.acquire() as conn:
            versions = await conn.fetch(
                "SELECT * FROM calendar_history WHERE year = $1 ORDER BY version", year)
            moved = await conn.fetch(
                """SELECT h.cause, t.case_id, t.kind, t.round, h.old_due_date, h.new_due_date
                   FROM timer_history h JOIN timers t ON t.id = h.timer_id
                   WHERE h.reason = 'calendar' AND h.cause = ANY($1::text[])
                   ORDER BY h.id""",
                [f"calendar:{year}@{v['revision']}" for v in versions])
        by_cause: dict[str, list[dict[str, Any]]] = {}
        for m in moved:
            by_cause.setdefault(m["cause"], []).append({
                "case_id": m["case_id"], "kind": m["kind"], "round": m["round"],
                "old_due_date": m["old_due_date"].isoformat(),
                "new_due_date": m["new_due_date"].isoformat()})
        return json_response({"year": year, "versions": [{
            "version": v["version"], "revision": v["revision"], "removed": v["removed"],
            "source": v["source"], "holidays": _days(v["holidays"]),
            "workdays": _days(v["workdays"]), "old_holidays": _days(v["old_holidays"]),
            "old_workdays": _days(v["old_workdays"]), "old_source": v["old_source"],
            "actor": {"id": v["actor_id"], "name": v["actor_name"]}, "at": iso(v["at"]),
            "rescheduled": v["moved"],
            "moved": by_cause.get(f"calendar:{year}@{v['revision']}", []),
        } for v in versions]})

    async def provisional(self, request: web.Request) -> web.Response:
        _staff(request)
        q = request.query
        problems: list[dict[str, str]] = []
        year = limit = None
        try:
            if q.get("year"):
                year = int_param(q["year"], "year", minimum=1949, maximum=9998)
            limit = int_param(q["limit"], "limit", minimum=1, maximum=MAX_LIMIT) \
                if "limit" in q else 1000
        except ParamInvalid as exc:
            problems.append({"field": exc.field, "message": exc.message})
        kind = q.get("kind") or None
        if kind is not None and kind not in {k.value for k in DeadlineKind}:
            problems.append({"field": "kind", "message": "one of " + ", ".join(DeadlineKind)})
        if problems:
            return field_errors(problems)
        async with self._pool.acquire() as conn:
            calendar = WorkingCalendar(await calendars.stored_overlay(conn))
            rows = await conn.fetch(
                """
                SELECT t.case_id, t.kind, t.round, t.due_date, t.status, t.article,
                       t.start_date, t.calendar_version, c.unit, count(*) OVER () AS total
                FROM timers t LEFT JOIN cases c ON c.case_id = t.case_id
                WHERE t.provisional AND t.status IN ('pending', 'warned', 'overdue')
                  AND ($1::int IS NULL OR (t.due_date >= make_date($1, 1, 1)
                                           AND t.start_date <= make_date($1, 12, 31)))
                  AND ($2::text IS NULL OR c.unit = $2) AND ($3::text IS NULL OR t.kind = $3)
                ORDER BY t.due_date, t.case_id, t.kind, t.round LIMIT $4
                """, year, q.get("unit") or None, kind, limit)
        items = [{
            "case_id": r["case_id"], "kind": r["kind"], "round": r["round"],
            "due_date": r["due_date"].isoformat(), "status": r["status"],
            "article": r["article"], "unit": r["unit"],
            "start_date": r["start_date"].isoformat(),
            "calendar_version": r["calendar_version"],
            "years_without_data": years_without_data(r["start_date"], r["due_date"], calendar),
        } for r in rows]
        total = rows[0]["total"] if rows else 0
        return json_response(items, headers={"X-Total-Count": str(total)})


def _staff(request: web.Request) -> Principal:
    who = principal(request)
    if not who.is_staff:
        raise error(403, "the calendar's history and provisional deadlines need a staff or "
                         "admin token")
    return who
