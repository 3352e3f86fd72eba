"""公众查询 (no sign-in): tracking number and query code → status, timeline and the written
answer, with no personal data (intake's public tracking answer carries none)."""

from __future__ import annotations

import re

import aiohttp_jinja2
from aiohttp import web

from services.console.web import session
from services.console.web.backend import Backend

TRACKING_NO = re.compile(r"^[A-Za-z0-9-]{4,40}$")
QUERY_CODE = re.compile(r"^[A-Za-z0-9]{4,32}$")


class PublicPages:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def install(self, app: web.Application) -> None:
        app.router.add_get("/track", self.form)
        app.router.add_post("/track", self.lookup)

    async def form(self, request: web.Request) -> web.StreamResponse:
        return aiohttp_jinja2.render_template("track.html", request, {"form": {}, "errors": {}})

    async def lookup(self, request: web.Request) -> web.StreamResponse:
        # POST, not GET: the query code must not sit in an address, a history or a log.
        form = await session.check_csrf(request)
        number, code = form.get("tracking_no", "").strip(), form.get("code", "").strip()
        errors: dict[str, str] = {}
        if not TRACKING_NO.match(number):
            errors["tracking_no"] = "请输入回执上的受理编号"
        if not QUERY_CODE.match(code):
            errors["code"] = "请输入回执上的查询码"
        record = None
        if not errors:
            answer = await self._backend.call("intake", "GET", f"/v1/track/{number}", None,
                                              params={"code": code})
            if answer.ok:
                record = answer.body
            elif answer.status == 404:
                errors["code"] = "受理编号或查询码不正确，请核对回执"
            elif answer.status == 429:
                errors["code"] = "查询过于频繁，请稍后再试"
            else:
                errors["code"] = f"暂时无法查询（{answer.status}），请稍后再试"
        return aiohttp_jinja2.render_template(
            "track.html", request, {"form": {"tracking_no": number}, "errors": errors,
                                    "record": record}, status=422 if errors else 200)
