"""Helpers of the statistics integration tests that talk to the stack: producing the
generated cases' events (statistics_cases), waiting until the services have consumed them,
merging the deadlines service's own alerts into the cases, and finding an empty block of years.

Collected by pytest for its one sanity test (of the generator); the other statistics tests
import from it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

import aiohttp
import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from shared.domain.schemas import DeadlineOverdue, DeadlineScheduled
from shared.platform.events import Envelope, encode
from shared.tools.testing.helpers import eventually, read_topic
from tests.integration.statistics_cases import (
    CASE_TOPIC,
    DEADLINE_TOPIC,
    ROUTING_TOPIC,
    Case,
    Produced,
)
from tests.integration.statistics_truth import COUNTED_OVERDUE

TOKEN = "dev-staff-token-0000000000000001"


async def produce(bootstrap: str, events: list[Produced], *, routing_first: bool = False
                  ) -> list[Any]:
    """Send every event keyed by case id; routing and deadline events first if asked (so they
    overtake their case's registration). Returns the record metadata of each send."""
    if routing_first:
        events = sorted(events, key=lambda te: te[0] == CASE_TOPIC)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True,
                                linger_ms=10)
    await producer.start()
    try:
        futures = [await producer.send(topic, encode(env), key=env.subject.encode())
                   for topic, env in events]
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


async def wait_applied(conn: asyncpg.Connection, ids: set[str], within: float = 120) -> None:
    wanted = [uuid.UUID(i) for i in ids]

    async def done() -> bool:
        n = await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id = ANY($1::uuid[])",
                                wanted)
        return bool(n == len(wanted))

    await eventually(done, within=within, every=0.5, what=f"{len(ids)} events applied")


async def wait_consumed(bootstrap: str, sent: list[Any], within: float = 60) -> None:
    """Until the statistics consumer group has committed past every record in ``sent``."""
    await wait_group(bootstrap, "xinfang-statistics", sent, within)


async def wait_group(bootstrap: str, group: str, sent: list[Any], within: float = 60) -> None:
    """Until consumer group ``group`` has committed past every record in ``sent``."""
    last: dict[tuple[str, int], int] = {}
    for meta in sent:
        key = (meta.topic, meta.partition)
        last[key] = max(last.get(key, -1), meta.offset)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        async def done() -> bool:
            committed = await admin.list_consumer_group_offsets(group)
            offsets = {(tp.topic, tp.partition): om.offset for tp, om in committed.items()}
            return all(offsets.get(key, -1) > offset for key, offset in last.items())

        await eventually(done, within=within, every=0.5, what=f"{group} to consume our events")
    finally:
        await admin.close()


async def settle_deadlines(bootstrap: str, sent: list[Any], case_ids: set[str],
                           since: dict[int, int], quiet: float = 12.0) -> list[Envelope]:
    """The deadline alerts the deadlines service published about ``case_ids``, once it has
    consumed our events and gone quiet about them for ``quiet`` seconds (its alert grace is
    10 s). The deadlines service sees these synthetic cases too and, when it lags behind our
    burst, may alert before it reads a case's acceptance; statistics must count what it
    published, so the truth does too."""
    ours = [m for m in sent if m.topic in (CASE_TOPIC, ROUTING_TOPIC)]
    await wait_group(bootstrap, "xinfang-deadlines", ours, within=300)
    loop = asyncio.get_running_loop()
    seen, changed = -1, loop.time()
    while True:
        messages = await read_topic(bootstrap, DEADLINE_TOPIC, since=since)
        alerts = [env for _, env in messages
                  if env is not None and env.subject in case_ids and env.source != "tests"]
        if len(alerts) != seen:
            seen, changed = len(alerts), loop.time()
        elif loop.time() - changed >= quiet:
            return alerts
        await asyncio.sleep(1.0)


def merge_alerts(cases: list[Case], alerts: list[Envelope]) -> None:
    """Each case's overdue instant becomes the earliest of ours and the deadlines service's;
    a report-back due date deadlines scheduled (from its configured limits) is the case's."""
    by_id = {c.case_id: c for c in cases}
    for env in alerts:
        data = env.data
        if isinstance(data, DeadlineScheduled) and data.kind == "report_back":
            by_id[data.case_id].report_back_due = data.due_date
        if isinstance(data, DeadlineOverdue) and data.kind in COUNTED_OVERDUE:
            case = by_id[data.case_id]
            if case.overdue_at is None or data.at < case.overdue_at:
                case.overdue_at = data.at


async def fresh_block(http: aiohttp.ClientSession, stack: Any, rng: Random,
                      years: int, lowest: int = 1100, highest: int = 1890) -> int:
    """A first year y (lowest … highest) such that no case was received in y .. y+years-1."""
    for _ in range(30):
        y = rng.randrange(lowest, highest)
        params = {"from": f"{y:04d}-01-01", "to": f"{y + years - 1:04d}-12-31",
                  "as_of": f"{y + years + 2:04d}-01-01"}
        async with http.get(stack.url("statistics", "/v1/stats/summary"), params=params,
                            headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            assert r.status == 200, await r.text()
            if (await r.json())["received"] == 0:
                return y
    raise AssertionError(f"no empty block of {years} years in {lowest}–{highest}: this stack "
                         "holds many earlier test runs (`xf stack clean` empties it)")


def test_generator_covers_every_kind_of_case() -> None:
    from shared.domain.vocab import default_vocabulary

    rng = Random(3)
    vocab = default_vocabulary()
    start = datetime(1500, 1, 1, tzinfo=UTC)
    cases = [Case.random(rng, start + timedelta(hours=7 * i), vocab, ["a", "b", "c"])
             for i in range(2000)]
    kinds: dict[str, int] = defaultdict(int)
    for c in cases:
        kinds["duplicate"] += c.duplicate
        kinds["closed"] += c.closed_at is not None
        kinds["late"] += c.closed_at is not None and not c.on_time()
        kinds["extended"] += c.extension_days > 0 and c.closed_at is not None
        kinds["overdue"] += c.overdue_at is not None
        kinds["rated"] += c.rated_at is not None
        kinds["unreachable_feedback"] += (not c.reachable) and c.feedback_at is not None
        kinds["reassigned"] += len(c.units) > 1
        kinds["never_accepted"] += c.accepted_at is None and c.overdue_kind == "acceptance"
        kinds["open"] += c.closed_at is None
        kinds["repeat"] += c.link_kind is not None
        kinds["key_closed"] += c.key_case and c.closed_at is not None
        kinds["review"] += c.review_requested_at is not None
        kinds["answered_before_closure"] += (c.replied_at is not None and c.closed_at is not None
                                             and c.replied_at < c.closed_at)
    assert all(kinds[k] >= 10 for k in ("duplicate", "closed", "late", "extended", "overdue",
                                        "rated", "unreachable_feedback", "reassigned",
                                        "never_accepted", "open", "repeat", "key_closed",
                                        "review", "answered_before_closure")), kinds
    assert sum(len(c.events()) for c in cases) > 5 * len(cases)
