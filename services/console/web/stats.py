"""统计 (staff, leader, admin): the statistics API's summary and breakdowns for a period, with
ECharts charts, and the quarterly report download. Every figure is the API's, unchanged."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp_jinja2
import orjson
from aiohttp import web

from services.console.web import session
from services.console.web.backend import Backend
from services.console.web.labels import SHANGHAI
from services.console.web.session import Person

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BREAKDOWNS = ("channel", "unit", "category", "month")
RATES = (("closure_rate", "办结率"), ("on_time_rate", "按期办结率"),
         ("feedback_rate", "反馈率"), ("satisfaction_rate", "满意率"))
COUNTS = (("received", "受理总量"), ("closed", "已办结"), ("in_progress", "办理中"),
          ("overdue", "超期"))
# Assessment indicators the statistics API adds with the time-limit work: shown when present.
EXTRA_RATES = (("timely_acceptance_rate", "及时受理率"), ("on_time_answer_rate", "按期答复率"),
               ("participation_rate", "群众参评率"), ("key_case_resolution_rate", "包案化解率"))
EXTRA_COUNTS = (("repeat_petitions", "重复信访"), ("people", "人次"), ("urges", "督办"))
COMPARE = {"yoy": "同比（上年同期）", "previous": "环比（上一周期）"}


def presets(today: date) -> list[tuple[str, str, str]]:
    """Periods a report is usually asked for: (label, from, to), in Beijing dates."""
    q = (today.month - 1) // 3
    q_start = date(today.year, 3 * q + 1, 1)
    last_q_end = q_start - timedelta(days=1)
    last_q_start = date(last_q_end.year, (last_q_end.month - 1) // 3 * 3 + 1, 1)
    month_start = today.replace(day=1)
    last_m_end = month_start - timedelta(days=1)
    return [("本月", month_start.isoformat(), today.isoformat()),
            ("上月", last_m_end.replace(day=1).isoformat(), last_m_end.isoformat()),
            ("本季度", q_start.isoformat(), today.isoformat()),
            ("上季度", last_q_start.isoformat(), last_q_end.isoformat()),
            ("本年", f"{today.year}-01-01", today.isoformat()),
            ("上年", f"{today.year - 1}-01-01", f"{today.year - 1}-12-31")]


def quarters(today: date) -> list[tuple[int, int]]:
    """The finished and current quarters of this year and last year, newest first."""
    current = (today.month - 1) // 3 + 1
    return [(today.year, n) for n in range(current, 0, -1)] + [
        (today.year - 1, n) for n in range(4, 0, -1)]


def period(query: Any, today: date) -> tuple[str, str, dict[str, str]]:
    """The period asked for (default: this year up to today, Beijing time)."""
    errors: dict[str, str] = {}
    start = query.get("from", "") or f"{today.year}-01-01"
    end = query.get("to", "") or today.isoformat()
    for name, value in (("from", start), ("to", end)):
        try:
            if not DATE.match(value):
                raise ValueError
            date.fromisoformat(value)
        except ValueError:
            errors[name] = "请输入日期，如 2026-01-01"
    if not errors and start > end:
        errors["to"] = "结束日期不能早于开始日期"
    return start, end, errors


class StatsPages:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def install(self, app: web.Application) -> None:
        page = session.signed_in("staff", "leader", "admin")
        app.router.add_get("/stats", page(self.stats))
        app.router.add_get("/stats/quarterly", page(self.quarterly))

    async def stats(self, request: web.Request, person: Person) -> web.StreamResponse:
        today = datetime.now(SHANGHAI).date()
        start, end, errors = period(request.query, today)
        kind = request.query.get("compare", "")
        if kind and kind not in COMPARE:
            errors["compare"] = "请选择同比或环比"
        context: dict[str, Any] = {"start": start, "end": end, "errors": errors,
                                   "rates": RATES, "counts": COUNTS, "year": today.year,
                                   "quarter": (today.month - 1) // 3 + 1,
                                   "presets": presets(today), "quarters": quarters(today),
                                   "compare": kind, "compare_kinds": COMPARE}
        if errors:
            return aiohttp_jinja2.render_template("stats.html", request, context, status=422)
        span = {"from": start, "to": end}
        summary, *parts = await asyncio.gather(
            self._backend.call("statistics", "GET", "/v1/stats/summary", person.token,
                               params={**span, **({"compare": kind} if kind else {})}),
            *(self._backend.call("statistics", "GET", "/v1/stats/breakdown", person.token,
                                 params={**span, "by": by}) for by in BREAKDOWNS))
        if not summary.ok:
            context["problem"] = f"统计读取失败（{summary.status}）"
            return aiohttp_jinja2.render_template("stats.html", request, context)
        breakdowns = {by: a.body for by, a in zip(BREAKDOWNS, parts, strict=True) if a.ok}
        figures = summary.body
        context.update(extra=[(k, label, k in dict(EXTRA_RATES)) for k, label in
                              (*EXTRA_COUNTS, *EXTRA_RATES) if isinstance(figures.get(k),
                                                                          int | float)],
                       comparison=figures.get("comparison"),
                       labels=dict((*COUNTS, *RATES, *EXTRA_COUNTS, *EXTRA_RATES)),
                       rate_keys={k for k, _ in (*RATES, *EXTRA_RATES)})
        context.update(summary=summary.body, breakdowns=breakdowns,
                       chart_data=orjson.dumps(breakdowns).decode())
        return aiohttp_jinja2.render_template("stats.html", request, context)

    async def quarterly(self, request: web.Request, person: Person) -> web.StreamResponse:
        year, quarter = request.query.get("year", ""), request.query.get("quarter", "")
        fmt = request.query.get("format", "xlsx")
        if not (year.isdigit() and quarter in ("1", "2", "3", "4") and fmt in ("csv", "xlsx")):
            raise web.HTTPUnprocessableEntity(text="年份、季度（1–4）或格式（csv、xlsx）有误")
        status, body, headers = await self._backend.raw(
            "statistics", "/v1/reports/quarterly", person.token,
            params={"year": year, "quarter": quarter, "format": fmt})
        if status != 200:
            raise web.HTTPBadGateway(text=f"季度报表生成失败（{status}）")
        return web.Response(body=body, headers={
            "Content-Type": headers.get("Content-Type", "application/octet-stream"),
            "Content-Disposition": f'attachment; filename="xinfang-{year}-Q{quarter}.{fmt}"'})
