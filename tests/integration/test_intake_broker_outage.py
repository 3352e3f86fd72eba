"""The broker goes away while cases arrive: intake keeps answering, and when the broker is back
the outbox drains — every event once, in order per case."""

from __future__ import annotations

import asyncio

import aiohttp

from shared.platform.topics import CASE_EVENTS
from shared.tools.stack import kafka
from shared.tools.testing.helpers import end_offsets, read_topic
from tests.integration.lifecycle_support import act, assign, days_ago, submit

CASES = 40


async def test_cases_accepted_during_a_broker_outage_arrive_once_in_order(stack) -> None:
    since = await end_offsets(stack.bootstrap, CASE_EVENTS.name())
    async with aiohttp.ClientSession() as http:
        # Assigned beforehand (assignment reaches intake over Kafka), so that during the
        # outage each case can also take lifecycle steps whose order must survive.
        warm = [(await submit(http, stack, days_ago(5)))["case_id"] for _ in range(5)]
        for case_id in warm:
            await assign(http, stack, case_id, at=days_ago(4))
        await asyncio.to_thread(kafka.stop, stack.layout)
        try:
            fresh = [(await submit(http, stack, days_ago(1)))["case_id"]
                     for _ in range(CASES)]
            for case_id in warm:
                for action in ("accept", "reply", "close"):
                    code, body = await act(http, stack, case_id, action)
                    assert code == 200, body
        finally:
            await asyncio.to_thread(kafka.start, stack.layout)
            await kafka.wait_ready(stack.bootstrap)
    wanted = set(fresh) | set(warm)
    expected_count = len(fresh) + len(warm) * 4

    def complete(msgs: list) -> bool:
        return sum(1 for _, e in msgs if e is not None and e.subject in wanted) >= expected_count

    msgs = await read_topic(stack.bootstrap, CASE_EVENTS.name(), since=since, until=complete,
                            within=120)
    events = [e for _, e in msgs if e is not None and e.subject in wanted]
    ids = [e.id for e in events]
    assert len(ids) == len(set(ids)) == expected_count, "every event exactly once"
    for case_id in warm:
        types = [e.type for e in events if e.subject == case_id]
        assert types == ["case.registered", "case.accepted", "case.replied", "case.closed"]
    assert {e.subject for e in events if e.type == "case.registered"} >= set(fresh)
