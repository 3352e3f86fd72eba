"""信访科 (staff, admin): search over every case by status, unit, channel, category,
jurisdiction and the text of the title, in keyset pages (intake's ``GET /v1/cases``)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from services.console.web import labels, session
from services.console.web.backend import Backend
from services.console.web.session import Person

FILTERS = ("status", "unit", "channel", "category", "jurisdiction", "q", "sort", "cursor")
PAGE_SIZE = "20"


class SearchPages:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def install(self, app: web.Application) -> None:
        app.router.add_get("/search", session.signed_in("staff", "admin")(self.search))

    async def search(self, request: web.Request, person: Person) -> web.StreamResponse:
        # GET: a search is a bookmarkable address; it carries no personal data.
        query = {k: request.query[k].strip() for k in FILTERS if request.query.get(k, "").strip()}
        params = {"sort": "received", **query, "limit": PAGE_SIZE}
        answer = await self._backend.call("intake", "GET", "/v1/cases", person.token,
                                          params=params)
        errors = {e["field"]: labels.field_message(e["field"], e.get("message", ""))
                  for e in answer.field_errors()}
        body = answer.body if answer.ok else {"items": [], "next_cursor": None}
        following = None
        if body.get("next_cursor"):
            following = {**{k: v for k, v in query.items() if k != "cursor"},
                         "cursor": body["next_cursor"]}
        return aiohttp_jinja2.render_template("search.html", request, {
            "query": query, "errors": errors, "items": body["items"],
            "total": answer.headers.get("X-Total-Count", "0") if answer.ok else "0",
            "following": following, "statuses": labels.STATUS,
            "problem": None if answer.ok or errors else f"查询失败（{answer.status}）",
        }, status=answer.status if errors else 200)
