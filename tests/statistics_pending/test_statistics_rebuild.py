"""``xf stats rebuild``: replaying every topic from the beginning into a fresh projection gives
the same numbers, and swapping it in keeps the live service running on it."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg

from services.statistics.config import StatisticsSettings
from services.statistics.main import projector_for
from services.statistics.rebuild import rebuild
from shared.vocab import default_vocabulary
from tests.statistics_pending.test_statistics_api import UNITS, Api, apply, local
from tests.statistics_pending.test_statistics_support import Case, fresh_block

VOCAB = default_vocabulary()


async def test_rebuild_gives_the_same_numbers_and_swaps_in_live(stack) -> None:
    rng = random.Random()
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack)
        y = await fresh_block(http, stack, rng, years=3)
        cases = [Case.random(rng, local(y, 1, 1) + timedelta(hours=rng.randrange(2 * 8760)),
                             VOCAB, UNITS) for _ in range(300)]
        await apply(stack, cases)
        period = {"from": f"{y:04d}-01-01", "to": f"{y + 1:04d}-12-31"}

        async def figures() -> list[Any]:
            out = []
            for as_of in (f"{y + 2:04d}-12-31", local(y + 1, 3, 3).isoformat()):
                out.append(await api.ok("/v1/stats/summary", **period, as_of=as_of))
                for by in ("jurisdiction", "category", "channel", "unit", "month"):
                    out.append(await api.ok("/v1/stats/breakdown", by=by, **period,
                                            as_of=as_of))
                out.append(await api.ok("/v1/stats/summary", **period, as_of=as_of,
                                        jurisdiction="jian", category="fees"))
            return out

        before = await figures()
        assert before[0]["received"] == sum(not c.duplicate for c in cases)
        said: list[str] = []
        result = await rebuild(stack.dsns["statistics"], stack.bootstrap,
                               projector_for(StatisticsSettings()), swap=True, say=said.append)
        assert result.swapped and result.events > 0 and result.seconds > 0
        assert await figures() == before, said

        # The service keeps applying events, now into the rebuilt tables.
        late = Case.random(rng, local(y, 6, 6), VOCAB, UNITS)
        late.duplicate = False
        await apply(stack, [late])
        after = await api.ok("/v1/stats/summary", **period, as_of=f"{y + 2:04d}-12-31")
        assert after["received"] == before[0]["received"] + 1

    conn = await asyncpg.connect(stack.dsns["statistics"])
    try:
        left = await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname = ANY($1)",
                                [result.retired, *(line.rsplit(" ", 1)[-1] for line in said
                                                   if line.startswith("replaying"))])
    finally:
        await conn.close()
    assert left == [], "the rebuild left its schemas behind"
