"""Reading figures: the counts of the cases received in a period, as of an instant.

How ``as_of`` stays exact without scanning every case
----------------------------------------------------
Each case contributes *points* (facts.points): at the instant a count starts to hold, +1 to it.
A figure as of T is the sum of the points of the period's cases with ``eff_at <= T``.

1. The period ends at T's day at the latest (nothing received later counts), and splits into
   whole received months and the days of partial months (``split_period``).
2. A received month is *settled* when T lies after every point its cases ever had
   (``rmonth_max`` and the unfolded journal) — all old months when T is now. A settled month
   counts everything, whatever the effective bucket.
3. Queries filtering or grouping on at most one dimension read ``cube`` (grouping sets: all,
   channel, jurisdiction, category, unit). Per received bucket (month ``rl=1`` / day ``rl=0``):
   settled → every effective bucket; unsettled → effective months before T's month (``el=1``)
   plus the days of T's month up to T's day D (``el=0``), or only the months when D ends one.
   Then two exact corrections touching at most one day each: the journal (deltas not yet
   folded, usually a handful) is added with the same day rule, and the points of day D after
   T are subtracted, read from ``case_fact`` through the partial index on each count's
   effective instant (not needed when ``as_of`` is a date, i.e. the end of D).
4. Queries on two or three dimensions (``by=unit&jurisdiction=jian``) read settled months from
   ``month_totals`` and count the rest — unsettled months and partial-month days, usually a few
   thousand cases — exactly from ``case_fact`` through its (dimension, received day) indexes.
   Four dimensions (three filters and ``by=unit``) match so few cases that ``case_fact`` alone
   answers.
So a query reads a few hundred to a few thousand index entries for any period, and a past
quarter's report reproduces exactly after later events: those are points after its T.
Everything runs in one REPEATABLE READ snapshot.

What ``as_of`` does not undo (by definition, documented): the instants are the facts' own
(received_at, the closure's ``at``, the alert's ``at``), so a case registered later with a
received_at backdated into a past period changes that period; the unit is the case's current
assignment, so a reassignment moves the case in past unit breakdowns (the overdue list by unit
keeps the unit each case went overdue with); a duplicate link removes the case from every
period; and a ``deadline.rescheduled`` does not retract an overdue alert already counted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import asyncpg

from services.statistics.facts import PEOPLE, URGES, N
from services.statistics.figures import Counts
from services.statistics.schema import COUNT_COLUMNS, DIM_BITS
from shared.domain.limits import local_date, start_of_local_day

DIMENSIONS = ("channel", "jurisdiction", "category", "unit")
GROUPING_SET = {"channel": 1, "jurisdiction": 2, "category": 3, "unit": 4}
_FACT_COLUMN = {"channel": "channel", "jurisdiction": "jurisdiction", "category": "category",
                "unit": "unit_key"}
_ONE_DAY = timedelta(days=1)
_MICRO = timedelta(microseconds=1)
_SUMS = ", ".join(f"sum({c})" for c in COUNT_COLUMNS)
_OUTER = ", ".join(f"sum(c{i})::bigint" for i in range(N))
_ALIASES = ", ".join(f"c{i}" for i in range(N))
_MONTH = "to_char({}, 'YYYY-MM')"

Result = dict[str, list[int]]
DayRange = tuple[date, date]


@dataclass(frozen=True)
class Filters:
    channel: str | None = None
    jurisdiction: str | None = None
    category: str | None = None

    def items(self) -> list[tuple[str, str]]:
        return [(dim, value) for dim, value in (("channel", self.channel),
                                                ("jurisdiction", self.jurisdiction),
                                                ("category", self.category)) if value]


@dataclass(frozen=True)
class StatsQuery:
    start: date
    end: date
    as_of: datetime
    filters: Filters = Filters()
    group: str | None = None  # None, a dimension, or "month"

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError("start after end")
        # assigning_body is read by assessment_queries, never by the Engine.
        if self.group is not None and self.group not in (*DIMENSIONS, "month",
                                                         "assigning_body"):
            raise ValueError(f"unknown group {self.group!r}")


def counts_of(vector: list[int]) -> Counts:
    return Counts(received=vector[0], closed=vector[1], closed_on_time=vector[2],
                  feedback_eligible=vector[3], feedback_given=vector[4], rated=vector[5],
                  satisfied=vector[6], basically_satisfied=vector[7], overdue=vector[8],
                  people=vector[PEOPLE], urges=vector[URGES])


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def split_period(start: date, end: date) -> tuple[DayRange | None, list[DayRange]]:
    """(first and last whole month inside [start, end], or None; the remaining day ranges)."""
    first = start if start.day == 1 else _next_month(start)
    last_end = end if _next_month(end) - _ONE_DAY == end else _month_start(end) - _ONE_DAY
    if first > last_end:
        return None, [(start, end)]
    days = []
    if start < first:
        days.append((start, first - _ONE_DAY))
    if end > last_end:
        days.append((last_end + _ONE_DAY, end))
    return (first, _month_start(last_end)), days


@dataclass(frozen=True)
class Piece:
    """A run of received buckets of one level whose months are all settled or all not."""

    months: bool  # True: whole months a..b (first days); False: days a..b
    a: date
    b: date
    settled: bool


def pieces(start: date, end: date, settled: set[date]) -> list[Piece]:
    months, day_ranges = split_period(start, end)
    out: list[Piece] = []
    if months is not None:
        month = months[0]
        while month <= months[1]:
            ok = month in settled
            if out and out[-1].months and out[-1].settled == ok:
                out[-1] = replace(out[-1], b=month)
            else:
                out.append(Piece(True, month, month, ok))
            month = _next_month(month)
    for a, b in day_ranges:
        while a <= b:  # one piece per month, so each has one settledness
            last = min(b, _next_month(a) - _ONE_DAY)
            out.append(Piece(False, a, last, _month_start(a) in settled))
            a = last + _ONE_DAY
    return out


class _Params:
    def __init__(self) -> None:
        self.values: list[object] = []

    def __call__(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _urges(condition: str) -> str:
    """How many of a case's urge instants (a JSON list) meet ``condition`` on ``{u}``."""
    return (f"(SELECT count(*) FROM jsonb_array_elements_text(e_urges) AS x(u) "
            f"WHERE {condition.format(u='u::timestamptz')})")


def _zeros_except(values: dict[int, str]) -> str:
    return ", ".join(values.get(i, "0") for i in range(N))


class Engine:
    """Builds and runs the SQL for one query on one connection (any search_path)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def run(self, q: StatsQuery) -> Result:
        day = local_date(q.as_of)
        if q.start > day:
            return {}
        q = replace(q, end=min(q.end, day))
        dims = {dim for dim, _ in q.filters.items()}
        if q.group in DIMENSIONS:
            dims.add(q.group)
        async with self._conn.transaction(isolation="repeatable_read", readonly=True):
            if len(dims) > 3:
                p = _Params()
                return await self._fetch(self._facts(q, p, [(q.start, q.end)]), p)
            settled = await self._settled(q)
            if len(dims) <= 1:
                return await self._from_cube(q, next(iter(dims), None), settled)
            return await self._from_totals(q, dims, settled)

    async def _settled(self, q: StatsQuery) -> set[date]:
        """The received months of the period whose every point lies at or before as_of."""
        rows = await self._conn.fetch(
            """SELECT m, max(e) FROM (
                   SELECT rb, e_max FROM rmonth_max WHERE rb BETWEEN $1 AND $2
                   UNION ALL
                   SELECT date_trunc('month', r_day::timestamp)::date, e_at FROM journal
                   WHERE r_day BETWEEN $3 AND $4) AS x(m, e)
               GROUP BY m""",
            _month_start(q.start), _month_start(q.end), q.start, q.end)
        latest = {row[0]: row[1] for row in rows}
        out, month = set(), _month_start(q.start)
        while month <= q.end:
            if month not in latest or latest[month] <= q.as_of:
                out.add(month)
            month = _next_month(month)
        return out

    async def _fetch(self, parts: list[str], p: _Params) -> Result:
        sql = (f"SELECT g, {_OUTER} FROM ({' UNION ALL '.join(parts)}) AS u(g, {_ALIASES}) "
               "GROUP BY g")
        rows = await self._conn.fetch(sql, *p.values)
        return {row[0]: [int(v) for v in list(row)[1:]] for row in rows}

    # -- case_fact: exact, for few cases ---------------------------------------------------

    @staticmethod
    def _fact_group(q: StatsQuery, overdue: bool = False) -> str:
        if q.group == "month":
            return _MONTH.format("r_day")
        if q.group == "unit" and overdue:
            return "overdue_unit_key"  # overdue is filed under the unit it went overdue with
        return _FACT_COLUMN[q.group] if q.group else "''"

    @staticmethod
    def _fact_where(q: StatsQuery, p: _Params, a: date, b: date) -> str:
        where = f"counted AND r_day BETWEEN {p(a)} AND {p(b)}"
        for dim, value in q.filters.items():
            where += f" AND {_FACT_COLUMN[dim]} = {p(value)}"
        return where

    def _facts(self, q: StatsQuery, p: _Params, ranges: list[DayRange]) -> list[str]:
        parts = []
        for a, b in ranges:
            t = p(q.as_of)
            where = self._fact_where(q, p, a, b)
            overdue = "0" if q.group == "unit" else f"count(*) FILTER (WHERE e_overdue <= {t})"
            parts.append(f"""SELECT {self._fact_group(q)},
                count(*) FILTER (WHERE received_at <= {t}),
                count(*) FILTER (WHERE e_closed <= {t}),
                count(*) FILTER (WHERE e_closed <= {t} AND on_time),
                count(*) FILTER (WHERE e_closed <= {t} AND eligible),
                count(*) FILTER (WHERE e_feedback <= {t}),
                count(*) FILTER (WHERE e_rated <= {t}),
                count(*) FILTER (WHERE e_rated <= {t} AND rating_class = 2),
                count(*) FILTER (WHERE e_rated <= {t} AND rating_class = 1),
                {overdue},
                coalesce(sum(people) FILTER (WHERE received_at <= {t}), 0),
                coalesce(sum({_urges("{u} <= " + t)}) FILTER (WHERE e_last_urge IS NOT NULL), 0)
                FROM case_fact WHERE {where} GROUP BY 1""")
            if q.group == "unit":
                parts.append(f"SELECT overdue_unit_key, {_zeros_except({8: 'count(*)'})} "
                             f"FROM case_fact WHERE {where} AND e_overdue <= {t} GROUP BY 1")
        return parts

    def _after_cutoff(self, q: StatsQuery, p: _Params, day_end: datetime) -> list[str]:
        """Minus the points of T's day that lie after T (exact, at most one day of points)."""
        t, end = p(q.as_of), p(day_end)
        where = self._fact_where(q, p, q.start, q.end)
        group = self._fact_group(q)

        def part(column: str, values: dict[int, str], grouped: str = group) -> str:
            return (f"SELECT {grouped}, {_zeros_except(values)} FROM case_fact "
                    f"WHERE {where} AND {column} > {t} AND {column} < {end}")

        later_urges = _urges(f"{{u}} > {t} AND {{u}} < {end}")
        return [
            part("received_at", {0: "-1", PEOPLE: "-people"}),
            part("e_closed", {1: "-1", 2: "-(on_time::int)", 3: "-(eligible::int)"}),
            part("e_feedback", {4: "-1"}),
            part("e_rated", {5: "-1", 6: "-((rating_class = 2)::int)",
                             7: "-((rating_class = 1)::int)"}),
            part("e_overdue", {8: "-1"}, self._fact_group(q, overdue=True)),
            # Any urge after T ends after T: the index on the last one finds the few cases.
            (f"SELECT {group}, {_zeros_except({URGES: '-' + later_urges})}"
             f" FROM case_fact WHERE {where} AND e_last_urge > {t}"),
        ]

    # -- aggregates -------------------------------------------------------------------------

    def _journal(self, q: StatsQuery, p: _Params, a: date, b: date,
                 day: date | None) -> str:
        group = (_MONTH.format("r_day") if q.group == "month"
                 else q.group if q.group in DIMENSIONS else "''")
        where = f"r_day BETWEEN {p(a)} AND {p(b)}"
        for dim, value in q.filters.items():
            where += f" AND {dim} = {p(value)}"
        if day is not None:
            where += f" AND e_day <= {p(day)}"
        return f"SELECT {group}, {_SUMS} FROM journal WHERE {where} GROUP BY 1"

    async def _from_cube(self, q: StatsQuery, dim: str | None, settled: set[date]) -> Result:
        p = _Params()
        value = dict(q.filters.items()).get(dim) if dim else None
        where = f"gs = {p(GROUPING_SET[dim] if dim else 0)}"
        where += f" AND k = {p(value)}" if value else ""
        group = (_MONTH.format("rb") if q.group == "month"
                 else "k" if q.group in DIMENSIONS else "''")
        day = local_date(q.as_of)
        day_end = start_of_local_day(day + _ONE_DAY)
        whole_day = q.as_of >= day_end - _MICRO
        month = _month_start(day)
        cutoff: list[str] = []  # built on first use: every $n sent must appear in the SQL
        parts, runs = [], pieces(q.start, q.end, settled)
        for piece in runs:
            if not piece.settled and not cutoff:
                if whole_day and day + _ONE_DAY == _next_month(day):
                    cutoff = [f"el = 1 AND eb <= {p(month)}"]
                else:
                    cutoff = [f"el = 1 AND eb < {p(month)}",
                              f"el = 0 AND eb BETWEEN {p(month)} AND {p(day)}"]
            r = f"rl = {1 if piece.months else 0} AND rb BETWEEN {p(piece.a)} AND {p(piece.b)}"
            for e in (["el = 1"] if piece.settled else cutoff):
                parts.append(f"SELECT {group}, {_SUMS} FROM cube WHERE {where} AND {r} AND {e} "
                             "GROUP BY 1")
        parts.append(self._journal(q, p, q.start, q.end, day))
        if not whole_day and not all(piece.settled for piece in runs):
            parts += self._after_cutoff(q, p, day_end)
        return await self._fetch(parts, p)

    async def _from_totals(self, q: StatsQuery, dims: set[str], settled: set[date]) -> Result:
        p = _Params()
        group = (_MONTH.format("rb") if q.group == "month"
                 else q.group if q.group in DIMENSIONS else "''")
        parts, exact = [], []
        for piece in pieces(q.start, q.end, settled):
            if piece.months and piece.settled:
                where = f"dims = {p(sum(DIM_BITS[d] for d in dims))}"
                for dim, value in q.filters.items():
                    where += f" AND {dim} = {p(value)}"
                parts.append(f"SELECT {group}, {_SUMS} FROM month_totals WHERE {where} "
                             f"AND rb BETWEEN {p(piece.a)} AND {p(piece.b)} GROUP BY 1")
                # Deltas not folded yet; the month is settled, so all of them count.
                parts.append(self._journal(q, p, piece.a, _next_month(piece.b) - _ONE_DAY,
                                           None))
            elif piece.months:
                exact.append((piece.a, _next_month(piece.b) - _ONE_DAY))
            else:
                exact.append((piece.a, piece.b))
        parts += self._facts(q, p, exact)
        return await self._fetch(parts, p) if parts else {}
