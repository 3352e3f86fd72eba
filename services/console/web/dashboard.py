"""大屏 operations dashboard (staff, leader, admin): today's intake by channel, the year's open
and overdue cases and its four rates, the monthly trend, and the duties overdue and due soon
by unit and jurisdiction — refreshed in place every few seconds (htmx polling of one
fragment). Every count and rate is the statistics API's answer, unchanged; the overdue and
due-soon lists are the deadlines service's, grouped here by case."""

from __future__ import annotations

import asyncio
from collections import defaultdict
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
REFRESH_SECONDS = 10
TILES = (("received", "本年受理"), ("in_progress", "在办"), ("overdue", "超期"),
         ("closed", "已办结"))
RATES = (("closure_rate", "办结率"), ("on_time_rate", "按期办结率"),
         ("feedback_rate", "反馈率"), ("satisfaction_rate", "满意率"))


def by_group(overdue: list[dict[str, Any]], due_soon: list[dict[str, Any]], key: str
             ) -> list[dict[str, Any]]:
    """Cases overdue and due soon per unit (or jurisdiction), most overdue first. A case with
    two late duties counts once; one overdue and due soon counts as overdue only."""
    late: dict[str, set[str]] = defaultdict(set)
    soon: dict[str, set[str]] = defaultdict(set)
    labels: dict[str, str] = {}

    def group(item: dict[str, Any]) -> str:
        value = item.get(key)
        if isinstance(value, dict):  # a jurisdiction comes as {key, label}
            labels[str(value["key"])] = str(value["label"])
            return str(value["key"])
        return str(value or "unassigned")

    for item in overdue:
        late[group(item)].add(str(item["case_id"]))
    for item in due_soon:
        g = group(item)
        if str(item["case_id"]) not in late[g]:
            soon[g].add(str(item["case_id"]))
    rows = [{"key": g, "label": labels.get(g, g), "overdue": len(late[g]),
             "due_soon": len(soon[g])} for g in set(late) | set(soon)]
    return sorted(rows, key=lambda r: (-r["overdue"], -r["due_soon"], r["key"]))


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
        summary, channels, months, overdue, due_soon = await asyncio.gather(
            stats("statistics", "GET", "/v1/stats/summary", person.token,
                  params={"from": year, "to": today}),
            stats("statistics", "GET", "/v1/stats/breakdown", person.token,
                  params={"by": "channel", "from": today, "to": today}),
            stats("statistics", "GET", "/v1/stats/breakdown", person.token,
                  params={"by": "month", "from": year, "to": today}),
            self._timers(person, "/v1/overdue"), self._timers(person, "/v1/due-soon"))
        problem = next((f"{what}读取失败（{a.status}）" for what, a in (
            ("统计", summary), ("统计", channels), ("统计", months)) if not a.ok), None)
        if problem:
            return {"problem": problem, "updated": now.strftime("%H:%M:%S")}
        late = list(overdue.body) if overdue.ok else []
        soon = list(due_soon.body) if due_soon.ok else []
        trend = sorted(months.body["rows"], key=lambda r: str(r["key"]))
        charts = {"channel": channels.body["rows"], "month": trend}
        return {
            "summary": summary.body, "today": today, "year": now.year,
            "today_total": channels.body["total"], "today_rows": channels.body["rows"],
            "tiles": TILES, "rates": RATES, "trend": trend,
            "by_unit": by_group(late, soon, "unit"),
            "by_jurisdiction": by_group(late, soon, "jurisdiction"),
            "timers_problem": None if overdue.ok and due_soon.ok else "期限数据暂不可用",
            "chart_data": orjson.dumps(charts).decode(), "updated": now.strftime("%H:%M:%S"),
        }

    async def _timers(self, person: Person, path: str) -> Answer:
        return await self._backend.call("deadlines", "GET", path, person.token,
                                        params={"limit": "10000"})
