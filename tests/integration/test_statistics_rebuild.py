"""``xf stats rebuild``: replaying the topics from the beginning into a fresh projection gives
the same numbers, and a second rebuild swapped over the first replaces it whole.

The test replays topics of its own (a fresh topic prefix) into schemas of its own, so it costs
what its own events cost, not the whole shared history (the benchmark times a rebuild of that);
the code path is the one ``xf stats rebuild --swap`` runs against ``public``."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from services.statistics.config import StatisticsSettings
from services.statistics.main import projector_for
from services.statistics.params import end_of_day
from services.statistics.queries import StatsQuery
from services.statistics.reader import Reader, load_unit_names
from services.statistics.rebuild import rebuild
from shared.domain.vocab import default_vocabulary
from shared.tools.stack import kafka
from tests.integration.statistics_cases import Case
from tests.integration.statistics_truth import expected_breakdown, expected_summary, truth
from tests.integration.test_statistics_api import UNITS
from tests.integration.test_statistics_support import produce

VOCAB = default_vocabulary()
SETTINGS = StatisticsSettings()


def _workload(rng: random.Random, y: int, n: int) -> list[Case]:
    start = datetime(y, 1, 1, tzinfo=UTC)
    return [Case.random(rng, start + timedelta(hours=rng.randrange(2 * 8760)), VOCAB, UNITS)
            for _ in range(n)]


async def _check(dsn: str, schema: str, cases: list[Case], y: int) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2,
                                     server_settings={"search_path": schema})
    reader = Reader(pool, VOCAB, load_unit_names(SETTINGS.routing_rules_file))
    start, end = date(y, 1, 1), date(y + 1, 12, 31)
    try:
        for as_of in (end_of_day(date(y + 2, 12, 31)), datetime(y + 1, 3, 3, 7, tzinfo=UTC),
                      end_of_day(date(y, 9, 30))):
            q = StatsQuery(start, end, as_of)
            assert dict(await reader.summary(q)) == expected_summary(
                truth(cases, start, end, as_of)), as_of
            for by in ("jurisdiction", "category", "channel", "unit", "month"):
                got = await reader.breakdown(StatsQuery(start, end, as_of, group=by))
                assert dict(got) == expected_breakdown(
                    truth(cases, start, end, as_of, group=by), by, VOCAB), (as_of, by)
    finally:
        await pool.close()


async def test_rebuild_from_the_topics_gives_the_same_numbers_and_swaps_whole(stack) -> None:
    prefix = f"xstats{uuid.uuid4().hex[:10]}"
    live = f"stats_test_{uuid.uuid4().hex[:10]}"
    dsn = stack.dsns["statistics"]
    await kafka.create_topics(stack.bootstrap, prefix)
    conn = await asyncpg.connect(dsn)
    await conn.execute(f"CREATE SCHEMA {live}")
    said: list[str] = []
    try:
        rng = random.Random()
        y = 1500

        async def send(cases: list[Case]) -> int:
            events = [(topic.replace("xinfang.", f"{prefix}.", 1), env)
                      for c in cases for topic, env in c.events(rng)]
            redelivered = rng.sample(events, len(events) // 10)
            await produce(stack.bootstrap, events + redelivered, routing_first=True)
            return len(events) + len(redelivered)

        first = _workload(rng, y, 400)
        sent = await send(first)
        result = await rebuild(dsn, stack.bootstrap, projector_for(SETTINGS),
                               topic_prefix=prefix, swap=True, live=live, say=said.append)
        assert (result.swapped, result.schema, result.events) == (True, live, sent), said
        await _check(dsn, live, first, y)

        second = _workload(rng, y, 200)
        sent += await send(second)
        result = await rebuild(dsn, stack.bootstrap, projector_for(SETTINGS),
                               topic_prefix=prefix, swap=True, live=live, say=said.append)
        assert result.events == sent, said
        await _check(dsn, live, first + second, y)
        schemas: Any = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY($1)",
            [result.retired, *(line.rsplit(" ", 1)[-1] for line in said
                               if line.startswith("replaying"))])
        assert schemas == [], "a rebuild left its schemas behind"
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {live} CASCADE")
        await conn.close()
        await kafka.delete_topics(stack.bootstrap, prefix)
