"""Rate limits against a real intake process started with small limits of its own (the stack's
instance keeps its defaults, so other tests are not slowed). It runs on topics of its own so
that it does not join, and on leaving rebalance, the stack's consumer group."""

from __future__ import annotations

import aiohttp

from shared.tools.stack import kafka
from shared.tools.stack.layout import PORT_OFFSET
from shared.tools.testing.instances import running
from shared.tools.testing.tokens import bearer, channel_token
from tests.integration.intake_support import case_count

PORT = 18085 + PORT_OFFSET
LIMITS = {"XF_TRACK_RATE_PER_ADDRESS_PER_MINUTE": "6", "XF_TRACK_RATE_PER_NUMBER_PER_MINUTE": "3",
          "XF_WRITE_RATE_PER_MINUTE": "4", "XF_TOPIC_PREFIX": "ratelimits"}


async def test_public_tracking_and_writes_are_limited_with_retry_after(stack) -> None:
    await kafka.create_topics(stack.bootstrap, "ratelimits")
    async with running(stack.layout, "intake", port=PORT, name="intake-rate-limits",
                       env=LIMITS) as intake, aiohttp.ClientSession() as http:

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
