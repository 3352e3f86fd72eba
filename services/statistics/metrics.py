"""Live gauges for the dashboards, computed by one instance at a time.

Only the leader (the instance holding the folder's advisory lock, ``xinfang_stats_leader`` = 1)
exports the figure gauges; the others export none of their series. So a dashboard may take
``max`` or ``sum`` across instances alike and never double a figure. The leader refreshes them
right after every fold that moved deltas, i.e. as events arrive, and at least every few seconds
(the current year and quarter move with the clock).

Labels: jurisdiction and category codes of the vocabulary (values outside it are shown as
``unknown``); ``period`` is ``year`` or ``quarter``. No case ids, no personal data.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
from prometheus_client import Counter, Gauge

from services.statistics.assessment_queries import indicator_counts
from services.statistics.facts import N
from services.statistics.figures import percent, quarter_bounds, summary
from services.statistics.queries import Engine, StatsQuery, counts_of
from shared.domain.limits import local_date
from shared.domain.vocab import Vocabulary

_DIMS = ["jurisdiction", "category"]
RECEIVED = Gauge("xinfang_stats_cases_received",
                 "Cases received, all time, duplicates excluded (leader instance only)", _DIMS)
CLOSED = Gauge("xinfang_stats_cases_closed", "Cases closed (办结), all time (leader only)", _DIMS)
OPEN = Gauge("xinfang_stats_cases_open", "Cases received and not closed (leader only)", _DIMS)
CLOSURE_RATE = Gauge("xinfang_stats_closure_rate_percent",
                     "办结率 of the cases received in the current year or quarter, as of now",
                     ["period"])
ON_TIME_RATE = Gauge("xinfang_stats_on_time_rate_percent",
                     "On-time rate of the cases received in the current year or quarter, "
                     "as of now", ["period"])
ASSESSMENT_RATE = Gauge("xinfang_stats_assessment_rate_percent",
                        "Assessment indicators (及时受理率, 按期答复率, 群众参评率, "
                        "包案化解率) of the current year or quarter, as of now (leader only)",
                        ["period", "indicator"])
REPEAT_PETITIONS = Gauge("xinfang_stats_repeat_petitions",
                         "Repeat petitions received in the current year or quarter (leader only)",
                         ["period"])
# Gauge label → the summary figure it shows.
INDICATORS = {"timely_acceptance": "timely_acceptance_rate",
              "on_time_answer": "on_time_answer_rate", "participation": "participation_rate",
              "key_case_resolution": "key_case_resolution_rate"}
LEADER = Gauge("xinfang_stats_leader",
               "1 on the instance that folds the aggregates and exports the statistics gauges")
JOURNAL_ROWS = Gauge("xinfang_stats_journal_rows", "Deltas waiting to be folded (leader only)")
FOLD_CHUNK = Gauge("xinfang_stats_fold_chunk_rows",
                   "Journal rows the leader folds per transaction (smaller after a timeout)")
FOLDED = Counter("xinfang_stats_folded_rows_total", "Journal rows folded into the aggregates")

_FIGURES = (RECEIVED, CLOSED, OPEN, CLOSURE_RATE, ON_TIME_RATE, ASSESSMENT_RATE,
            REPEAT_PETITIONS)


def step_down() -> None:
    """Stop exporting figures: another instance (or none) is the leader now."""
    LEADER.set(0)
    for gauge in _FIGURES:
        gauge.clear()
    JOURNAL_ROWS.set(0)


def _periods(today: date) -> dict[str, tuple[date, date]]:
    return {"year": (date(today.year, 1, 1), date(today.year, 12, 31)),
            "quarter": quarter_bounds(today.year, (today.month - 1) // 3 + 1)}


async def refresh(conn: asyncpg.Connection, now: datetime, vocab: Vocabulary) -> None:
    totals: dict[tuple[str, str], list[int]] = {}
    for row in await conn.fetch("SELECT jurisdiction, category, received, closed FROM totals"):
        key = (row["jurisdiction"] if row["jurisdiction"] in vocab.jurisdictions.labels
               else "unknown",
               row["category"] if row["category"] in vocab.categories.labels else "unknown")
        into = totals.setdefault(key, [0, 0])
        into[0] += row["received"]
        into[1] += row["closed"]
    for (jurisdiction, category), (received, closed) in totals.items():
        RECEIVED.labels(jurisdiction, category).set(received)
        CLOSED.labels(jurisdiction, category).set(closed)
        OPEN.labels(jurisdiction, category).set(received - closed)
    engine = Engine(conn)
    for name, (start, end) in _periods(local_date(now)).items():
        result = await engine.run(StatsQuery(start, end, now))
        total = [sum(column) for column in zip(*result.values(), strict=True)] or [0] * N
        counts = counts_of(total)
        CLOSURE_RATE.labels(name).set(percent(counts.closed, counts.received))
        ON_TIME_RATE.labels(name).set(percent(counts.closed_on_time, counts.closed))
        figures = summary(counts, await indicator_counts(conn, StatsQuery(start, end, now)))
        for indicator, figure in INDICATORS.items():
            ASSESSMENT_RATE.labels(name, indicator).set(
                figures[figure])  # type: ignore[literal-required]
        REPEAT_PETITIONS.labels(name).set(figures["repeat_petitions"])
    JOURNAL_ROWS.set(await conn.fetchval("SELECT count(*) FROM journal"))
