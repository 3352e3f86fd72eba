"""Reading the assessment indicators and the hand-offs by assigning body, exactly as of an
instant, straight from ``case_fact`` (the columns of assessment.py, each with an index path).

The indicators do not all count the cases received in the period: timely acceptance counts the
acceptances *due* in it, on-time answers the answers *given* in it (docs/domain.md §5). So they
are counted case by case rather than from the received-day aggregates; each reads one index
range (due date, answer instant, or receipt) of the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from services.statistics.assessment import IndicatorCounts
from services.statistics.queries import StatsQuery
from shared.domain.limits import start_of_local_day

# Report-back status of a hand-off as of an instant (docs/domain.md §8).
REPORT_BACK_STATUSES = ("reported_on_time", "reported_late", "pending", "overdue", "no_limit")


@dataclass(frozen=True)
class BodyCounts:
    key: str  # the assigning body as written, else the hand-off channel's code
    count: int
    closed: int
    report_back: dict[str, int]


def _where(q: StatsQuery, params: list[object]) -> str:
    sql = ""
    for dim, value in q.filters.items():
        params.append(value)
        sql += f" AND {dim} = ${len(params)}"
    return sql


def _bounds(q: StatsQuery) -> tuple[object, object]:
    return start_of_local_day(q.start), start_of_local_day(q.end + timedelta(days=1))


async def indicator_counts(conn: asyncpg.Connection, q: StatsQuery) -> IndicatorCounts:
    start, end = _bounds(q)
    params: list[object] = [q.as_of, start, end, q.start, q.end]
    filters = _where(q, params)
    received = (f"counted AND received_at >= $2 AND received_at < $3 AND received_at <= $1"
                f"{filters}")
    sql = f"""
    SELECT
      (SELECT count(*) FILTER (WHERE e_decided <= $1 OR accept_late_at <= $1)
       FROM case_fact WHERE counted AND accept_due BETWEEN $4 AND $5{filters}),
      (SELECT count(*) FILTER (WHERE e_decided <= $1 AND accepted_on_time)
       FROM case_fact WHERE counted AND accept_due BETWEEN $4 AND $5{filters}),
      a.answered, a.on_time, r.feedback, r.rated, r.repeats, r.key_closed, r.key_resolved
    FROM (SELECT count(*) AS answered, count(*) FILTER (WHERE answer_on_time) AS on_time
          FROM case_fact WHERE counted AND e_answered >= $2 AND e_answered < $3
          AND e_answered <= $1{filters}) a,
         (SELECT count(*) FILTER (WHERE e_feedback <= $1) AS feedback,
                 count(*) FILTER (WHERE e_feedback <= $1 AND e_rated <= $1) AS rated,
                 count(*) FILTER (WHERE e_repeat <= $1) AS repeats,
                 count(*) FILTER (WHERE key AND e_closed <= $1) AS key_closed,
                 count(*) FILTER (WHERE key AND e_closed <= $1
                                  AND NOT coalesce(e_review <= $1, false)) AS key_resolved
          FROM case_fact WHERE {received}) r
    """
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        row = await conn.fetchrow(sql, *params)
    return IndicatorCounts(*(int(v) for v in row))


async def by_assigning_body(conn: asyncpg.Connection, q: StatsQuery) -> list[BodyCounts]:
    """The hand-offs received in the period by assigning body, with their report-back status."""
    start, end = _bounds(q)
    params: list[object] = [q.as_of, start, end]
    filters = _where(q, params)
    reported = "coalesce(e_reported <= $1, false)"
    sql = f"""
    SELECT coalesce(nullif(assigned_by, ''), channel) AS body, count(*),
           count(*) FILTER (WHERE e_closed <= $1),
           count(*) FILTER (WHERE report_back_late_at IS NOT NULL AND {reported}
                            AND reported_on_time),
           count(*) FILTER (WHERE report_back_late_at IS NOT NULL AND {reported}
                            AND NOT reported_on_time),
           count(*) FILTER (WHERE report_back_late_at > $1 AND NOT {reported}),
           count(*) FILTER (WHERE report_back_late_at <= $1 AND NOT {reported}),
           count(*) FILTER (WHERE report_back_late_at IS NULL)
    FROM case_fact
    WHERE counted AND handoff AND received_at >= $2 AND received_at < $3
      AND received_at <= $1{filters}
    GROUP BY 1
    """
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        rows = await conn.fetch(sql, *params)
    return [BodyCounts(str(r[0]), int(r[1]), int(r[2]),
                       dict(zip(REPORT_BACK_STATUSES, (int(v) for v in list(r)[3:]),
                                strict=True)))
            for r in rows]
