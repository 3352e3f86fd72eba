"""Two instances of the deadlines service at once: every warning and every overdue event goes
out exactly once, and only one instance exports the open-timer gauges."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import aiohttp
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared.domain.limits import local_date
from shared.platform.settings import METRICS_PORT_SHIFT
from shared.platform.topics import DEADLINE_EVENTS
from shared.tools.stack.layout import PORT_OFFSET
from shared.tools.testing.helpers import end_offsets, eventually
from shared.tools.testing.instances import running
from tests.integration.test_deadlines_timers import (
    ALERTS,
    CaseScript,
    alerts_of,
    days_ago,
    deadlines,
    next_fires,
    produce,
)

SECOND_PORT = 18083 + PORT_OFFSET


@pytest.fixture
async def second_instance(stack: Any) -> AsyncIterator[str]:
    # It sweeps more often in smaller batches than the first, so that the two instances'
    # sweeps really contend for the same due timers.
    async with running(stack.layout, "deadlines", port=SECOND_PORT, name="deadlines-test-2",
                       env={"XF_SWEEP_BATCH": "5", "XF_SWEEP_INTERVAL_SECONDS": "0.05"}
                       ) as second:
        await eventually(lambda: _group_members(stack.bootstrap, 2), within=90,
                         what="both instances in the consumer group")
        yield second.base


async def _group_members(bootstrap: str, wanted: int) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [answer] = await admin.describe_consumer_groups(["xinfang-deadlines"])
        [group] = answer.to_object()["groups"]
        return bool(group["state"] == "Stable" and len(group["members"]) >= wanted)
    finally:
        await admin.close()


# An alert of one case: (case id, event type, warning rung or None for an overdue).
Alert = tuple[str, str, int | None]


def expected_alert(due: str, today: date) -> tuple[str, int | None] | None:
    """The one alert a timer due on `due` gets when first swept `today` (most severe rung)."""
    left = (date.fromisoformat(due) - today).days
    if left < 0:
        return ("deadline.overdue", None)
    if left <= 3:
        return ("deadline.warning", 3)
    if left <= 7:
        return ("deadline.warning", 7)
    return None


async def test_two_instances_send_each_alert_exactly_once(stack: Any, second_instance: str
                                                          ) -> None:
    # Handling limits falling due long ago, in 2 days and in 5 days: overdue, the 3-day
    # warning and the 7-day warning, on cases spread over every partition.
    cases = []
    for accepted_days_ago in [120] * 40 + [58] * 40 + [55] * 40:
        cases.append(CaseScript().registered(days_ago(accepted_days_ago + 2))
                     .assigned(days_ago(accepted_days_ago + 1))
                     .step("accept", days_ago(accepted_days_ago)))
    ids = {c.case_id for c in cases}
    since = await end_offsets(stack.bootstrap, DEADLINE_EVENTS.name())
    await produce(stack.bootstrap, cases)

    async with aiohttp.ClientSession() as http:
        async def handling_dues() -> dict[str, str] | None:
            dues = {}
            for c in cases:
                found = [t for t in await deadlines(http, c.case_id) if t["kind"] == "handling"]
                if not found:
                    return None
                dues[c.case_id] = found[0]["due_date"]
            return dues

        dues = await eventually(handling_dues, within=90, what="handling timers of all cases")
        today = local_date(days_ago(0))
        expected: Counter[Alert] = Counter()
        for case_id, due in dues.items():
            alert = expected_alert(due, today)
            if alert is not None:
                expected[(case_id, *alert)] += 1
        kinds = {k[1:] for k in expected}
        assert kinds == {("deadline.overdue", None), ("deadline.warning", 3),
                         ("deadline.warning", 7)}, kinds

        def complete(evs: list[Any]) -> bool:
            seen = {(e.subject, e.type) for e in evs if e.type in ALERTS}
            return {(c, t) for c, t, _ in expected} <= seen

        # Every alert that is due now has been sent, and no rung of these timers is due any
        # more: nothing either instance does next (before the next midnight) can add to them.
        await alerts_of(stack.bootstrap, since, ids, until=complete, within=120)

        async def swept() -> bool:
            rows = await next_fires(stack.dsns["deadlines"], list(ids))
            now = days_ago(0)
            return all(r["next_fire_at"] > now for r in rows)

        await eventually(swept, within=60, what="every due rung of the cases swept")
        found = await alerts_of(stack.bootstrap, since, ids, until=complete, within=60)

        got: Counter[Alert] = Counter()
        for e in found:
            if e.type in ALERTS:
                assert e.data.kind == "handling", e  # type: ignore[attr-defined]
                rung = e.data.days_left if e.type == "deadline.warning" else None  # type: ignore[attr-defined]
                if rung is not None:
                    rung = 3 if rung <= 3 else 7
                got[(e.subject, e.type, rung)] += 1
        assert got == expected

        # Both consumed (the group shares the partitions); who fired what is a race, shown.
        for port in (8083 + PORT_OFFSET, SECOND_PORT):
            async with http.get(f"http://127.0.0.1:{port + METRICS_PORT_SHIFT}/metrics") as r:
                lines = [line for line in (await r.text()).splitlines() if line.startswith(
                    ("xinfang_deadlines_alerts_total", "xinfang_events_consumed_total"))]
            print(f"instance :{port}", *lines, sep="\n  ")
            assert any(line.startswith("xinfang_events_consumed_total") for line in lines)

        # The gauges come from one instance only: the leader exports them, the other nothing.
        exports = []
        for port in (8083 + PORT_OFFSET, SECOND_PORT):
            async with http.get(f"http://127.0.0.1:{port + METRICS_PORT_SHIFT}/metrics") as r:
                text = await r.text()
            leader = "xinfang_deadlines_gauge_leader 1.0" in text
            has_gauge = "\nxinfang_deadlines_overdue_open{" in text
            exports.append((leader, has_gauge))
        assert sorted(exports) == [(False, False), (True, True)], exports
