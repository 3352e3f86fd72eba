"""Checks of the console's figure pages against the APIs they show: the page and the API are
read again until they agree (bounded), since the pipeline may still be counting a case."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from playwright.async_api import Browser, Page

from shared.tools.testing.people import PASSWORD
from shared.tools.testing.tokens import STAFF, bearer

SHANGHAI = ZoneInfo("Asia/Shanghai")
AGREE_WITHIN = 40.0  # the dashboard refreshes every 10 s; statistics counts within seconds
WAIT_MS = 30_000  # routing assigns within seconds; the queue polls every 5 s
COUNTS = ("received", "closed", "in_progress", "overdue")
RATES = ("closure_rate", "on_time_rate", "feedback_rate", "satisfaction_rate")


async def api(stack: Any, service: str, path: str, **params: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(
            stack.url(service, path), headers=bearer(STAFF), params=params) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def agree(page: Page, expected: Callable[[], Awaitable[dict[str, str]]]) -> None:
    """Every test id on the page shows the text the API gives, within AGREE_WITHIN."""
    deadline = asyncio.get_running_loop().time() + AGREE_WITHIN
    while True:
        want = await expected()
        shown = {k: (await page.get_by_test_id(k).inner_text()).strip() for k in want}
        if shown == want:
            return
        if asyncio.get_running_loop().time() > deadline:
            assert shown == want, "the page's figures differ from the API's"
        await page.wait_for_timeout(500)


def summary_texts(summary: dict[str, Any], prefix: str) -> dict[str, str]:
    return {**{f"{prefix}-{k}": str(summary[k]) for k in COUNTS},
            **{f"{prefix}-{k}": f"{summary[k]:.2f}%" for k in RATES}}


def today() -> str:
    return datetime.now(SHANGHAI).date().isoformat()


async def dashboard_figures(stack: Any) -> dict[str, str]:
    """What the dashboard must show now, from the statistics and deadlines APIs alone."""
    day = today()
    year = f"{day[:4]}-01-01"
    summary = await api(stack, "statistics", "/v1/stats/summary", **{"from": year, "to": day})
    channels = await api(stack, "statistics", "/v1/stats/breakdown", by="channel",
                         **{"from": day, "to": day})
    want = {**summary_texts(summary, "dash"), "dash-today_total": str(channels["total"])}
    want.update({f"dash-today-{r['key']}": str(r["count"]) for r in channels["rows"]})
    # Deadlines' counts by case (test_deadlines_overdue_summary.py checks them against the
    # timer lists), every row of both tables.
    for by in ("unit", "jurisdiction"):
        late = await api(stack, "deadlines", "/v1/overdue/summary", by=by)
        for r in late["rows"]:
            key = r["key"] or "unassigned"
            want[f"overdue-{by}-{key}"] = str(r["overdue"])
            want[f"due-soon-{by}-{key}"] = str(r["due_soon"])
    return want


async def counted_today(stack: Any, more_than: int) -> None:
    """Wait until statistics counts more cases received today than ``more_than``."""
    deadline = asyncio.get_running_loop().time() + AGREE_WITHIN
    while True:
        day = today()
        channels = await api(stack, "statistics", "/v1/stats/breakdown", by="channel",
                             **{"from": day, "to": day})
        if channels["total"] > more_than:
            return
        assert asyncio.get_running_loop().time() < deadline, "statistics never counted it"
        await asyncio.sleep(0.5)


async def routed_letter(stack: Any) -> dict[str, Any]:
    """A letter submitted through the API and assigned by routing (to 吉州区教育局)."""
    from shared.tools.testing.tokens import channel_token
    from tests.integration.intake_support import submission

    async with aiohttp.ClientSession() as http:
        async with http.post(stack.url("intake", "/v1/cases"), json=submission("letter"),
                             headers=bearer(channel_token("letter"))) as r:
            assert r.status == 201, await r.text()
            case = dict(await r.json())
        deadline = asyncio.get_running_loop().time() + AGREE_WITHIN
        while True:
            record = await api(stack, "intake", f"/v1/cases/{case['case_id']}")
            if record["status"] == "assigned":
                return dict(record)
            assert asyncio.get_running_loop().time() < deadline, "routing never assigned it"
            await asyncio.sleep(0.3)


async def signed_in(browser: Browser, console: str, username: str) -> Page:
    context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    await page.goto(f"{console}/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(re.compile(r"/(register|queue|search|dashboard|admin)$"))
    return page
