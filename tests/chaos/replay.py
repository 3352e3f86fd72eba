"""The replay scenario: every event topic read again from offset 0 into a fresh database gives
the same figures as the live one.

Statistics is rebuilt into a fresh schema (``xf stats rebuild``), routing and deadlines into
fresh databases (``xf replay``): each with the very code the service runs.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime

import asyncpg

from services.statistics.config import StatisticsSettings
from services.statistics.main import projector_for
from services.statistics.queries import Engine, StatsQuery
from services.statistics.rebuild import drop_schema, rebuild
from shared.tools.cli.replay import replay_local
from shared.tools.stack import control
from shared.tools.stack.layout import Layout

GROUPS = (None, "channel", "jurisdiction", "category", "unit", "month")


async def statistics_replay(layout: Layout, year: int, _: Collection[str]) -> list[str]:
    """Problems found: figures of ``year`` that differ between the rebuilt and the live
    projection, for every grouping."""
    dsn = control.dsns(layout)["statistics"]
    result = await rebuild(dsn, layout.bootstrap, projector_for(StatisticsSettings()),
                           say=lambda _: None)
    problems = []
    conn = await asyncpg.connect(dsn)
    try:
        as_of = datetime(year + 5, 12, 31, tzinfo=UTC)
        for group in GROUPS:
            q = StatsQuery(date(year, 1, 1), date(year, 12, 31), as_of, group=group)
            figures = []
            for schema in (result.schema, "public"):
                await conn.execute(f"SET search_path TO {schema}")
                # A group whose every count is 0 (a unit a case left) is no figure.
                figures.append({k: v for k, v in (await Engine(conn).run(q)).items() if any(v)})
            if figures[0] != figures[1]:
                rebuilt, live = figures
                keys = sorted({*rebuilt, *live} - {k for k in rebuilt if rebuilt[k] == live.get(k)},
                              key=str)
                shown = "; ".join(f"{k}: rebuilt {rebuilt.get(k)} live {live.get(k)}"
                                  for k in keys[:3])
                problems.append(f"statistics replayed ≠ live (group {group}, {len(keys)} "
                                f"key(s) differ: {shown})")
            elif not figures[0]:
                problems.append("the replay found none of the scenario's cases")
    finally:
        await conn.close()
        await drop_schema(dsn, result.schema)
    return problems


async def routing_deadlines_replay(layout: Layout, year: int, cases: Collection[str]
                                   ) -> list[str]:
    """Problems found: rows of the scenario's cases in routing's and deadlines' databases that
    a replay does not reproduce, and events it would publish that are on no topic."""
    problems = []
    for service in ("routing", "deadlines"):
        report = await replay_local(layout, service, cases=cases, say=lambda _: None)
        if not report.events:
            problems.append(f"{service}: the replay read no event")
        problems += [f"{service} replayed ≠ live: {p}" for p in report.problems]
    return problems
