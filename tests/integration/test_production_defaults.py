"""What the local stack relaxes for its other tests, checked on a real intake process of its
own: production's earliest day (1990-01-01) and small rate limits. It runs on topics of its
own so that it does not join, and on leaving rebalance, the stack's consumer group."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from shared.tools.stack import kafka
from shared.tools.stack.layout import PORT_OFFSET
from shared.tools.testing.instances import ServiceProcess, running
from shared.tools.testing.tokens import bearer, channel_token
from tests.integration.intake_support import case_count, submission

PORT = 18085 + PORT_OFFSET
PREFIX = "proddefaults"
ENV = {"XF_EARLIEST_DAY": "1990-01-01", "XF_TOPIC_PREFIX": PREFIX,
       "XF_TRACK_RATE_PER_ADDRESS_PER_MINUTE": "6", "XF_TRACK_RATE_PER_NUMBER_PER_MINUTE": "3",
       "XF_WRITE_RATE_PER_MINUTE": "4"}


@pytest.fixture(scope="module")
async def intake(stack) -> AsyncIterator[ServiceProcess]:
    await kafka.create_topics(stack.bootstrap, PREFIX)
    async with running(stack.layout, "intake", port=PORT, name="intake-production-defaults",
                       env=ENV) as process:
        yield process


@pytest.mark.parametrize("received_at", ["1900-03-01T09:05:43+08:00",
                                         "1989-12-31T23:59:59+08:00"])
async def test_a_case_cannot_be_back_dated_before_the_earliest_day(
        stack, intake: ServiceProcess, received_at: str) -> None:
    # Each case on its own channel: the instance allows a credential four writes a minute.
    channel = {"1900": "phone", "1989": "email"}[received_at[:4]]
    body = submission(channel, received_at=received_at)
    async with aiohttp.ClientSession() as http, http.post(
            f"{intake.base}/v1/cases", json=body, headers=bearer(channel_token(channel))) as r:
        assert r.status == 422, await r.text()
        errors = (await r.json())["errors"]
    assert [e["field"] for e in errors] == ["received_at"]
    assert "1990-01-01" in errors[0]["message"]
    assert await case_count(stack.dsns["intake"], "external_id = $1", body["external_id"]) == 0


async def test_public_tracking_and_writes_are_limited_with_retry_after(
        stack, intake: ServiceProcess) -> None:
    async with aiohttp.ClientSession() as http:

        async def track(number: str) -> tuple[int, str | None, dict]:
            async with http.get(f"{intake.base}/v1/track/{number}", params={"code": "x"}) as r:
                return r.status, r.headers.get("Retry-After"), await r.json()

        # One number: three guesses of its query code, then 429 for that number.
        assert [(await track("XF-2026-000001"))[0] for _ in range(3)] == [404] * 3
        status, retry, body = await track("XF-2026-000001")
        assert status == 429 and retry is not None and int(retry) >= 1, body
        assert "tracking number" in body["error"] and body["retry_after"] == int(retry)
        # A scan of other numbers from the same address: six requests a minute in all.
        assert [(await track(f"XF-2026-00000{n}"))[0] for n in (2, 3)] == [404, 404]
        status, retry, body = await track("XF-2026-000004")
        assert status == 429 and int(retry or 0) >= 1 and "address" in body["error"], body
        # The public rating spends the same allowance: no second way to guess codes.
        async with http.post(f"{intake.base}/v1/track/XF-2026-000005/rating",
                             json={"code": "x", "rating": "satisfied"}) as r:
            assert r.status == 429 and "address" in (await r.json())["error"]

        letter = bearer(channel_token("letter"))
        marker = "rate-limit-probe"
        statuses = []
        for _ in range(5):
            async with http.post(f"{intake.base}/v1/cases", headers=letter,
                                 json={"external_id": marker}) as r:
                statuses.append(r.status)
                retry = r.headers.get("Retry-After")
        assert statuses == [422] * 4 + [429] and int(retry or 0) >= 1
        # Another credential has its own allowance.
        async with http.post(f"{intake.base}/v1/cases", headers=bearer(channel_token("visit")),
                             json={"external_id": marker}) as r:
            assert r.status == 422
    assert await case_count(stack.dsns["intake"], "external_id = $1", marker) == 0
