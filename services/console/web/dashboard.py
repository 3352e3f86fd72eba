"""大屏 operations dashboard (staff, leader, admin): today's intake by channel, the year's open
and overdue cases and its four rates, the monthly trend, and the duties overdue and due soon
by unit and jurisdiction — refreshed in place every few seconds (htmx polling of one
fragment). Every count and rate is the statistics API's answer, unchanged; the cases overdue
and due soon per group are the deadlines service's counts (GET /v1/overdue/summary)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import aiohttp_jinja2
import orjson
from aiohttp import web

from services.console.web import session
from services.console.web.backend import Answer, Backend
from services.console.web.labels import SHANGHAI
from services.console.web.session import Person

ROLES = ("staff", "leader", "admin")
UNASSIGNED = "unassigned"  # the rows' key (and test id) of the cases without a unit yet
# What such a row is called: the case page's word for a case not yet given to a unit.
UNASSIGNED_LABEL = {"unit": "待交办", "jurisdiction": "属地未登记"}
REFRESH_SECONDS = 10
TILES = (("received", "本年受理"), ("in_progress", "在办"), ("overdue", "超期"),
         ("closed", "已办结"))
RATES = (("closure_rate", "办结率"), ("on_time_rate", "按期办结率"),
         ("feedback_rate", "反馈率"), ("satisfaction_rate", "满意率"))


def shown_rows(answer: Answer, by: str) -> list[dict[str, Any]]:
    """Deadlines' counts per group (``GET /v1/overdue/summary``: by case, most overdue first)
    as the page's rows; the cases no unit or jurisdiction is known for yet are one row."""
    if not answer.ok or not isinstance(answer.body, dict):
        return []
    return [{"key": r["key"] or UNASSIGNED,
             "label": UNASSIGNED_LABEL[by] if r["key"] is None else r["label"] or r["key"],
             "overdue": r["overdue"], "due_soon": r["due_soon"]} for r in answer.body["rows"]]


class DashboardPages:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def install(self, app: web.Application) -> None:
        page = session.signed_in(*ROLES)
        app.router.add_get("/dashboard", page(self.dashboard))
        app.router.add_get("/dashboard/figures", page(self.figures))

    async def dashboard(self, request: web.Request, person: Person) -> web.StreamResponse:
        return aiohttp_jinja2.render_template("dashboard.html", request, {
            **await self._figures(person), "refresh": REFRESH_SECONDS})

    async def figures(self, request: web.Request, person: Person) -> web.StreamResponse:
        return aiohttp_jinja2.render_template("dashboard_figures.html", request,
                                              await self._figures(person))

    async def _figures(self, person: Person) -> dict[str, Any]:
        now = datetime.now(SHANGHAI)
        today, year = now.date().isoformat(), f"{now.year}-01-01"
        stats = self._backend.call
        summary, channels, months, by_unit, by_jurisdiction = await asyncio.gather(
            stats("statistics", "GET", "/v1/stats/summary", person.token,
                  params={"from": year, "to": today}),
            stats("statistics", "GET", "/v1/stats/breakdown", person.token,
                  params={"by": "channel", "from": today, "to": today}),
            stats("statistics", "GET", "/v1/stats/breakdown", person.token,
                  params={"by": "month", "from": year, "to": today}),
            self._late(person, "unit"), self._late(person, "jurisdiction"))
        problem = next((f"{what}读取失败（{a.status}）" for what, a in (
            ("统计", summary), ("统计", channels), ("统计", months)) if not a.ok), None)
        if problem:
            return {"problem": problem, "updated": now.strftime("%H:%M:%S")}
        trend = sorted(months.body["rows"], key=lambda r: str(r["key"]))
        charts = {"channel": channels.body["rows"], "month": trend}
        return {
            "summary": summary.body, "today": today, "year": now.year,
            "today_total": channels.body["total"], "today_rows": channels.body["rows"],
            "tiles": TILES, "rates": RATES, "trend": trend,
            "by_unit": shown_rows(by_unit, "unit"),
            "by_jurisdiction": shown_rows(by_jurisdiction, "jurisdiction"),
            "timers_problem": None if by_unit.ok and by_jurisdiction.ok else "期限数据暂不可用",
            "chart_data": orjson.dumps(charts).decode(), "updated": now.strftime("%H:%M:%S"),
        }

    async def _late(self, person: Person, by: str) -> Answer:
        """Counted by deadlines in one query each refresh: no timer list travels."""
        return await self._backend.call("deadlines", "GET", "/v1/overdue/summary",
                                        person.token, params={"by": by})
