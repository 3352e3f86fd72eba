"""HTTP API of the deadlines service (docs/domain.md §6).

- `GET /v1/deadlines/{case_id}` (staff, or the unit the case is with): every timer of the case,
  `[{kind, due_date, provisional, status, article, ...}]`, with its rule, start, outcome and
  the history of its due date.
- `GET /v1/overdue[?unit=&jurisdiction=&kind=&limit=]` (staff; a unit sees its own): open
  overdue timers, longest overdue first; `X-Total-Count` gives the number before `limit`.
- `GET /v1/calendar/{year}/history` and `GET /v1/deadlines/provisional` (staff): see
  calendar_api.py.
- `GET /v1/due-soon[?…the same]`: open duties that have been warned (due within the warning
  days) and are not overdue yet, due first, each with `days_left`: the dashboard's 临期.
- `GET /v1/overdue/summary?by=unit|jurisdiction`: the cases overdue and due soon per group, in
  one query (open_duties.py).
- `GET /v1/calendar[/{year}]`, and as admin `PUT /v1/calendar/{year}` (`{holidays: [...],
  workdays: [...]}`) and `DELETE /v1/calendar/{year}`: the operators' calendar overlay; a change
  recounts the open timers that depend on that year.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
from aiohttp import web

from services.deadlines import calendars, metrics, open_duties, store
from services.deadlines.calendar_api import CalendarReads
from services.deadlines.reconcile import Policy, Timer
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import LIMITS, DeadlineKind, local_date
from shared.domain.vocab import Vocabulary
from shared.platform import audit
from shared.platform.auth import Principal
from shared.platform.boundary import ParamInvalid, int_param
from shared.platform.clock import Clock, iso
from shared.platform.web import error, field_errors, json_response, principal, read_json

_KIND_ORDER = {k: i for i, k in enumerate(DeadlineKind)}
MAX_LIMIT = open_duties.MAX_LIMIT


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def timer_json(t: Timer, history: list[asyncpg.Record], calendar_version: int = 0
               ) -> dict[str, Any]:
    limit = LIMITS[t.kind]
    return {
        "kind": t.kind.value, "due_date": t.due_date.isoformat(), "provisional": t.provisional,
        "calendar_version": calendar_version,
        "status": t.status, "article": t.article, "round": t.round, "outcome": t.outcome,
        "window": t.is_window, "rule": t.rule, "mode": t.mode.value, "day_unit": t.day_unit,
        "length_days": t.length_days, "extension_days": t.extension_days,
        "paused_days": t.paused_days,
        "paused_since": t.paused_since.isoformat() if t.paused_since else None,
        "start": {"event_id": t.start_event_id, "type": t.start_type, "at": iso(t.start_at),
                  "date": t.start_date.isoformat()},
        "warned": list(t.warned),
        "overdue_at": iso(t.overdue_at) if t.overdue_at else None,
        "ended": None if t.ended_at is None else {
            "at": iso(t.ended_at), "event_id": t.ended_by, "type": t.ended_by_type},
        "history": [{"changed_at": iso(h["changed_at"]),
                     "old_due_date": h["old_due_date"].isoformat(),
                     "new_due_date": h["new_due_date"].isoformat(),
                     "old_provisional": h["old_provisional"],
                     "new_provisional": h["new_provisional"], "reason": h["reason"]}
                    for h in history],
        "description_zh": limit.description_zh, "description_en": limit.description_en,
    }


class DeadlinesApi:
    def __init__(self, pool: asyncpg.Pool, clock: Clock, vocab: Vocabulary, policy: Policy,
                 topic: str, calendar_topic: str) -> None:
        self._pool = pool
        self._clock = clock
        self._vocab = vocab
        self._policy = policy
        self._topic = topic
        self._calendar_topic = calendar_topic

    def install(self, app: web.Application) -> None:
        # Before the case route: "provisional" is never a case id (those are UUIDs).
        CalendarReads(self._pool, self._vocab).install(app)
        app.router.add_get("/v1/deadlines/{case_id}", self.get_deadlines)
        app.router.add_get("/v1/overdue", self.get_overdue)
        open_duties.OverdueSummary(self._pool, self._vocab).install(app)
        app.router.add_get("/v1/due-soon", self.get_due_soon)
        app.router.add_get("/v1/calendar", self.get_overlay)
        app.router.add_get("/v1/calendar/{year}", self.get_year)
        app.router.add_put("/v1/calendar/{year}", self.put_year)
        app.router.add_delete("/v1/calendar/{year}", self.delete_year)

    async def get_deadlines(self, request: web.Request) -> web.Response:
        who = _reader(request)
        case_id = request.match_info["case_id"]
        async with self._pool.acquire() as conn:
            unit = await conn.fetchval("SELECT unit FROM cases WHERE case_id = $1", case_id)
            rows = await conn.fetch(f"SELECT {store._SELECT_TIMER}, calendar_version "
                                    "FROM timers WHERE case_id = $1", case_id)
            history = await conn.fetch(
                "SELECT * FROM timer_history WHERE timer_id = ANY($1::bigint[]) ORDER BY id",
                [r["id"] for r in rows])
        if not rows and unit is None:
            raise error(404, f"no deadlines known for case {case_id}")
        if not who.may_act_for(unit):
            raise error(403, "a unit token may read only the deadlines of its own cases")
        versions = {r["id"]: r["calendar_version"] for r in rows}
        timers = sorted((store.timer_of(r) for r in rows),
                        key=lambda t: (t.start_at, _KIND_ORDER[t.kind], t.round))
        return json_response([timer_json(t, [h for h in history if h["timer_id"] == t.id],
                                         versions[t.id]) for t in timers])

    async def get_overdue(self, request: web.Request) -> web.Response:
        return await self._open_timers(request, "overdue")

    async def get_due_soon(self, request: web.Request) -> web.Response:
        return await self._open_timers(request, "warned")

    async def _open_timers(self, request: web.Request, status: str) -> web.Response:
        filters, problems = open_duties.scope(request, self._vocab)
        if problems:
            return field_errors(problems)
        today = local_date(self._clock.now())
        rows = await self._pool.fetch(
            """
            SELECT t.case_id, t.kind, t.round, t.due_date, t.provisional, t.article,
                   t.overdue_at, c.unit, c.jurisdiction, count(*) OVER () AS total
            FROM timers t LEFT JOIN cases c ON c.case_id = t.case_id
            WHERE t.status = $5 AND ($1::text IS NULL OR c.unit = $1)
              AND ($2::text IS NULL OR c.jurisdiction = $2) AND ($3::text IS NULL OR t.kind = $3)
            ORDER BY t.due_date, t.case_id, t.kind LIMIT $4
            """, filters.unit, filters.jurisdiction, filters.kind, filters.limit, status)
        days = "days_overdue" if status == "overdue" else "days_left"
        items = [{
            "case_id": r["case_id"], "kind": r["kind"], "round": r["round"],
            "due_date": r["due_date"].isoformat(),
            days: abs((today - r["due_date"]).days),
            "provisional": r["provisional"], "article": r["article"], "unit": r["unit"],
            "jurisdiction": open_duties.jurisdiction_json(self._vocab, r["jurisdiction"]),
            "overdue_at": iso(r["overdue_at"]) if r["overdue_at"] else None,
        } for r in rows]
        total = rows[0]["total"] if rows else 0
        return json_response(items, headers={"X-Total-Count": str(total)})

    async def get_overlay(self, request: web.Request) -> web.Response:
        principal(request)
        rows = await self._pool.fetch("SELECT year, source, revision, updated_by, updated_at "
                                      "FROM calendar_years ORDER BY year")
        return json_response([{"year": r["year"], "source": r["source"],
                               "revision": r["revision"], "updated_by": r["updated_by"],
                               "updated_at": iso(r["updated_at"])} for r in rows])

    async def get_year(self, request: web.Request) -> web.Response:
        principal(request)
        try:
            year = _year(request)
        except ParamInvalid as exc:
            return field_errors([{"field": exc.field, "message": exc.message}])
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM calendar_years WHERE year = $1", year)
            calendar = WorkingCalendar(await calendars.stored_overlay(conn))
        body: dict[str, Any] = {"year": year, "has_data": calendar.has_data(year),
                                "source": row["source"] if row else (
                                    "library" if calendar.has_data(year) else None)}
        data = calendar.year_days(year)
        body["holidays"] = sorted(d.isoformat() for d in data.holidays) if data else []
        body["workdays"] = sorted(d.isoformat() for d in data.workdays) if data else []
        if row:
            body.update(revision=row["revision"], updated_by=row["updated_by"],
                        updated_at=iso(row["updated_at"]))
        return json_response(body)

    async def put_year(self, request: web.Request) -> web.Response:
        who = _admin(request)
        body = await read_json(request)
        parsed = calendars.validate_year(request.match_info["year"], body)
        if isinstance(parsed, list):
            return field_errors([{"field": p.field, "message": p.message} for p in parsed])
        return await self._apply(parsed.year, parsed, who, request)

    async def delete_year(self, request: web.Request) -> web.Response:
        who = _admin(request)
        try:
            year = _year(request)
        except ParamInvalid as exc:
            return field_errors([{"field": exc.field, "message": exc.message}])
        return await self._apply(year, None, who, request)

    async def _apply(self, year: int, days: Any, who: Principal, request: web.Request
                     ) -> web.Response:
        async with self._pool.acquire() as conn, conn.transaction():
            applied = await calendars.apply_year(
                conn, year, days, source="api", actor=who.as_actor(), policy=self._policy,
                clock=self._clock, topic=self._topic, calendar_topic=self._calendar_topic)
            if applied.changed:
                await audit.append(conn, audit.Entry(
                    who.as_actor(), "calendar.remove" if days is None else "calendar.put",
                    detail={"year": year, "revision": applied.revision,
                            "rescheduled": len(applied.moves)},
                    client_addr=audit.client_address(request.remote)), self._clock.now())
        metrics.RESCHEDULED.labels("calendar").inc(len(applied.moves))
        return json_response({
            "year": year, "removed": days is None, "changed": applied.changed,
            "revision": applied.revision, "version": applied.version,
            "rescheduled": len(applied.moves),
            "holidays": sorted(d.isoformat() for d in days.holidays) if days else [],
            "workdays": sorted(d.isoformat() for d in days.workdays) if days else [],
        })


def _year(request: web.Request) -> int:
    return int_param(request.match_info["year"], "year", minimum=1949, maximum=9998)


def _reader(request: web.Request) -> Principal:
    who = principal(request)
    if not (who.is_staff or who.role == "unit"):
        raise error(403, "this needs a staff, admin or unit token")
    return who


def _admin(request: web.Request) -> Principal:
    who = principal(request)
    if who.role != "admin":
        raise error(403, "changing the calendar needs an admin token")
    return who
