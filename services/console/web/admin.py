"""管理 (admin): accounts (the console's own API), routing rules (the active version, its
history, a YAML upload whose errors name their lines), calendar years (holidays and make-up
working days, and the open deadlines still counted on a year without data, which will move),
and each service's dead letters (list, replay). Every change goes through the owning service's
admin API with the administrator's own token, so each service checks the right and audits it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from services.console.web import labels, session
from services.console.web.backend import Answer, Backend
from services.console.web.session import Person
from shared.platform.auth import PERSON_ROLES

SERVICES = ("intake", "routing", "deadlines", "statistics")
USERNAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
YEAR = re.compile(r"^\d{4}$")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
RULE_HISTORY = 10  # rule-set versions shown, newest first
MAX_RULES_BYTES = 1 << 20


def days(text: str) -> list[str]:
    """Dates typed one a line, or separated by commas or spaces, in order, once each."""
    return sorted(set(DAY.findall(text)))


def message(answer: Answer) -> str:
    body = answer.body
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return f"（{answer.status}）"


class AdminPages:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def install(self, app: web.Application) -> None:
        page = session.signed_in("admin")
        r = app.router
        r.add_get("/admin", page(self.accounts))
        r.add_post("/admin/accounts", page(self.add_account))
        r.add_post("/admin/accounts/{username}/{what}", page(self.change_account))
        r.add_get("/admin/rules", page(self.rules))
        r.add_post("/admin/rules", page(self.upload_rules))
        r.add_get("/admin/calendar", page(self.calendar))
        r.add_post("/admin/calendar", page(self.save_year))
        r.add_get("/admin/deadletters", page(self.deadletters))
        r.add_post("/admin/deadletters/{service}/replay", page(self.replay))

    def _call(self, person: Person, service: str, method: str, path: str,
              **kw: Any) -> Any:
        return self._backend.call(service, method, path, person.token, **kw)

    # -- accounts ------------------------------------------------------------------------

    async def accounts(self, request: web.Request, person: Person,
                       errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                       status: int = 200) -> web.StreamResponse:
        answer = await self._call(person, "console", "GET", "/v1/accounts")
        everyone = answer.body.get("items", []) if answer.ok else []
        q, role = request.query.get("q", "").strip(), request.query.get("role", "")
        items = [a for a in everyone if (not role or a["role"] == role) and (
            not q or q.lower() in a["username"].lower() or q in a["display_name"])]
        return aiohttp_jinja2.render_template("admin_accounts.html", request, {
            "items": items, "total": len(everyone), "shown_all": len(items) == len(everyone),
            "q": q, "role": role,
            "problem": None if answer.ok else f"账号读取失败{message(answer)}",
            "errors": errors or {}, "form": form or {}, "roles": PERSON_ROLES,
            "notice": request.query.get("done", "")}, status=status)

    async def add_account(self, request: web.Request, person: Person) -> web.StreamResponse:
        form = await session.check_csrf(request)
        body: dict[str, Any] = {k: form.get(k, "").strip() for k in
                                ("username", "display_name", "role")}
        body["password"] = form.get("password", "")
        if form.get("unit", "").strip():
            body["unit"] = form["unit"].strip()
        channels = [c for c in re.split(r"[\s,，]+", form.get("channels", "")) if c]
        if channels:
            body["channels"] = channels
        answer = await self._call(person, "console", "POST", "/v1/accounts", json=body)
        if answer.ok:
            raise web.HTTPSeeOther(f"/admin?done=added:{body['username']}")
        errors = {e["field"]: labels.field_message(e["field"], e.get("message", ""))
                  for e in answer.field_errors()}
        if answer.status == 409:
            errors["username"] = "该用户名已被使用"
        errors = errors or {"form": f"添加失败：{message(answer)}"}
        form.pop("password", None)
        return await self.accounts(request, person, errors, form, status=422)

    async def change_account(self, request: web.Request, person: Person
                             ) -> web.StreamResponse:
        form = await session.check_csrf(request)
        username, what = request.match_info["username"], request.match_info["what"]
        if not USERNAME.match(username) or what not in ("disable", "enable", "password"):
            raise web.HTTPNotFound()
        if what == "password":
            answer = await self._call(person, "console", "PUT",
                                      f"/v1/accounts/{username}/password",
                                      json={"password": form.get("password", "")})
        else:
            answer = await self._call(person, "console", "POST",
                                      f"/v1/accounts/{username}/{what}")
        if answer.ok:
            raise web.HTTPSeeOther(f"/admin?done={what}:{username}")
        errors = {f"{username}.password": labels.field_message("password", e.get("message", ""))
                  for e in answer.field_errors()} or {"form": f"操作失败：{message(answer)}"}
        return await self.accounts(request, person, errors, status=422)

    # -- routing rules -------------------------------------------------------------------

    async def rules(self, request: web.Request, person: Person,
                    errors: list[dict[str, Any]] | None = None, text: str = "",
                    status: int = 200) -> web.StreamResponse:
        active = await self._call(person, "routing", "GET", "/v1/rules")
        history: list[dict[str, Any]] = []
        if active.ok:
            newest = int(active.body["version"])
            older = await asyncio.gather(*(
                self._call(person, "routing", "GET", "/v1/rules", params={"version": str(v)})
                for v in range(newest, max(0, newest - RULE_HISTORY), -1)))
            history = [a.body for a in older if a.ok]
        return aiohttp_jinja2.render_template("admin_rules.html", request, {
            "active": active.body if active.ok else None, "history": history,
            "errors": errors or [], "text": text, "notice": request.query.get("done", ""),
            "problem": None if active.ok else f"规则读取失败{message(active)}"},
            status=status)

    async def upload_rules(self, request: web.Request, person: Person) -> web.StreamResponse:
        form = await session.check_csrf(request)
        text = form.get("yaml", "")
        if not text.strip():
            return await self.rules(request, person,
                                    [{"line": 0, "message": "请粘贴或选择规则文件（YAML）"}],
                                    text, status=422)
        if len(text.encode()) > MAX_RULES_BYTES:
            return await self.rules(request, person,
                                    [{"line": 0, "message": "规则文件不能超过 1 MiB"}], "",
                                    status=422)
        answer = await self._backend.send("routing", "PUT", "/v1/rules", person.token,
                                          data=text.encode(), content_type="application/yaml")
        if answer.ok:
            raise web.HTTPSeeOther(f"/admin/rules?done={answer.body.get('version', '')}")
        errors = (answer.body.get("errors") if isinstance(answer.body, dict) else None) or [
            {"line": 0, "message": message(answer)}]
        return await self.rules(request, person, errors, text, status=422)

    # -- calendar ------------------------------------------------------------------------

    async def calendar(self, request: web.Request, person: Person,
                       errors: dict[str, str] | None = None, status: int = 200,
                       year: str | None = None, typed: dict[str, str] | None = None
                       ) -> web.StreamResponse:
        year = year or request.query.get("year", "")
        overlay = await self._call(person, "deadlines", "GET", "/v1/calendar")
        context: dict[str, Any] = {
            "years": overlay.body if overlay.ok else [], "year": year, "errors": errors or {},
            "notice": request.query.get("done", ""), "days": None, "moving": None,
            "typed": typed}
        if YEAR.match(year):
            current, moving, history = await asyncio.gather(
                self._call(person, "deadlines", "GET", f"/v1/calendar/{year}"),
                self._call(person, "deadlines", "GET", "/v1/deadlines/provisional",
                           params={"year": year, "limit": "200"}),
                self._call(person, "deadlines", "GET", f"/v1/calendar/{year}/history"))
            context["days"] = current.body if current.ok else None
            context["moving"] = moving.body if moving.ok else None
            context["moving_total"] = moving.headers.get("X-Total-Count") if moving.ok else None
            context["history"] = history.body if history.ok else None
        return aiohttp_jinja2.render_template("admin_calendar.html", request, context,
                                              status=status)

    async def save_year(self, request: web.Request, person: Person) -> web.StreamResponse:
        form = await session.check_csrf(request)
        year = form.get("year", "").strip()
        if not YEAR.match(year):
            raise web.HTTPSeeOther("/admin/calendar")
        body = {"holidays": days(form.get("holidays", "")),
                "workdays": days(form.get("workdays", ""))}
        answer = await self._call(person, "deadlines", "PUT", f"/v1/calendar/{year}",
                                  json=body)
        if answer.ok:
            moved = answer.body.get("rescheduled", 0) if isinstance(answer.body, dict) else 0
            raise web.HTTPSeeOther(f"/admin/calendar?year={year}&done={moved}")
        errors: dict[str, str] = {}
        for e in answer.field_errors():
            field = str(e.get("field", ""))
            key = "workdays" if field.startswith("workdays") else "holidays"
            errors.setdefault(key, f"{field}：{e.get('message', '')}")
        errors = errors or {"holidays": f"保存失败：{message(answer)}"}
        return await self.calendar(request, person, errors, status=422, year=year,
                                   typed=form)

    # -- dead letters --------------------------------------------------------------------

    async def deadletters(self, request: web.Request, person: Person) -> web.StreamResponse:
        answers = await asyncio.gather(*(self._call(person, s, "GET", "/v1/deadletters")
                                         for s in SERVICES))
        services = [{"name": s, "items": a.body.get("items", []) if a.ok else [],
                     "problem": None if a.ok else f"读取失败{message(a)}"}
                    for s, a in zip(SERVICES, answers, strict=True)]
        return aiohttp_jinja2.render_template("admin_deadletters.html", request, {
            "services": services, "notice": request.query.get("done", "")})

    async def replay(self, request: web.Request, person: Person) -> web.StreamResponse:
        form = await session.check_csrf(request)
        service = request.match_info["service"]
        if service not in SERVICES:
            raise web.HTTPNotFound()
        ids = [int(i) for i in re.findall(r"\d{1,18}", form.get("ids", ""))]
        answer = await self._call(person, service, "POST", "/v1/deadletters/replay",
                                  json={"ids": ids})
        done = (f"{service}:" + ",".join(f"{k}={v}" for k, v in answer.body.items())
                if answer.ok and isinstance(answer.body, dict) else f"{service}:failed")
        raise web.HTTPSeeOther(f"/admin/deadletters?done={done}")
