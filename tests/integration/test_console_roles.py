"""The console's pages for the bureau's leaders and its administrator, in the shared Chromium:
a leader sees the collective petition they are responsible for and records an instruction on
it, another leader does not see it; the administrator adds and disables an account, sees the
routing rules and a bad upload's line errors, a calendar year and a refused date, and every
service's dead letters; a unit head approves the extension a handler asked for. Nothing here
changes the shared stack's rules or calendar."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
from playwright.async_api import Browser, expect

from shared.tools.testing.people import PASSWORD, add_account, sign_in
from shared.tools.testing.tokens import channel_token
from tests.integration.browser_support import screenshot_path
from tests.integration.console_checks import (
    AGREE_WITHIN,
    api,
    bearer,
    routed_letter,
    signed_in,
)
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


async def test_the_administrator_manages_accounts_rules_calendar_and_dead_letters(
        stack, browser: Browser) -> None:
    console = stack.url("console", "")
    async with aiohttp.ClientSession() as http:
        admin = await add_account(http, console, "admin")
    page = await signed_in(browser, console, admin["username"])
    await expect(page.get_by_role("heading", name="账号管理")).to_be_visible()

    # An account with a field missing: the error at the field; then added, then disabled.
    username = f"t.clerk.{uuid.uuid4().hex[:8]}"
    await page.get_by_label("用户名").fill(username)
    await page.locator("#f-role").select_option("clerk")
    await page.get_by_label("登记渠道").fill("letter visit")
    await page.get_by_label("初始密码").fill(PASSWORD)
    await page.get_by_role("button", name="添加账号").click()
    await expect(page.locator("#f-display_name-error")).to_be_visible()
    await expect(page.get_by_label("用户名")).to_have_value(username)
    await page.get_by_label("姓名").fill("新登记员")
    await page.get_by_label("初始密码").fill(PASSWORD)
    await page.get_by_role("button", name="添加账号").click()
    row = page.locator(f'tr[data-username="{username}"]')
    await expect(row).to_contain_text("登记员")
    async with aiohttp.ClientSession() as http:
        assert (await sign_in(http, console, username))[0] == 200
        await row.get_by_role("button", name="停用").click()
        await expect(page.get_by_test_id("admin-done")).to_contain_text(username)
        await expect(row).to_contain_text("已停用")
        assert (await sign_in(http, console, username))[0] == 401
    await page.screenshot(path=screenshot_path("admin-accounts"), full_page=True)

    # Rules: the active version and its history; a bad upload's errors name their lines.
    await page.get_by_role("link", name="交办规则").click()
    await expect(page.get_by_test_id("rules-version")).to_contain_text("版")
    await page.get_by_label("规则文件内容").fill("version: 2\nunits:\n  - {code: x}\nrules: 7\n")
    await page.get_by_role("button", name="校验并启用").click()
    await expect(page.get_by_test_id("rules-errors")).to_contain_text("行")
    await page.screenshot(path=screenshot_path("admin-rules"), full_page=True)

    # Calendar: a year without data, and an impossible date refused at its field.
    await page.get_by_role("link", name="工作日历").click()
    await page.get_by_label("年份").fill("2199")
    await page.get_by_role("button", name="查看").click()
    # The deadlines that would move (deadlines' provisional list): none counted on 2199.
    await expect(page.get_by_test_id("moving-none")).to_be_visible()
    await page.get_by_label("法定节假日").fill("2199-02-30")
    await page.get_by_role("button", name="保存并重新计算期限").click()
    await expect(page.locator("#c-holidays-error")).to_contain_text("2199-02-30")
    await expect(page.get_by_label("法定节假日")).to_have_value("2199-02-30")  # kept
    await page.screenshot(path=screenshot_path("admin-calendar"), full_page=True)

    await page.get_by_role("link", name="死信").click()
    for service in ("intake", "routing", "deadlines", "statistics"):
        await expect(page.get_by_test_id(f"dl-count-{service}")).to_be_visible()
    await page.screenshot(path=screenshot_path("admin-deadletters"), full_page=True)


async def test_a_unit_head_approves_the_handlers_extension_request(
        stack, browser: Browser) -> None:
    console = stack.url("console", "")
    case = await routed_letter(stack)
    async with aiohttp.ClientSession() as http:
        handler = await add_account(http, console, "handler", unit="jizhou_bureau")
        head = await add_account(http, console, "unit_head", unit="jizhou_bureau")
    page = await signed_in(browser, console, handler["username"])
    await page.goto(f"{console}/cases/{case['case_id']}")
    await page.get_by_role("button", name="受理", exact=True).click()
    await page.get_by_label("延期理由").fill("需赴学校现场核查，并听取家长意见")
    await page.get_by_label("延长天数").fill("20")
    await page.get_by_role("button", name="申请延期").click()
    await expect(page.get_by_test_id("case-status")).to_have_text("已受理")  # requested only
    await expect(page.get_by_role("button", name="批准延期")).to_have_count(0)

    boss = await signed_in(browser, console, head["username"])
    await boss.goto(f"{console}/cases/{case['case_id']}")
    await expect(boss.get_by_role("button", name="不予批准延期")).to_be_visible()
    await boss.get_by_role("button", name="批准延期", exact=True).click()
    await expect(boss.get_by_test_id("case-status")).to_have_text("已延期")
    await boss.screenshot(path=screenshot_path("case-extension-approved"), full_page=True)
