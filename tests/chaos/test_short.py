"""The fault suite's short form (``make chaos`` runs the long one): two instances of every
service, a many-channel load with units acting on cases, each service killed with SIGKILL once
at a random moment and started again; then the drain, and the verdict: nothing lost, nothing
counted twice, no alert twice, ``xf reconcile`` at 0, every figure equal to intake's truth,
every instance ready within 30 s.

The verdict rests on state (polled with deadlines), not on timing, so a slow machine makes it
slower, not different. A negative control follows: the same checks, after one case is hidden
from the statistics projection's case facts, must find exactly that drift.
"""

from __future__ import annotations

import random
from typing import Any

import aiohttp
import asyncpg

from shared.tools.stack.layout import SERVICES
from tests.chaos.__main__ import run_suite
from tests.chaos.scenarios import table
from tests.chaos.verify import check


async def test_nothing_lost_or_doubled_when_each_service_is_killed(stack: Any) -> None:
    seed = random.randrange(10**9)
    rows = await run_suite(stack.layout, short=True, only=None, seed=seed, say=False)
    assert rows, "no scenario ran"
    assert all(r.verdict == "pass" for r in rows), f"seed {seed}\n{table(rows)}"
    assert all(r.submitted > 50 for r in rows), table(rows)
    assert all(r.faults.startswith("kill -9") for r in rows), table(rows)

    # The checks can fail: a case the projection lost is lost, and is drift.
    row = rows[0]
    assert row.context is not None
    dbs = {s: await asyncpg.create_pool(stack.dsns[s], min_size=1, max_size=2)
           for s in SERVICES}
    hidden = await dbs["statistics"].fetchval(
        "SELECT case_id FROM case_fact WHERE case_id = ANY($1) AND counted AND e_closed IS NULL "
        "LIMIT 1", list(row.context.ledger.answered.values()))
    assert hidden is not None
    try:
        await dbs["statistics"].execute(
            "UPDATE case_fact SET counted = false WHERE case_id = $1", hidden)
        async with aiohttp.ClientSession() as http:
            found = await check(dbs, row.context.ledger, row.context.year, http=http,
                                stats_url=stack.url("statistics", ""),
                                bootstrap=stack.bootstrap, since=row.context.since,
                                root=stack.layout.root,
                                urls={s: stack.url(s, "") for s in SERVICES})
        # The figures come from the projection's aggregates, which still hold the case: the
        # reconciliation, which counts the case facts, is what finds it.
        assert found.drift == 1, found
        assert any("xf reconcile: drift 1" in p for p in found.problems), found
    finally:
        await dbs["statistics"].execute(
            "UPDATE case_fact SET counted = true WHERE case_id = $1", hidden)
        for pool in dbs.values():
            await pool.close()
