"""The petition office's pages in the shared Chromium: a reassigned case names its new unit on
the page the redirect lands on, before intake has routing's event; a clerk registers a group
visit with its representatives (the head-count rule and a bad phone said at their fields, in
Chinese, on the row typed), staff read every representative's identity with a purpose, and the
assigned unit's handler their names and phones only, never a resident ID."""

from __future__ import annotations

import re
import uuid
from typing import Any

import aiohttp
from playwright.async_api import Browser, Page, expect

from shared.tools.testing.helpers import eventually
from shared.tools.testing.people import add_account
from tests.integration.browser_support import screenshot_path
from tests.integration.console_checks import AGREE_WITHIN, api, routed_letter, signed_in
from tests.integration.intake_support import resident_id


async def test_a_reassigned_case_names_its_new_unit_right_after_the_redirect(
        stack: Any, browser: Browser) -> None:
    console = stack.url("console", "")
    case = await routed_letter(stack)
    assert case["assigned_unit"] == "jizhou_bureau"
    async with aiohttp.ClientSession() as http:
        staff = await add_account(http, console, "staff")
    office = await signed_in(browser, console, staff["username"])
    await office.goto(f"{console}/cases/{case['case_id']}")
    await expect(office.get_by_test_id("assigned-unit")).to_have_text("吉州区教育局")
    await office.get_by_label("改派至").select_option("jian_bureau")
    await office.get_by_label("改派理由").fill("属吉安县学校，改由县教育局办理")
    await office.get_by_role("button", name="改派", exact=True).click()
    await expect(office.get_by_role("status")).to_contain_text("已改派")
    # The page the redirect landed on, as it was rendered: it is not refreshed by itself, so
    # this is what the clerk sees, whether or not intake has applied the event yet.
    shown = (await office.get_by_test_id("assigned-unit").inner_text()).strip()
    assert shown.startswith("吉安县教育局"), shown
    note = office.get_by_test_id("unit-in-transit")
    if await note.count():
        await expect(note).to_contain_text("已改派至吉安县教育局，正在同步")
        await expect(note).to_contain_text("原承办单位：吉州区教育局")
    assert await office.get_by_label("改派至").locator(
        'option[value="jian_bureau"]').count() == 0  # not offered again
    await office.screenshot(path=screenshot_path("case-reassigned"), full_page=True)

    async def applied() -> bool:  # once intake has the event, the note goes
        await office.reload()
        return await office.get_by_test_id("unit-in-transit").count() == 0

    await eventually(applied, within=AGREE_WITHIN, every=0.5, what="intake to apply it")
    await expect(office.get_by_test_id("assigned-unit")).to_have_text("吉安县教育局")
    record = await api(stack, "intake", f"/v1/cases/{case['case_id']}")
    assert record["assigned_unit"] == "jian_bureau"


async def _fill_row(page: Page, row: int, name: str, id_number: str = "", phone: str = ""
                    ) -> None:
    await page.get_by_label(f"代表{row} 姓名", exact=True).fill(name)
    await page.get_by_label(f"代表{row} 身份证号", exact=True).fill(id_number)
    await page.get_by_label(f"代表{row} 联系电话", exact=True).fill(phone)


async def _reveal(page: Page, purpose: str) -> None:
    await page.get_by_label(re.compile("联系方式的用途")).fill(purpose)
    await page.get_by_role("button", name="查看", exact=True).click()
    await expect(page.get_by_test_id("representatives").locator("li")).to_have_count(2)


async def test_a_group_visit_with_representatives_from_the_desk_to_the_unit(
        stack: Any, browser: Browser) -> None:
    console = stack.url("console", "")
    mark = uuid.uuid4().hex[:8]
    n = uuid.uuid4().int
    lead_id = resident_id(seq=f"{n % 1000:03d}", birth=f"{1950 + n % 50}0101")
    rep_id = resident_id(seq=f"{n // 1000 % 1000:03d}", birth=f"{1950 + n // 7 % 50}0202")
    async with aiohttp.ClientSession() as http:
        clerk = await add_account(http, console, "clerk", channels=["visit"])
        staff = await add_account(http, console, "staff")
    desk = await signed_in(browser, console, clerk["username"])
    await desk.get_by_label("来源渠道").select_option("visit")
    await desk.get_by_label("属地").select_option("jizhou")
    await desk.get_by_label("类别").select_option("fees")
    await desk.get_by_label("标题").fill(f"家长集体反映学校违规收费 {mark}")
    await desk.get_by_label("信访内容").fill(
        f"三十余名家长集体来访，反映某小学违规收取资料费。{mark}")
    await desk.get_by_label("姓名", exact=True).fill("钱某某")
    await desk.get_by_label("身份证号", exact=True).fill(lead_id)
    await desk.get_by_label("联系电话", exact=True).fill("13912345678")
    await desk.get_by_text("集体访代表（来访时填写，最多 5 人）").click()
    # Rows 1 and 3 (row 2 left empty), the head count left at 1: the rule is said in words.
    await _fill_row(desk, 1, "代表甲", rep_id, "13800138001")
    await _fill_row(desk, 3, "代表丙", phone="12345")
    await desk.screenshot(path=screenshot_path("register-group"), full_page=True)
    await desk.get_by_role("button", name="登记并出具回执").click()
    group_error = desk.locator("#f-representatives-error")
    await expect(group_error).to_contain_text("代表人数不能多于联名人数（现为 1 人）")
    await expect(desk.get_by_label("代表3 姓名", exact=True)).to_have_value("代表丙")  # kept
    await desk.screenshot(path=screenshot_path("register-group-error"), full_page=True)
    await desk.get_by_label("联名人数").fill("30")
    await desk.get_by_role("button", name="登记并出具回执").click()
    # The bad phone is the third row's, although the API counts it as the second person.
    phone = desk.get_by_label("代表3 联系电话", exact=True)
    await expect(desk.locator("#f-rep2_phone-error")).to_contain_text("代表3 联系电话格式不正确")
    await expect(phone).to_have_attribute("aria-invalid", "true")
    assert await desk.locator("#f-rep1_phone-error").count() == 0
    await phone.fill("13800138003")
    await desk.get_by_role("button", name="登记并出具回执").click()
    await expect(desk.get_by_role("heading", name="信访事项受理回执")).to_be_visible()
    tracking_no = (await desk.get_by_test_id("tracking-no").inner_text()).strip()

    async def assigned() -> dict[str, Any] | None:
        found = await api(stack, "intake", "/v1/cases", q=mark, status="assigned")
        return next((i for i in found["items"] if i["tracking_no"] == tracking_no), None)

    case = await eventually(assigned, within=AGREE_WITHIN, every=0.3, what="routing")
    case_url = f"{console}/cases/{case['case_id']}"

    # Staff: the head count and the number of representatives; with a purpose, who they are.
    office = await signed_in(browser, console, staff["username"])
    await office.goto(case_url)
    reps = office.get_by_test_id("representatives")
    await expect(reps).to_contain_text("2 人")
    assert "代表甲" not in await office.locator("main").inner_text()
    await _reveal(office, "核实集体访代表身份")
    await expect(reps.locator("li").nth(0)).to_contain_text("代表甲")
    await expect(reps.locator("li").nth(0)).to_contain_text(rep_id)
    await expect(reps.locator("li").nth(0)).to_contain_text("13800138001")
    await expect(reps.locator("li").nth(1)).to_contain_text("代表丙")
    await office.screenshot(path=screenshot_path("case-group-staff"), full_page=True)

    # The assigned unit's handler: names and phones to contact them, never a resident ID.
    async with aiohttp.ClientSession() as http:
        handler = await add_account(http, console, "handler", unit=case["assigned_unit"])
    unit = await signed_in(browser, console, handler["username"])
    await unit.goto(case_url)
    await expect(unit.get_by_test_id("representatives")).to_contain_text("2 人")
    await _reveal(unit, "电话联系代表告知受理情况")
    await expect(unit.get_by_test_id("representatives")).to_contain_text("代表甲")
    await expect(unit.get_by_test_id("representatives")).to_contain_text("13800138003")
    text = await unit.locator("main").inner_text()
    for secret in (rep_id, lead_id, "身份证号"):
        assert secret not in text, f"a unit sees {secret!r}"
    await unit.screenshot(path=screenshot_path("case-group-unit"), full_page=True)
