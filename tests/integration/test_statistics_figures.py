"""Statistics figures against ground truth, over the real broker, service and database.

A randomized workload — thousands of cases over four years with random channels,
jurisdictions, categories, units, lifecycles, duplicates, extensions, reassignments, overdue
alerts and redelivered events — is produced straight onto the three topics (routing and deadline
events first, so many overtake their case's registration). The truth is computed here, case by
case, from the generated data with docs/domain.md §5's definitions; every summary figure and every
breakdown row from the API must equal it to the case and to the hundredth of a percent, for
many periods, filters and ``as_of`` instants.

Isolation: the cases live in a random four-year block of the 12th–19th century (checked empty
first), so neither other engineers' cases nor earlier runs of this test touch the figures, and
every ``as_of`` lies before 1900, so alerts other services might raise about these cases at
today's date are not counted either. Units use assignment versions from 1000 up, so an
assignment routing might make of these cases (version 1) never wins.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg

from shared.domain.vocab import default_vocabulary
from shared.tools.testing.helpers import end_offsets
from tests.integration.statistics_cases import DEADLINE_TOPIC, Case
from tests.integration.statistics_checks import compare_everything, getter
from tests.integration.test_statistics_support import (
    TOKEN,
    fresh_block,
    merge_alerts,
    produce,
    settle_deadlines,
    wait_applied,
)

VOCAB = default_vocabulary()
CASES = 5000


def _random_cases(rng: random.Random, first_year: int) -> list[Case]:
    start = datetime(first_year, 1, 1, tzinfo=UTC) - timedelta(hours=8)
    span = (datetime(first_year + 4, 1, 1, tzinfo=UTC) - timedelta(hours=8) - start)
    units = ["jizhou_bureau", "jian_bureau", "taihe_bureau", "safety", "finance", "exams",
             "discipline", "city_no1_middle"]
    return [Case.random(rng, start + timedelta(seconds=rng.randrange(int(span.total_seconds()))),
                        VOCAB, units) for _ in range(CASES)]


async def test_random_workload_matches_ground_truth(stack) -> None:
    rng = random.Random()
    seed = rng.randrange(10**9)
    rng.seed(seed)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        y = await fresh_block(http, stack, rng, years=6)
        cases = _random_cases(rng, y)
        events = [e for c in cases for e in c.events(rng)]
        # Redeliver a tenth of the events (same ids): they must change nothing.
        redelivered = rng.sample(events, len(events) // 10)
        since = await end_offsets(stack.bootstrap, DEADLINE_TOPIC)
        sent = await produce(stack.bootstrap, events, routing_first=True)
        await produce(stack.bootstrap, redelivered)
        alerts = await settle_deadlines(stack.bootstrap, sent, {c.case_id for c in cases},
                                        since)
        merge_alerts(cases, alerts)
        conn = await asyncpg.connect(stack.dsns["statistics"])
        try:
            await wait_applied(conn, {e.id for _, e in events} | {e.id for e in alerts},
                               within=240)
        finally:
            await conn.close()

        await compare_everything(getter(http, stack), rng, cases, y, VOCAB, seed)
