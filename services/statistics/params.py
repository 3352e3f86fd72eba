"""Query parameters of the statistics API, checked before anything is read (pure).

Every problem is reported at once, each naming its parameter, as docs/domain.md §6's 422 body
``{"errors": [{"field", "message"}]}``. Dates are ``YYYY-MM-DD`` in Asia/Shanghai; ``as_of`` is an
RFC 3339 instant with an offset, or a date meaning the end of that day.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.statistics.figures import (
    BREAKDOWN_DIMENSIONS,
    previous_period,
    quarter_bounds,
    same_period_last_year,
)
from services.statistics.queries import Filters, StatsQuery
from shared.domain.limits import local_date, start_of_local_day
from shared.domain.vocab import Vocabulary

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})$")
COMPARE = ("yoy", "previous")
FORMATS = ("csv", "xlsx")
_STATS_PARAMS = ("from", "to", "as_of", "channel", "jurisdiction", "category", "compare")


class ParamErrors(ValueError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


class _Collector:
    def __init__(self, params: Mapping[str, Sequence[str]], allowed: Sequence[str]) -> None:
        self.params = params
        self.errors: list[dict[str, str]] = []
        for name in params:
            if name not in allowed:
                self.fail(name, f"unknown parameter; expected one of {', '.join(allowed)}")

    def fail(self, field: str, message: str) -> None:
        self.errors.append({"field": field, "message": message})

    def one(self, name: str) -> str | None:
        values = self.params.get(name) or []
        if len(values) > 1:
            self.fail(name, "give this parameter once")
            return None
        value = values[0].strip() if values else ""
        return value or None

    def check(self) -> None:
        if self.errors:
            raise ParamErrors(self.errors)


def end_of_day(day: date) -> datetime:
    """The last instant of a local day: ``as_of=2025-03-31`` counts everything on the 31st."""
    return start_of_local_day(day + timedelta(days=1)) - timedelta(microseconds=1)


def parse_date(c: _Collector, name: str) -> date | None:
    value = c.one(name)
    if value is None:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        c.fail(name, f"not a date (YYYY-MM-DD): {value!r}")
        return None


def parse_as_of(c: _Collector, now: datetime) -> datetime:
    value = c.one("as_of")
    if value is None:
        return now
    try:
        if _DATE.match(value):
            return end_of_day(date.fromisoformat(value))
        if not _INSTANT.match(value):
            raise ValueError
        return datetime.fromisoformat(value.replace("z", "Z"))
    except (ValueError, OverflowError):
        c.fail("as_of", "not an RFC 3339 time with an offset (2025-03-31T18:00:00+08:00) "
                        f"nor a date (YYYY-MM-DD): {value!r}")
        return now


def _filters(c: _Collector, vocab: Vocabulary) -> Filters:
    found: dict[str, str | None] = {}
    for name, terms in (("channel", vocab.channels), ("jurisdiction", vocab.jurisdictions),
                        ("category", vocab.categories)):
        value = c.one(name)
        code = terms.resolve(value) if value is not None else None
        if value is not None and code is None:
            c.fail(name, f"unknown {name} {value!r}; use a code or its Chinese name "
                         f"({', '.join(terms.codes)})")
        found[name] = code
    return Filters(**found)


@dataclass(frozen=True)
class StatsRequest:
    query: StatsQuery
    compare: str | None


def parse_stats(params: Mapping[str, Sequence[str]], *, now: datetime, vocab: Vocabulary,
                breakdown: bool = False) -> StatsRequest:
    c = _Collector(params, (*_STATS_PARAMS, "by") if breakdown else _STATS_PARAMS)
    as_of = parse_as_of(c, now)
    start, end = parse_date(c, "from"), parse_date(c, "to")
    group = None
    if breakdown:
        group = c.one("by")
        if group not in BREAKDOWN_DIMENSIONS:
            c.fail("by", f"must be one of {', '.join(BREAKDOWN_DIMENSIONS)}"
                         + (f", not {group!r}" if group else ""))
    compare = c.one("compare")
    if compare is not None and compare not in COMPARE:
        c.fail("compare", f"must be yoy (同比) or previous (环比), not {compare!r}")
    filters = _filters(c, vocab)
    c.check()
    try:
        end = end or local_date(as_of)
        start = start or date(end.year, 1, 1)
    except (ValueError, OverflowError):
        c.fail("as_of", "out of range")
        c.check()
    assert start is not None and end is not None
    if start > end:
        c.fail("from", f"{start} is after to ({end})")
    c.check()
    return StatsRequest(StatsQuery(start, end, as_of, filters, group), compare)


def baseline(q: StatsQuery, compare: str) -> StatsQuery:
    """The comparison query: 同比 the same period a year earlier, 环比 the previous period.

    The baseline is counted as of the same point relative to its period (``as_of`` moved back
    by the distance between the periods' ends when ``as_of`` lies after the period, else between
    their starts), so both periods have had the same time to close their cases and a past
    report's comparison never changes.
    """
    try:
        start, end = (same_period_last_year if compare == "yoy" else previous_period)(
            q.start, q.end)
        if q.as_of >= end_of_day(q.end):
            shift = end_of_day(q.end) - end_of_day(end)
        else:
            shift = start_of_local_day(q.start) - start_of_local_day(start)
        return StatsQuery(start, end, q.as_of - shift, q.filters, q.group)
    except (ValueError, OverflowError) as exc:
        raise ParamErrors([{"field": "compare", "message": f"no baseline period: {exc}"}]) \
            from exc


@dataclass(frozen=True)
class ReportRequest:
    year: int
    quarter: int
    format: str
    as_of: datetime


def parse_report(params: Mapping[str, Sequence[str]], *, now: datetime) -> ReportRequest:
    """``as_of`` defaults to the end of the quarter once it is over (so the report of a past
    quarter is the same whenever it is fetched), else to now."""
    c = _Collector(params, ("year", "quarter", "format", "as_of"))
    numbers: dict[str, int] = {}
    for name, low, high in (("year", 2, 9998), ("quarter", 1, 4)):
        value = c.one(name)
        if value is None:
            c.fail(name, "required")
        elif not value.isdigit() or not low <= int(value) <= high:
            c.fail(name, f"must be a whole number from {low} to {high}, not {value!r}")
        else:
            numbers[name] = int(value)
    fmt = c.one("format") or "csv"
    if fmt not in FORMATS:
        c.fail("format", f"must be csv or xlsx, not {fmt!r}")
    as_of = parse_as_of(c, now)
    c.check()
    if not (params.get("as_of") or [""])[0].strip():
        as_of = min(now, end_of_day(quarter_bounds(numbers["year"], numbers["quarter"])[1]))
    return ReportRequest(numbers["year"], numbers["quarter"], fmt, as_of)
