"""The console's pages in a real Chromium against the real stack: a clerk registers a letter
(one field wrong, then fixed) and gets the receipt; the assigned unit's handler sees it appear
in the queue without a reload, accepts, replies and closes it; the petitioner tracks it with
the receipt's code and sees no personal data; a handler of another unit gets no access; the
petition office finds it by a word of its title."""

from __future__ import annotations

import re
import uuid

import aiohttp
from playwright.async_api import Browser, expect

from shared.tools.testing.people import add_account
from shared.tools.testing.tokens import STAFF, bearer
from tests.integration.browser_support import screenshot_path
from tests.integration.console_checks import (
    COUNTS,
    RATES,
    WAIT_MS,
    agree,
    api,
    counted_today,
    dashboard_figures,
    routed_letter,
    signed_in,
)
from tests.integration.intake_support import submission


async def test_register_handle_and_track_a_letter_in_the_browser(stack, browser: Browser
                                                                ) -> None:
    console = stack.url("console", "")
    mark = uuid.uuid4().hex[:8]
    # A petitioner of this run's own: routing must not link the letter to an earlier run's.
    name, phone = "钱某某", "13912345678"
    id_number = submission()["petitioner"]["id_number"]
    address = f"吉州区文山路{mark}号"
    async with aiohttp.ClientSession() as http:
        clerk = await add_account(http, console, "clerk", channels=["letter", "visit"])
        handler = await add_account(http, console, "handler", unit="jizhou_bureau",
                                    name="李承办测试")
        outsider = await add_account(http, console, "handler", unit="jian_bureau")
        staff = await add_account(http, console, "staff")
    queue = await signed_in(browser, console, handler["username"])
    await queue.goto(f"{console}/queue")
    await queue.screenshot(path=screenshot_path("queue-before"), full_page=True)

    # 大屏, open before the letter arrives: it must count it without a reload.
    office = await signed_in(browser, console, staff["username"])
    await office.goto(f"{console}/dashboard")
    await agree(office, lambda: dashboard_figures(stack))
    before = int(await office.get_by_test_id("dash-today_total").inner_text())
    await expect(office.locator("#dash-chart-month canvas")).to_have_count(1)

    desk = await signed_in(browser, console, clerk["username"])
    await expect(desk.get_by_role("heading", name="登记信访事项")).to_be_visible()
    await desk.get_by_label("来源渠道").select_option("letter")
    await desk.get_by_label("属地").select_option("jizhou")
    await desk.get_by_label("类别").select_option("fees")
    await desk.get_by_label("标题").fill(f"学校违规收取资料费 {mark}")
    await desk.get_by_label("信访内容").fill("孩子所在学校以资料费名义每生收取200元，"
                                             "请求查处。")
    await desk.get_by_label("姓名", exact=True).fill(name)
    await desk.get_by_label("身份证号", exact=True).fill(id_number)
    await desk.get_by_label("联系电话", exact=True).fill("12345")  # wrong: not a phone number
    await desk.get_by_label("通讯地址").fill(address)
    await desk.get_by_role("button", name="登记并出具回执").click()
    phone_field = desk.get_by_label("联系电话", exact=True)
    error = desk.locator("#f-phone-error")
    await expect(error).to_contain_text("联系电话")
    await expect(phone_field).to_have_attribute("aria-invalid", "true")
    await expect(phone_field).to_have_attribute("aria-describedby",
                                                re.compile("f-phone-error"))
    await expect(desk.get_by_label("姓名", exact=True)).to_have_value(name)  # nothing typed is lost
    await desk.screenshot(path=screenshot_path("register-error"), full_page=True)
    await phone_field.fill(phone)
    await desk.get_by_role("button", name="登记并出具回执").click()
    await expect(desk.get_by_role("heading", name="信访事项受理回执")).to_be_visible()
    tracking_no = (await desk.get_by_test_id("tracking-no").inner_text()).strip()
    code = (await desk.get_by_test_id("query-code").inner_text()).strip()
    assert tracking_no and code
    await desk.screenshot(path=screenshot_path("receipt"), full_page=True)
    # The same petitioner again: the open case is shown before anything is saved.
    await desk.get_by_role("link", name="继续登记下一件").click()
    await desk.get_by_label("身份证号", exact=True).fill(id_number)
    await desk.get_by_label("身份证号", exact=True).press("Tab")
    await expect(desk.get_by_test_id("similar-cases")).to_contain_text(tracking_no)
    await desk.screenshot(path=screenshot_path("register-similar"), full_page=True)

    await counted_today(stack, more_than=before)
    await agree(office, lambda: dashboard_figures(stack))  # refreshed in place
    assert int(await office.get_by_test_id("dash-today_total").inner_text()) > before
    await office.screenshot(path=screenshot_path("dashboard"), full_page=True)

    # The handler's open queue shows the new case by itself (htmx polling, no reload).
    row = queue.locator(f'#new-cases tr[data-tracking-no="{tracking_no}"]')
    await expect(row).to_be_visible(timeout=WAIT_MS)
    await queue.screenshot(path=screenshot_path("queue"), full_page=True)
    await row.get_by_role("link").click()
    await expect(queue.get_by_test_id("case-status")).to_have_text("已交办")
    case_url = queue.url
    await queue.screenshot(path=screenshot_path("case-assigned"), full_page=True)
    await queue.get_by_role("button", name="受理", exact=True).click()
    await expect(queue.get_by_test_id("case-status")).to_have_text("已受理")
    # The queue's filter: 办理中 lists it, 已答复待办结 does not.
    await queue.goto(f"{console}/queue")
    await queue.get_by_label("办理阶段").select_option("handling")
    await queue.get_by_role("button", name="筛选").click()
    await expect(queue.locator(f'#due-cases tr[data-tracking-no="{tracking_no}"]')
                 ).to_be_visible()
    await queue.goto(f"{console}/queue?status=replied")
    await expect(queue.locator("#due-cases")).to_be_visible()
    assert await queue.locator(f'#due-cases tr[data-tracking-no="{tracking_no}"]').count() == 0
    await queue.goto(case_url)
    answer = f"经核查，该校已退还全部资料费，并对相关责任人作出处理。{mark}"
    await queue.get_by_label("答复内容").fill(answer)
    await queue.get_by_role("button", name="书面答复").click()
    await expect(queue.get_by_test_id("case-status")).to_have_text("已答复")
    await queue.get_by_role("button", name="办结").click()
    await expect(queue.get_by_test_id("case-status")).to_have_text("已办结")
    await queue.screenshot(path=screenshot_path("case-closed"), full_page=True)
    await queue.get_by_role("button", name="反馈").click()
    await expect(queue.get_by_test_id("case-status")).to_have_text("已反馈")

    # The petitioner, on a phone, with the receipt: status and answer, no personal data.
    public = await (await browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)).new_page()
    await public.goto(f"{console}/track")
    await public.get_by_label("受理编号").fill(tracking_no)
    await public.get_by_label("查询码").fill("WRONG1")
    await public.get_by_role("button", name="查询").click()
    await expect(public.locator("#f-code-error")).to_contain_text("不正确")
    await public.get_by_label("查询码").fill(code)
    await public.get_by_role("button", name="查询").click()
    await expect(public.get_by_test_id("public-status")).to_have_text("已反馈")
    await expect(public.get_by_text(answer)).to_be_visible()
    text = await public.locator("body").inner_text()
    for private in (name, phone, id_number, address, "李承办测试", mark + "号"):
        assert private not in text, f"the public page shows {private!r}"
    await public.screenshot(path=screenshot_path("track"), full_page=True)
    # Rating without a choice is an error at the choice; then 不满意, which offers 复查.
    await public.get_by_role("button", name="提交评价").click()
    await expect(public.locator("#f-rating-error")).to_contain_text("请选择")
    await public.get_by_label("不满意").check()
    await public.get_by_role("button", name="提交评价").click()
    await expect(public.get_by_test_id("self-service-done")).to_contain_text("感谢")
    await expect(public.get_by_test_id("public-status")).to_have_text("已评价")
    await expect(public.get_by_role("button", name="提交评价")).to_have_count(0)
    review = public.get_by_label("申请复查的理由")
    await expect(review).to_be_visible()  # offered, open, while the window runs
    await public.screenshot(path=screenshot_path("track-rated"), full_page=True)
    await review.fill("学校退费不完整，请求复查。")
    await public.get_by_role("button", name="提交复查申请").click()
    await expect(public.get_by_test_id("public-status")).to_have_text("已申请复查")
    await expect(public.get_by_label("申请复查的理由")).to_have_count(0)
    await public.screenshot(path=screenshot_path("track-review"), full_page=True)

    # A handler of another unit: not in their queue, and no access to the case.
    other = await signed_in(browser, console, outsider["username"])
    await other.goto(f"{console}/queue")
    await expect(other.locator("#queue")).to_be_visible()
    assert await other.locator(f'tr[data-tracking-no="{tracking_no}"]').count() == 0
    response = await other.goto(case_url)
    assert response is not None and response.status == 403
    await expect(other.get_by_role("heading", name="无权访问")).to_be_visible()
    await other.screenshot(path=screenshot_path("denied"), full_page=True)

    # The petition office finds it by a word of its title, across units.
    await office.goto(f"{console}/search")
    await office.get_by_label("标题关键词").fill(mark)
    await office.get_by_role("button", name="查询").click()
    await expect(office.get_by_test_id("search-total")).to_have_text("1")
    await expect(office.locator(f'tr[data-tracking-no="{tracking_no}"]')).to_contain_text(
        "吉州区教育局")
    await office.screenshot(path=screenshot_path("search"), full_page=True)

    # 改派: the office sends a routed case to another unit with a reason.
    routed = await routed_letter(stack)
    await office.goto(f"{console}/cases/{routed['case_id']}")
    await expect(office.get_by_role("heading", name="交办与关联")).to_be_visible()
    await office.get_by_label("改派至").select_option("jian_bureau")
    await office.get_by_label("改派理由").fill("属吉安县学校，改由县教育局办理")
    await office.get_by_role("button", name="改派", exact=True).click()
    await expect(office.get_by_role("status")).to_contain_text("已改派")
    await expect(office.get_by_text("信访科改派：属吉安县学校")).to_be_visible()
    await office.screenshot(path=screenshot_path("case-office"), full_page=True)

    # 统计: every figure on the page is the statistics API's for the same period.
    await office.goto(f"{console}/stats")
    await expect(office.get_by_test_id("stat-received")).to_be_visible()
    start = await office.get_by_label("开始日期").input_value()
    end = await office.get_by_label("结束日期").input_value()
    async with aiohttp.ClientSession() as http, http.get(
            stack.url("statistics", "/v1/stats/summary"), headers=bearer(STAFF),
            params={"from": start, "to": end}) as r:
        summary = await r.json()
    for key in ("received", "closed", "in_progress", "overdue"):
        await expect(office.get_by_test_id(f"stat-{key}")).to_have_text(str(summary[key]))
    for key in ("closure_rate", "on_time_rate", "feedback_rate", "satisfaction_rate"):
        await expect(office.get_by_test_id(f"stat-{key}")).to_have_text(
            f"{summary[key]:.2f}%")
    # The assessment indicators, as far as the API gives them.
    for key in ("timely_acceptance_rate", "on_time_answer_rate", "participation_rate",
                "key_case_resolution_rate"):
        if key in summary:
            await expect(office.get_by_test_id(f"stat-{key}")).to_have_text(
                f"{summary[key]:.2f}%")
    for key in ("repeat_petitions", "people", "urges"):
        if key in summary:
            await expect(office.get_by_test_id(f"stat-{key}")).to_have_text(str(summary[key]))
    await expect(office.locator("#chart-channel canvas")).to_have_count(1)
    await office.screenshot(path=screenshot_path("stats"), full_page=True)
    # 环比: the baseline and the change of every figure are the API's comparison.
    await office.get_by_label("对比").select_option("previous")
    await office.get_by_role("button", name="统计").click()
    await expect(office.get_by_role("heading", name=re.compile("环比"))).to_be_visible()

    async def previous() -> dict[str, str]:
        compared = await api(stack, "statistics", "/v1/stats/summary", compare="previous",
                             **{"from": start, "to": end})
        out = {}
        for key, c in compared["comparison"]["changes"].items():
            if key in COUNTS:
                out[f"cmp-{key}-baseline"] = str(c["baseline"])
                out[f"cmp-{key}-change"] = f"{c['change']:+d}"
            elif key in RATES:
                out[f"cmp-{key}-baseline"] = f"{c['baseline']:.2f}%"
        return out

    await agree(office, previous)
    async with office.expect_download() as download:
        await office.get_by_role("link", name="CSV").first.click()
    assert re.fullmatch(r"xinfang-\d{4}-Q[1-4]\.csv", (await download.value).suggested_filename)
    await office.screenshot(path=screenshot_path("stats-previous"), full_page=True)
