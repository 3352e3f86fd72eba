"""待办 (handler, unit_head; staff and admin see every unit): the work queue, nearest due date
first, refreshed by htmx polling; the case page with facts, timeline, deadlines and only the
actions the lifecycle allows now."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from services.console.web import labels, session
from services.console.web.backend import Answer, Backend, UnitNames
from services.console.web.case_actions import RATINGS, action_body, page_actions
from services.console.web.session import Person

QUEUE_ROLES = ("handler", "unit_head", "staff", "admin")
# The case page: the queue's roles, and a leader for the key cases they are responsible for
# (intake decides which cases each may read; anyone else gets its 403).
CASE_ROLES = (*QUEUE_ROLES, "leader")
OFFICE = ("staff", "admin")
OPEN_TIMERS = ("pending", "warned", "overdue")
ACTION_NAME = re.compile(r"^[a-z_]{1,40}$")
# The queue's filter: name → (label, intake's status list).
QUEUE_FILTERS = {"": ("全部待办", "open"), "assigned": ("待受理", "assigned"),
                 "handling": ("办理中", "accepted,extended"),
                 "replied": ("已答复待办结", "replied"),
                 "review": ("复查复核", "review_requested,rereview_requested")}
CASE_ID = re.compile(r"^[0-9a-f-]{36}$")


def urgency(deadlines: list[dict[str, Any]]) -> tuple[str, dict[str, Any] | None]:
    """The queue row's colour and its nearest open deadline: red overdue, amber warned."""
    running = sorted((d for d in deadlines if d.get("status") in OPEN_TIMERS),
                     # A duty first: a window (the unit's objection, the petitioner's request)
                     # is a right that lapses, not what the unit must meet.
                     key=lambda d: (bool(d.get("window")), str(d.get("due_date"))))
    if any(d["status"] == "overdue" for d in running):
        return "overdue", running[0]
    if any(d["status"] == "warned" for d in running):
        return "warned", running[0]
    return "normal", running[0] if running else None


def unit_in_transit(record: dict[str, Any], routing: dict[str, Any] | None
                    ) -> dict[str, str] | None:
    """Routing's current unit when intake's record does not name it yet, else None. Intake
    learns of a decision only when routing's event arrives, so right after 改派 (or before the
    first assignment lands) the record still names the old unit (or none): the page shows
    routing's unit with a note rather than the stale one."""
    current = (routing or {}).get("current")
    unit = current.get("unit") if isinstance(current, dict) else None
    if not isinstance(unit, dict) or not unit.get("key"):
        return None  # transferred out or linked: no unit to show
    if unit["key"] == record.get("assigned_unit"):
        return None
    assert isinstance(current, dict)
    return {"key": str(unit["key"]), "label": str(unit.get("label") or unit["key"]),
            "verb": "已改派" if current.get("cause") == "reassign" else "已交办"}


class CasePages:
    def __init__(self, backend: Backend, units: UnitNames) -> None:
        self._backend = backend
        self._units = units

    def install(self, app: web.Application) -> None:
        page = session.signed_in(*QUEUE_ROLES)
        app.router.add_get("/queue", page(self.queue))
        app.router.add_get("/queue/rows", page(self.rows))
        app.router.add_get("/cases/{case_id}", session.signed_in(*CASE_ROLES)(self.case))
        app.router.add_post("/cases/{case_id}/actions",
                            session.signed_in(*CASE_ROLES)(self.act))
        app.router.add_post("/cases/{case_id}/reassign",
                            session.signed_in(*OFFICE)(self.reassign))

    async def _rows(self, request: web.Request, person: Person) -> dict[str, Any]:
        """Two lists: the newly assigned cases waiting for 受理 (newest first, so a new one is
        always on top however long the queue), and every open case nearest due first."""
        fresh, due = await asyncio.gather(
            self._list(person, {"status": "assigned", "sort": "received", "limit": "20"}),
            self._list(person, {"status": self._status(request), "sort": "due", "limit": "50",
                                **({"cursor": request.query["cursor"]}
                                   if request.query.get("cursor") else {}),
                                **({"category": request.query["category"]}
                                   if request.query.get("category") else {})}))
        problem = next((f"待办读取失败（{a.status}）" for a in (fresh, due) if not a.ok), None)
        if problem:
            return {"fresh": [], "items": [], "total": 0, "problem": problem}
        items = list(due.body["items"])
        timers = await asyncio.gather(*(self._deadlines(person, i["case_id"]) for i in items))
        for item, deadlines in zip(items, timers, strict=True):
            item["urgency"], item["next_deadline"] = urgency(deadlines)
        return {"fresh": fresh.body["items"], "items": items,
                "chosen": request.query.get("status", ""),
                "category": request.query.get("category", ""),
                "fresh_total": int(fresh.headers.get("X-Total-Count", 0)),
                "total": int(due.headers.get("X-Total-Count", len(items))),
                "next_cursor": due.body.get("next_cursor")}

    @staticmethod
    def _status(request: web.Request) -> str:
        """The queue's status filter: one of QUEUE_FILTERS, else every open case."""
        return QUEUE_FILTERS.get(request.query.get("status", ""), ("", "open"))[1]

    async def _list(self, person: Person, params: dict[str, str]) -> Answer:
        return await self._backend.call("intake", "GET", "/v1/cases", person.token,
                                        params=params)

    async def _deadlines(self, person: Person, case_id: str) -> list[dict[str, Any]]:
        answer = await self._backend.call("deadlines", "GET", f"/v1/deadlines/{case_id}",
                                          person.token)
        return list(answer.body) if answer.ok and isinstance(answer.body, list) else []

    async def _case_deadlines(self, person: Person, case_id: str
                              ) -> list[dict[str, Any]] | None:
        """The case page's deadlines; None when the role may not read them (a leader)."""
        if person.role == "leader":
            return None
        return await self._deadlines(person, case_id)

    async def queue(self, request: web.Request, person: Person) -> web.StreamResponse:
        rows = await self._rows(request, person)
        rows["request_cursor"] = request.query.get("cursor", "")
        rows.update(filters=QUEUE_FILTERS, query=request.query_string)
        return aiohttp_jinja2.render_template("queue.html", request, rows)

    async def rows(self, request: web.Request, person: Person) -> web.StreamResponse:
        return aiohttp_jinja2.render_template("queue_rows.html", request,
                                              await self._rows(request, person))

    async def _case(self, person: Person, case_id: str, purpose: str = "") -> Answer:
        if not CASE_ID.match(case_id):
            raise web.HTTPNotFound(text="没有这个信访件")
        params = {"purpose": purpose} if purpose else None
        return await self._backend.call("intake", "GET", f"/v1/cases/{case_id}", person.token,
                                        params=params)

    async def case(self, request: web.Request, person: Person,
                   errors: dict[str, str] | None = None, status: int = 200
                   ) -> web.StreamResponse:
        case_id = request.match_info["case_id"]
        answer = await self._case(person, case_id, request.query.get("purpose", "").strip())
        if answer.status in (403, 404):
            return aiohttp_jinja2.render_template(
                "denied.html", request, {"status": answer.status}, status=answer.status)
        if not answer.ok:
            raise web.HTTPBadGateway(text=f"信访件读取失败（{answer.status}）")
        record = answer.body
        deadlines, routing = await asyncio.gather(
            self._case_deadlines(person, case_id), self._routing(person, case_id))
        return aiohttp_jinja2.render_template("case.html", request, {
            "case": record, "deadlines": deadlines,
            "actions": page_actions(list(record.get("allowed_actions", []))),
            "ratings": RATINGS, "errors": errors or {}, "routing": routing,
            "office": person.role in OFFICE, "units": self._units.all(),
            "notice": request.query.get("done", ""),
            "in_transit": unit_in_transit(record, routing),
            "identity_shown": "name" in record.get("petitioner", {}),
        }, status=status)

    async def _routing(self, person: Person, case_id: str) -> dict[str, Any] | None:
        """Routing's decisions and link (staff see every case's; others skip the call)."""
        if person.role not in OFFICE:
            return None
        answer = await self._backend.call("routing", "GET", f"/v1/assignments/{case_id}",
                                          person.token)
        return answer.body if answer.ok and isinstance(answer.body, dict) else None

    async def act(self, request: web.Request, person: Person) -> web.StreamResponse:
        form = await session.check_csrf(request)
        action = form.get("action", "")
        if not ACTION_NAME.match(action):
            raise web.HTTPBadRequest(text="未知的操作")
        case_id = request.match_info["case_id"]
        answer = await self._backend.call("intake", "POST", f"/v1/cases/{case_id}/actions",
                                          person.token, json=action_body(action, form))
        if answer.ok:
            return web.Response(status=303, headers={"Location": f"/cases/{case_id}"})
        return await self._refused(request, person, answer, action)

    async def reassign(self, request: web.Request, person: Person) -> web.StreamResponse:
        form = await session.check_csrf(request)
        case_id = request.match_info["case_id"]
        body = {"unit": form.get("unit", "").strip(), "reason": form.get("reason", "").strip()}
        answer = await self._backend.call("routing", "POST",
                                          f"/v1/assignments/{case_id}/reassign",
                                          person.token, json=body)
        if answer.ok:
            return web.Response(status=303,
                                headers={"Location": f"/cases/{case_id}?done=reassigned"})
        return await self._refused(request, person, answer, "reassign")

    async def _refused(self, request: web.Request, person: Person, answer: Answer,
                       action: str) -> web.StreamResponse:
        errors = {e["field"]: labels.field_message(e["field"], e.get("message", ""))
                  for e in answer.field_errors()}
        if not errors:
            message = answer.body.get("error", "") if isinstance(answer.body, dict) else ""
            errors = {"action": f"操作未完成（{answer.status}）：{message}"}
        errors["for"] = action
        return await self.case(request, person, errors, status=answer.status)
