"""The folder: moves journal deltas into the aggregate tables, one writer at a time.

Consumers only append to the journal, so instances never wait on each other's hot aggregate
rows (docs/delivery.md, "Several instances"). One folder — whichever instance holds the
leader's advisory lock — deletes a chunk of journal rows and adds them to ``cube`` (5 grouping
sets × received day/month × effective day/month), ``month_totals`` (received month × every
combination of two or three dimensions), ``rmonth_max`` and ``totals`` in one statement, so a
reader sees every delta exactly once: in the journal or in the aggregates. Queries add the
(small) journal to the aggregates, so figures are exact the moment a consumer commits; folding
only keeps the journal short.
"""

from __future__ import annotations

import zlib

import asyncpg

from services.statistics.schema import COUNT_COLUMNS, MONTH_TOTAL_SETS
from shared.platform import faults

_SUMS = ", ".join(f"sum({c})::integer AS {c}" for c in COUNT_COLUMNS)
_JSUMS = ", ".join(f"sum(j.{c})::integer" for c in COUNT_COLUMNS)
_ADD = ", ".join(f"{c} = c.{c} + EXCLUDED.{c}" for c in COUNT_COLUMNS)
_COUNTS = ", ".join(COUNT_COLUMNS)
_ADD_M = ", ".join(f"{c} = m.{c} + EXCLUDED.{c}" for c in COUNT_COLUMNS)
_MASKS = ", ".join(f"({mask})" for mask in MONTH_TOTAL_SETS)

FOLD_SQL = f"""
WITH j AS (
    DELETE FROM journal WHERE id IN (SELECT id FROM journal ORDER BY id LIMIT $1)
    RETURNING *
), expanded AS (
    SELECT g.gs,
           CASE g.gs WHEN 0 THEN '' WHEN 1 THEN j.channel WHEN 2 THEN j.jurisdiction
                     WHEN 3 THEN j.category ELSE j.unit END AS k,
           l.rl,
           CASE WHEN l.rl = 0 THEN j.r_day
                ELSE date_trunc('month', j.r_day::timestamp)::date END AS rb,
           l.el,
           CASE WHEN l.el = 0 THEN j.e_day
                ELSE date_trunc('month', j.e_day::timestamp)::date END AS eb,
           {", ".join(f"j.{c}" for c in COUNT_COLUMNS)}
    FROM j
    CROSS JOIN (VALUES (0), (1), (2), (3), (4)) AS g(gs)
    CROSS JOIN (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) AS l(rl, el)
), cells AS (
    SELECT gs, k, rl, rb, el, eb, {_SUMS}
    FROM expanded GROUP BY gs, k, rl, rb, el, eb
), into_cube AS (
    INSERT INTO cube AS c (gs, k, rl, rb, el, eb, {_COUNTS})
    SELECT * FROM cells ORDER BY gs, rl, el, rb, eb, k
    ON CONFLICT (gs, rl, el, rb, eb, k) DO UPDATE SET {_ADD}
), into_month_totals AS (
    INSERT INTO month_totals AS m (dims, channel, jurisdiction, category, unit, rb, {_COUNTS})
    SELECT s.dims,
           CASE WHEN s.dims & 1 <> 0 THEN j.channel ELSE '' END,
           CASE WHEN s.dims & 2 <> 0 THEN j.jurisdiction ELSE '' END,
           CASE WHEN s.dims & 4 <> 0 THEN j.category ELSE '' END,
           CASE WHEN s.dims & 8 <> 0 THEN j.unit ELSE '' END,
           date_trunc('month', j.r_day::timestamp)::date, {_JSUMS}
    FROM j CROSS JOIN (VALUES {_MASKS}) AS s(dims)
    GROUP BY 1, 2, 3, 4, 5, 6
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (dims, channel, jurisdiction, category, unit, rb) DO UPDATE SET {_ADD_M}
), into_max AS (
    INSERT INTO rmonth_max AS m (rb, e_max)
    SELECT date_trunc('month', r_day::timestamp)::date, max(e_at) FROM j GROUP BY 1
    ON CONFLICT (rb) DO UPDATE SET e_max = greatest(m.e_max, EXCLUDED.e_max)
), into_totals AS (
    INSERT INTO totals AS t (jurisdiction, category, received, closed)
    SELECT jurisdiction, category, sum(received), sum(closed) FROM j GROUP BY 1, 2
    ON CONFLICT (jurisdiction, category) DO UPDATE
        SET received = t.received + EXCLUDED.received, closed = t.closed + EXCLUDED.closed
)
SELECT count(*) FROM j
"""


async def fold_once(conn: asyncpg.Connection, chunk: int) -> int:
    """Fold up to ``chunk`` journal rows; return how many were folded."""
    async with conn.transaction():
        folded = int(await conn.fetchval(FOLD_SQL, chunk))
        faults.point("fold.before_commit")
        return folded


async def fold_all(conn: asyncpg.Connection, chunk: int = 50000) -> int:
    total = 0
    while n := await fold_once(conn, chunk):
        total += n
    return total


def leader_key(schema: str) -> int:
    """The advisory-lock key of the folder of ``schema``: a rebuild folds its own schema
    without waiting for the live leader, and two live instances never fold at once."""
    return int.from_bytes(zlib.crc32(f"xinfang.statistics.fold:{schema}".encode())
                          .to_bytes(4, "big"), "big") | (0x5354 << 32)
