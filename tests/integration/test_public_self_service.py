"""Public self-service over the real stack: the petitioner rates the handling once after
feedback and requests a review within the 30-day window, with the receipt's query code and no
token; a wrong code answers as tracking does; bad input names its field; each step names the
petitioner (the public), never a person, and the answers carry no personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp

from tests.integration.lifecycle_support import act, assign, days_ago, read_case, submit

NAME, PHONE = "测试人", "13800138000"  # the petitioner of intake_support.submission


async def closed_case(http: aiohttp.ClientSession, stack: Any, *, replied: datetime,
                      feedback: bool = True) -> dict[str, Any]:
    """A case answered at ``replied`` and closed (and given feedback) right after."""
    start = replied.timestamp() - 3 * 86400
    case = await submit(http, stack, datetime.fromtimestamp(start, replied.tzinfo))
    await assign(http, stack, case["case_id"],
                 at=datetime.fromtimestamp(start + 3600, replied.tzinfo))
    steps: list[tuple[str, dict[str, Any]]] = [
        ("accept", {"at": datetime.fromtimestamp(start + 7200, replied.tzinfo)}),
        ("reply", {"at": replied, "reason": "经核查，已责令学校整改。"}),
        ("close", {"at": datetime.fromtimestamp(replied.timestamp() + 60, replied.tzinfo)})]
    if feedback:
        steps.append(("feedback", {}))
    for action, fields in steps:
        status, body = await act(http, stack, case["case_id"], action, **fields)
        assert status == 200, (action, body)
    return case


async def public(http: aiohttp.ClientSession, stack: Any, number: str, what: str,
                 body: Any) -> tuple[int, dict[str, Any]]:
    async with http.post(stack.url("intake", f"/v1/track/{number}/{what}"), json=body) as r:
        return r.status, dict(await r.json())


async def track(http: aiohttp.ClientSession, stack: Any, number: str, code: str
                ) -> tuple[int, dict[str, Any]]:
    async with http.get(stack.url("intake", f"/v1/track/{number}"),
                        params={"code": code}) as r:
        return r.status, dict(await r.json())


async def test_rating_once_after_feedback_with_the_query_code(stack) -> None:
    async with aiohttp.ClientSession() as http:
        case = await closed_case(http, stack, replied=days_ago(2), feedback=False)
        number, code = case["tracking_no"], case["query_code"]
        # Before feedback: refused, nothing changes.
        status, body = await public(http, stack, number, "rating",
                                    {"code": code, "rating": "satisfied"})
        assert status == 409 and body["status"] == "closed", body
        assert "after feedback" in body["error"]
        assert (await track(http, stack, number, code))[1]["self_service"]["actions"] == [
            "request_review"]
        assert (await act(http, stack, case["case_id"], "feedback"))[0] == 200
        status, tracked = await track(http, stack, number, code)
        assert tracked["self_service"]["actions"] == ["rate", "request_review"], tracked
        assert tracked["self_service"]["review_request_due"] >= days_ago(0).date().isoformat()

        # A wrong code, and an unknown number, answer exactly like tracking's 404.
        wrong = await public(http, stack, number, "rating",
                             {"code": code[:-1] + ("A" if code[-1] != "A" else "B"),
                              "rating": "satisfied"})
        unknown = await public(http, stack, "XF-1999-999999", "rating",
                               {"code": code, "rating": "satisfied"})
        assert wrong == unknown == await track(http, stack, number, "WRONGCODE")
        assert wrong[0] == 404

        # Bad input: 422 naming each field, before anything is looked up.
        status, body = await public(http, stack, number, "rating",
                                    {"code": code, "rating": "great", "name": NAME})
        assert status == 422, body
        fields = sorted(e["field"] for e in body["errors"])
        assert fields == ["name", "rating"], body
        assert NAME not in str(body)
        status, body = await public(http, stack, number, "rating", {"rating": "satisfied"})
        assert status == 422 and [e["field"] for e in body["errors"]] == ["code"], body

        status, body = await public(http, stack, number, "rating",
                                    {"code": code, "rating": "unsatisfied"})
        assert status == 200, body
        assert body["status"] == "rated" and body["previous_status"] == "feedback_given"
        assert body["allowed_actions"] == ["request_review"]  # unsatisfied: 复查 is open
        for private in (NAME, PHONE, case["case_id"]):
            assert private not in str(body)

        # Twice: refused, the first rating stays.
        status, body = await public(http, stack, number, "rating",
                                    {"code": code, "rating": "satisfied"})
        assert status == 409 and body["status"] == "rated", body

        record = await read_case(http, stack, case["case_id"])
        rated = [s for s in record["timeline"] if s["action"] == "rate"]
        assert len(rated) == 1 and rated[0]["details"] == {"rating": "unsatisfied"}
        assert (rated[0]["actor"], rated[0]["actor_id"], rated[0]["actor_name"]) == (
            "petitioner", "public:petitioner", "信访人")
        status, tracked = await track(http, stack, number, code)
        assert status == 200 and tracked["status"] == "rated"
        assert tracked["timeline"][-1]["actor"] == "petitioner"


async def test_review_request_within_the_window(stack) -> None:
    async with aiohttp.ClientSession() as http:
        case = await closed_case(http, stack, replied=days_ago(3))
        number, code = case["tracking_no"], case["query_code"]
        status, body = await public(http, stack, number, "review-request",
                                    {"code": code, "reason": "  "})
        assert status == 422 and [e["field"] for e in body["errors"]] == ["reason"], body
        status, body = await public(http, stack, number, "review-request",
                                    {"code": "NOTTHECODE1", "reason": "不服"})
        assert status == 404, body

        reason = f"处理结果与事实不符，请求复查。联系电话{PHONE}"
        status, body = await public(http, stack, number, "review-request",
                                    {"code": code, "reason": reason})
        assert status == 200, body
        assert (body["previous_status"], body["status"]) == ("feedback_given",
                                                             "review_requested")
        assert body["allowed_actions"] == []
        status, body = await public(http, stack, number, "review-request",
                                    {"code": code, "reason": reason})
        assert status == 409 and body["status"] == "review_requested", body

        record = await read_case(http, stack, case["case_id"])
        step = record["timeline"][-1]
        assert step["action"] == "request_review" and step["actor_id"] == "public:petitioner"
        # The reason is for the bureau (internal), with the phone number masked; the public
        # answer shows no reason at all.
        assert step["note"] is None and PHONE not in step["internal_note"]
        assert "手机号已隐去" in step["internal_note"]
        status, tracked = await track(http, stack, number, code)
        assert tracked["status"] == "review_requested" and PHONE not in str(tracked)


async def test_review_request_after_the_window_is_refused(stack) -> None:
    async with aiohttp.ClientSession() as http:
        case = await closed_case(http, stack, replied=days_ago(45))
        status, body = await public(http, stack, case["tracking_no"], "review-request",
                                    {"code": case["query_code"], "reason": "请求复查"})
        assert status == 409, body
        assert body["status"] == "feedback_given" and "ended on" in body["error"], body
        assert "Art. 35" in body["error"]
        status, tracked = await track(http, stack, case["tracking_no"], case["query_code"])
        assert tracked["self_service"]["actions"] == ["rate"], tracked  # 复查 no longer offered
        record = await read_case(http, stack, case["case_id"])
        assert record["status"] == "feedback_given"
        assert record["timeline"][-1]["action"] == "feedback"
