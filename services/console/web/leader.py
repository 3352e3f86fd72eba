"""领导 (leader): the key cases this leader is responsible for (领导包案: intake's case list
scopes a leader to them), nearest due first, with the running limit's due date and the urges;
each opens the case page, where the instruction (批示) form is one of the allowed actions."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from services.console.web import session
from services.console.web.backend import Backend
from services.console.web.session import Person


class LeaderPages:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def install(self, app: web.Application) -> None:
        app.router.add_get("/leader", session.signed_in("leader")(self.cases))

    async def cases(self, request: web.Request, person: Person) -> web.StreamResponse:
        params = {"sort": "due", "limit": "100", "status": request.query.get("status", "open")}
        if params["status"] not in ("open", "all"):
            params["status"] = "open"
        query = {k: v for k, v in params.items() if not (k == "status" and v == "all")}
        answer = await self._backend.call("intake", "GET", "/v1/cases", person.token,
                                          params=query)
        context = {"items": [], "total": 0, "status": params["status"], "problem": None}
        if answer.ok:
            context.update(items=answer.body["items"],
                           total=int(answer.headers.get("X-Total-Count", 0)))
        else:
            context["problem"] = f"包案信访件读取失败（{answer.status}）"
        return aiohttp_jinja2.render_template("leader.html", request, context)
