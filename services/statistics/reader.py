"""Figures as docs/domain.md §6 shapes them, read from the projection: summary, breakdown, report.

The counting happens in queries.Engine, the definitions in figures (docs/domain.md §5), the
rendering in
report; this module only joins them, so the API, the CLI and the quarterly report can never
disagree on a number.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import yaml

from services.statistics.assessment_queries import by_assigning_body, indicator_counts
from services.statistics.facts import OVERDUE, PEOPLE, UNASSIGNED, URGES, N
from services.statistics.figures import (
    Breakdown,
    GroupCounts,
    Summary,
    breakdown,
    month_label,
    quarter_bounds,
    summary,
)
from services.statistics.params import ReportRequest, end_of_day
from services.statistics.queries import Engine, Result, StatsQuery, counts_of
from services.statistics.report import QuarterlyReport
from shared.domain.vocab import Vocabulary

UNASSIGNED_LABEL = "未分配"


def load_unit_names(path: Path) -> dict[str, str]:
    """Unit code → name from the routing configuration; a missing file leaves codes as names."""
    names = {UNASSIGNED: UNASSIGNED_LABEL}
    if path.exists():
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for unit in doc.get("units") or []:
            if isinstance(unit, dict) and unit.get("code"):
                names[str(unit["code"])] = str(unit.get("name") or unit["code"])
    return names


def _total(result: Result) -> list[int]:
    total = [0] * N
    for vector in result.values():
        total = [a + b for a, b in zip(total, vector, strict=True)]
    return total


class Reader:
    def __init__(self, pool: asyncpg.Pool, vocab: Vocabulary, units: Mapping[str, str]) -> None:
        self._pool = pool
        self._vocab = vocab
        self._units = units

    async def counts(self, q: StatsQuery) -> Result:
        async with self._pool.acquire() as conn:
            return await Engine(conn).run(q)

    async def summary(self, q: StatsQuery) -> Summary:
        async with self._pool.acquire() as conn:
            counts = counts_of(_total(await Engine(conn).run(q)))
            indicators = await indicator_counts(conn, q)
        return summary(counts, indicators)

    async def breakdown(self, q: StatsQuery) -> Breakdown:
        assert q.group is not None
        if q.group == "assigning_body":
            return await self._by_assigning_body(q)
        result = await self.counts(q)
        rows = [GroupCounts(key, vector[0], vector[1],
                            label=self._units.get(key, key) if q.group == "unit" else None,
                            people=vector[PEOPLE], urges=vector[URGES])
                for key, vector in result.items() if vector[0]]
        return breakdown(rows, q.group, self._vocab)

    async def _by_assigning_body(self, q: StatsQuery) -> Breakdown:
        async with self._pool.acquire() as conn:
            bodies = await by_assigning_body(conn, q)
        channels = self._vocab.channels
        shaped = breakdown([GroupCounts(
            b.key, b.count, b.closed,
            # A hand-off without a named body is filed under its channel (省平台转办 …).
            label=channels.label(b.key) if b.key in channels.labels else b.key)
            for b in bodies], q.group or "assigning_body", self._vocab)
        status = {b.key: b.report_back for b in bodies}
        for row in shaped["rows"]:
            row["report_back"] = status[row["key"]]
            # Hand-offs are counted from their own query: people and urges are not in it.
            row.pop("people", None)
            row.pop("urges", None)
        return shaped

    async def repeats_by_month(self, q: StatsQuery) -> tuple[tuple[str, int], ...]:
        """Repeat petitions by the month received (the quarterly report's lines)."""
        out = []
        month = q.start.replace(day=1)
        while month <= q.end:
            last = min(q.end, (month.replace(day=28) + timedelta(days=4)).replace(day=1)
                       - timedelta(days=1))
            async with self._pool.acquire() as conn:
                found = await indicator_counts(conn, StatsQuery(max(month, q.start), last,
                                                                q.as_of, q.filters))
            out.append((month_label(month.strftime("%Y-%m")), found.repeat_petitions))
            month = last + timedelta(days=1)
        return tuple(out)

    async def overdue_by_unit(self, q: StatsQuery) -> tuple[tuple[str, int], ...]:
        result = await self.counts(StatsQuery(q.start, q.end, q.as_of, q.filters, "unit"))
        return tuple((self._units.get(key, key), vector[OVERDUE])
                     for key, vector in sorted(result.items()) if vector[OVERDUE])

    async def quarterly(self, req: ReportRequest) -> QuarterlyReport:
        start, end = quarter_bounds(req.year, req.quarter)
        q = StatsQuery(start, end, req.as_of)
        # 同比: the same quarter a year earlier, as of the same point relative to its end.
        yoy_start, yoy_end = quarter_bounds(req.year - 1, req.quarter)
        shift = end_of_day(end) - end_of_day(yoy_end)
        yoy = StatsQuery(yoy_start, yoy_end, req.as_of - shift)
        return QuarterlyReport(
            year=req.year,
            quarter=req.quarter,
            # The figures stand as of this instant; using it (not the wall clock) makes the
            # report of a past quarter byte-for-byte the same whenever it is fetched.
            generated_at=req.as_of,
            summary=await self.summary(q),
            yoy_summary=await self.summary(yoy),
            by_jurisdiction=await self.breakdown(_grouped(q, "jurisdiction")),
            by_category=await self.breakdown(_grouped(q, "category")),
            by_channel=await self.breakdown(_grouped(q, "channel")),
            overdue_by_unit=await self.overdue_by_unit(q),
            repeats_by_month=await self.repeats_by_month(q),
        )


def _grouped(q: StatsQuery, by: str) -> StatsQuery:
    return StatsQuery(q.start, q.end, q.as_of, q.filters, by)
