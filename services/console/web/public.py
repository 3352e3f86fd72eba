"""公众查询 (no sign-in): tracking number and query code → status, timeline and the written
answer, with no personal data (intake's public tracking answer carries none); then, where the
case allows it now, the petitioner's rating (once, after feedback) and review request (within
30 days of the answer). Intake says which of the two are open (``self_service``), so the page
offers exactly those."""

from __future__ import annotations

import re
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from services.console.web import session
from services.console.web.backend import Answer, Backend

TRACKING_NO = re.compile(r"^[A-Za-z0-9-]{4,40}$")
QUERY_CODE = re.compile(r"^[A-Za-z0-9]{4,32}$")
RATINGS = (("satisfied", "满意"), ("basically_satisfied", "基本满意"), ("unsatisfied", "不满意"))
MAX_REASON = 2000
DONE = {"rating": "感谢您的评价。",
        "review-request": "复查申请已提交，复查机关将在 30 日内作出复查意见。"}


def credentials(form: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    number, code = form.get("tracking_no", "").strip(), form.get("code", "").strip()
    errors: dict[str, str] = {}
    if not TRACKING_NO.match(number):
        errors["tracking_no"] = "请输入回执上的受理编号"
    if not QUERY_CODE.match(code):
        errors["code"] = "请输入回执上的查询码"
    return number, code, errors


def refusal(answer: Answer, field: str) -> dict[str, str]:
    """Intake's refusal as the petitioner reads it, next to the field it concerns."""
    if answer.status == 404:
        return {"code": "受理编号或查询码不正确，请核对回执"}
    if answer.status == 429:
        return {field: "操作过于频繁，请稍后再试"}
    if answer.status == 409:
        return {field: "当前办理阶段不能进行此项操作，请查看最新办理情况"}
    return {field: f"暂时无法办理（{answer.status}），请稍后再试"}


class PublicPages:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def install(self, app: web.Application) -> None:
        app.router.add_get("/track", self.form)
        app.router.add_post("/track", self.lookup)
        app.router.add_post("/track/rating", self.rate)
        app.router.add_post("/track/review-request", self.review)

    async def form(self, request: web.Request) -> web.StreamResponse:
        return self._page(request, {}, {})

    def _page(self, request: web.Request, form: dict[str, str], errors: dict[str, str],
              record: Any = None, code: str = "", done: str = "",
              status: int | None = None) -> web.StreamResponse:
        return aiohttp_jinja2.render_template("track.html", request, {
            "form": form, "errors": errors, "record": record, "code": code, "done": done,
            "ratings": RATINGS}, status=status or (422 if errors else 200))

    async def _track(self, number: str, code: str) -> tuple[Any, dict[str, str]]:
        answer = await self._backend.call("intake", "GET", f"/v1/track/{number}", None,
                                          params={"code": code})
        if answer.ok:
            return answer.body, {}
        return None, refusal(answer, "code")

    async def lookup(self, request: web.Request) -> web.StreamResponse:
        # POST, not GET: the query code must not sit in an address, a history or a log.
        form = await session.check_csrf(request)
        number, code, errors = credentials(form)
        record = None
        if not errors:
            record, errors = await self._track(number, code)
        return self._page(request, {"tracking_no": number}, errors, record,
                          code if record else "")

    async def rate(self, request: web.Request) -> web.StreamResponse:
        form = await session.check_csrf(request)
        rating = form.get("rating", "")
        errors = {} if rating in dict(RATINGS) else {"rating": "请选择您的评价"}
        return await self._act(request, form, "rating", {"rating": rating}, errors)

    async def review(self, request: web.Request) -> web.StreamResponse:
        form = await session.check_csrf(request)
        reason = form.get("reason", "").strip()
        errors = {}
        if not reason:
            errors["reason"] = "请写明申请复查的理由"
        elif len(reason) > MAX_REASON:
            errors["reason"] = f"理由最多 {MAX_REASON} 个字"
        return await self._act(request, form, "review-request", {"reason": reason}, errors)

    async def _act(self, request: web.Request, form: dict[str, str], what: str,
                   body: dict[str, str], errors: dict[str, str]) -> web.StreamResponse:
        number, code, wrong = credentials(form)
        if wrong:  # the hidden fields were tampered with: start again from the lookup
            return self._page(request, {"tracking_no": number}, wrong)
        done = ""
        if not errors:
            answer = await self._backend.call("intake", "POST",
                                              f"/v1/track/{number}/{what}", None,
                                              json={"code": code, **body})
            field = "rating" if what == "rating" else "reason"
            if answer.ok:
                done = DONE[what]
            else:
                errors = refusal(answer, field)
        record, lookup_errors = await self._track(number, code)
        if record is None:
            return self._page(request, {"tracking_no": number}, lookup_errors)
        return self._page(request, {"tracking_no": number, **body}, errors, record, code, done,
                          status=422 if errors else 200)
