"""The console's pages for the bureau's leaders and its administrator, in the shared Chromium:
a leader sees the collective petition they are responsible for and records an instruction on
it; another leader does not see it."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from playwright.async_api import Browser, expect

from shared.tools.testing.people import add_account
from shared.tools.testing.tokens import channel_token
from tests.integration.browser_support import screenshot_path
from tests.integration.console_checks import AGREE_WITHIN, api, bearer, signed_in
from tests.integration.intake_support import submission

TAIHE_LEADER = "康德明"  # the rules' responsible leader for 泰和县 (deploy/config)


async def key_case(stack: Any) -> dict[str, Any]:
    """A collective letter (five signers) from 泰和县, routed: a key case with its leader."""
    body = submission("letter", jurisdiction="taihe", signers=5)
    async with aiohttp.ClientSession() as http, http.post(
            stack.url("intake", "/v1/cases"), json=body,
            headers=bearer(channel_token("letter"))) as r:
        assert r.status == 201, await r.text()
        case = dict(await r.json())
    deadline = asyncio.get_running_loop().time() + AGREE_WITHIN
    while True:
        record = await api(stack, "intake", f"/v1/cases/{case['case_id']}")
        if record.get("key_case") and record.get("leader"):
            assert record["leader"] == TAIHE_LEADER, record["leader"]
            return dict(record)
        assert asyncio.get_running_loop().time() < deadline, "never a key case with a leader"
        await asyncio.sleep(0.3)


async def test_a_leader_instructs_on_their_key_case(stack, browser: Browser) -> None:
    console = stack.url("console", "")
    case = await key_case(stack)
    async with aiohttp.ClientSession() as http:
        leader = await add_account(http, console, "leader", name=TAIHE_LEADER)
        other = await add_account(http, console, "leader", name="周建平")
    page = await signed_in(browser, console, leader["username"])
    await page.goto(f"{console}/leader")
    row = page.locator(f'tr[data-tracking-no="{case["tracking_no"]}"]')
    await expect(row).to_contain_text("泰和县")
    await page.screenshot(path=screenshot_path("leader"), full_page=True)
    await row.get_by_role("link").click()
    await page.get_by_label("批示内容").fill("请泰和县教育局一周内上门走访，妥善化解。")
    await page.get_by_role("button", name="领导批示").click()
    step = page.locator(".timeline li").filter(has_text="领导批示")
    await expect(step).to_contain_text(TAIHE_LEADER)
    await page.screenshot(path=screenshot_path("leader-case"), full_page=True)
    record = await api(stack, "intake", f"/v1/cases/{case['case_id']}")
    assert record["timeline"][-1]["action"] == "instruct"
    assert record["timeline"][-1]["actor_name"] == TAIHE_LEADER

    outsider = await signed_in(browser, console, other["username"])
    await outsider.goto(f"{console}/leader")
    await expect(outsider.get_by_test_id("leader-total")).to_be_visible()
    assert await outsider.locator(f'tr[data-tracking-no="{case["tracking_no"]}"]').count() == 0
    response = await outsider.goto(f"{console}/cases/{case['case_id']}")
    assert response is not None and response.status == 403
