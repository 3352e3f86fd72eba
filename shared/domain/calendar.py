"""The working-day calendar that statutory time limits are counted against (docs/domain.md §4).

Why this module exists: a calendar-day limit whose last day is not a working day moves to the
next working day, and the 5-day objection limit counts working days only. Whether a day is a
working day is set each year by the State Council notice: public holidays (which may cover
weekend days) and weekend days made working days (调休). The `chinesecalendar` library ships
those notices for 2004–2026. For a later year operators add the notice as an *overlay*; until
they do, only weekends count as days off and every result that consulted such a year is flagged
provisional, so the service knows which due dates to recompute once the overlay arrives.

Pure domain code: no I/O except `load_overlay`, which reads one YAML file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import chinese_calendar
import yaml

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5  # date.weekday(): Monday is 0, so 5 and 6 are the weekend

__all__ = [
    "Counted",
    "OverlayError",
    "WorkingCalendar",
    "YearDays",
    "load_overlay",
    "parse_overlay",
]


class OverlayError(ValueError):
    """The operators' calendar overlay is malformed; the message says where and why."""


class Counted(NamedTuple):
    """A counted date and whether it rests on a year without official calendar data."""

    day: date
    provisional: bool


def _is_weekend(day: date) -> bool:
    return day.weekday() >= _SATURDAY


@dataclass(frozen=True, slots=True)
class YearDays:
    """One year's official notice: the exceptions to "Monday–Friday work, weekends off".

    `holidays` are days off (they may include the weekend days inside a holiday block);
    `workdays` are weekend days that are working days (调休). Validated on construction so a
    calendar can never hold a contradictory year.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]

    def __post_init__(self) -> None:
        for field, days in (("holidays", self.holidays), ("workdays", self.workdays)):
            for value in days:
                if isinstance(value, datetime) or not isinstance(value, date):
                    raise OverlayError(f"{self.year}.{field}: {value!r} is not a date")
            for day in sorted(days):
                if day.year != self.year:
                    # Holiday blocks can straddle New Year (2018-12-30..2019-01-01); such a
                    # date belongs under the year it falls in, not the year of the notice.
                    raise OverlayError(
                        f"{self.year}.{field}: {day.isoformat()} is not in {self.year}; "
                        f"list it under {day.year}"
                    )
        both = sorted(self.holidays & self.workdays)
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise OverlayError(f"{self.year}: listed both as holiday and as workday: {listed}")
        weekdays = sorted(d for d in self.workdays if not _is_weekend(d))
        if weekdays:
            # A make-up working day on a weekday changes nothing, so it is almost surely a
            # typo for another date; refuse it rather than silently ignore it.
            listed = ", ".join(f"{d.isoformat()} ({d.strftime('%A')})" for d in weekdays)
            raise OverlayError(
                f"{self.year}.workdays: not a weekend day: {listed}; workdays lists only "
                "weekend days made working days (调休)"
            )


# What `WorkingCalendar` and `with_overlay` accept for one year: a validated `YearDays`, or the
# plain form of the YAML file ({"holidays": [...], "workdays": [...]}, ISO strings allowed).
YearEntry = YearDays | Mapping[str, Any]
OverlayInput = Mapping[int, YearEntry]


def _parse_day(value: object, where: str) -> date:
    if isinstance(value, datetime):
        raise OverlayError(f"{where}: {value!r} has a time of day; give a date (YYYY-MM-DD)")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise OverlayError(f"{where}: {value!r} is not a date (YYYY-MM-DD)")


def _parse_year_key(key: object) -> int:
    # bool is an int subclass, and YAML reads `yes:` as True: refuse it explicitly.
    if isinstance(key, int) and not isinstance(key, bool):
        year = key
    elif isinstance(key, str) and key.strip().isdigit():
        year = int(key)
    else:
        raise OverlayError(f"{key!r} is not a year")
    if not 1949 <= year <= 9998:  # 9998: leaves room for rolling into the next year
        raise OverlayError(f"{year} is out of range")
    return year


def _year_days(year: int, entry: YearEntry) -> YearDays:
    if isinstance(entry, YearDays):
        if entry.year != year:
            raise OverlayError(f"{year}: entry is for {entry.year}")
        return entry
    if not isinstance(entry, Mapping):
        raise OverlayError(f"{year}: expected a mapping with 'holidays' and 'workdays'")
    unknown = sorted(str(k) for k in entry if k not in ("holidays", "workdays"))
    if unknown:
        raise OverlayError(f"{year}: unknown key(s) {', '.join(unknown)}; "
                           "expected 'holidays' and 'workdays'")
    parsed: dict[str, frozenset[date]] = {}
    for field in ("holidays", "workdays"):
        # Both keys are required so that a half-written year cannot silently count as known
        # (which would drop the provisional flag); an explicit empty list is fine.
        if field not in entry:
            raise OverlayError(f"{year}: missing '{field}' (use [] if there are none)")
        raw = entry[field]
        if raw is None:
            raw = []
        if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
            raise OverlayError(f"{year}.{field}: expected a list of dates")
        parsed[field] = frozenset(_parse_day(v, f"{year}.{field}") for v in raw)
    return YearDays(year, parsed["holidays"], parsed["workdays"])


def _normalize(overlay: OverlayInput) -> dict[int, YearDays]:
    result: dict[int, YearDays] = {}
    for key, entry in overlay.items():
        try:
            year = _parse_year_key(key)
        except OverlayError as exc:
            raise OverlayError(f"years: {exc}") from None
        if year in result:
            raise OverlayError(f"years: {year} is listed twice")
        try:
            result[year] = _year_days(year, entry)
        except OverlayError as exc:
            # The messages start with the year, giving paths like "years.2027.holidays: ...".
            raise OverlayError(f"years.{exc}") from None
    return result


def parse_overlay(document: object, *, source: str = "overlay") -> dict[int, YearDays]:
    """Validate a parsed overlay document: ``{"years": {2027: {"holidays": [...], ...}}}``.

    An empty document or an empty ``years`` means "no overlay". Errors name `source`.
    """
    if document is None:
        return {}
    if not isinstance(document, Mapping) or set(document) != {"years"}:
        raise OverlayError(f"{source}: expected a mapping with the single top-level key 'years'")
    years = document["years"]
    if years is None:
        return {}
    if not isinstance(years, Mapping):
        raise OverlayError(f"{source}: 'years' must map each year to its holidays and workdays")
    try:
        return _normalize(years)
    except OverlayError as exc:
        raise OverlayError(f"{source}: {exc}") from None


def load_overlay(path: str | os.PathLike[str]) -> dict[int, YearDays]:
    """Read and validate an overlay YAML file (format in `parse_overlay`)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OverlayError(f"{path}: not valid YAML: {exc}") from exc
    except ValueError as exc:
        # PyYAML builds dates while parsing and lets date() errors (2027-02-30) escape.
        raise OverlayError(f"{path}: invalid value: {exc}") from exc
    return parse_overlay(document, source=str(path))


@cache
def _library_years() -> Mapping[int, YearDays]:
    """The library's data regrouped per year, built once: lookups are then set membership.

    Read from the library's published tables (exported in its ``__all__``) instead of calling
    `is_workday` per day, which rescans its whole table on every call to check the year range.
    Every year between the first and last year in the tables counts as covered, exactly as the
    library's own range check does.
    """
    holidays: dict[int, set[date]] = {}
    workdays: dict[int, set[date]] = {}
    for day in chinese_calendar.holidays:
        holidays.setdefault(day.year, set()).add(day)
    for day in chinese_calendar.workdays:
        workdays.setdefault(day.year, set()).add(day)
    first, last = min(holidays), max(holidays)
    return MappingProxyType({
        year: YearDays(
            year, frozenset(holidays.get(year, ())), frozenset(workdays.get(year, ()))
        )
        for year in range(first, last + 1)
    })


def _require_date(value: object, name: str) -> date:
    # datetime is a subclass of date; accepting one would silently use its (maybe UTC) date.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a local date, not {type(value).__name__}; "
                        "convert instants with rules.local_date()")
    return value


def _require_count(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, not {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return n


class WorkingCalendar:
    """Immutable working-day calendar: library data for 2004–2026 plus an operator overlay.

    For each year the overlay lists, its entry *replaces* the library's data for that year
    (so operators can also correct the library). A year known to neither counts weekends only.
    """

    __slots__ = ("_overlay", "_years")

    _overlay: Mapping[int, YearDays]
    _years: Mapping[int, YearDays]

    def __init__(self, overlay: OverlayInput | None = None) -> None:
        try:
            normalized = _normalize(overlay or {})
        except OverlayError as exc:
            raise OverlayError(f"overlay: {exc}") from None
        years = dict(_library_years())
        years.update(normalized)
        object.__setattr__(self, "_overlay", MappingProxyType(normalized))
        object.__setattr__(self, "_years", MappingProxyType(years))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("WorkingCalendar is immutable; use with_overlay()")

    def __repr__(self) -> str:
        return f"WorkingCalendar(overlay_years={sorted(self._overlay)})"

    @property
    def overlay(self) -> Mapping[int, YearDays]:
        """The operator overlay in effect (read-only), e.g. to show or persist it."""
        return self._overlay

    def with_overlay(self, overlay: OverlayInput) -> WorkingCalendar:
        """A new calendar with `overlay` added; for a year listed in both, the new entry wins."""
        merged: dict[int, YearEntry] = dict(self._overlay)
        try:
            merged.update(_normalize(overlay))
        except OverlayError as exc:
            raise OverlayError(f"overlay: {exc}") from None
        return WorkingCalendar(merged)

    def has_data(self, year: int) -> bool:
        """Whether the official calendar of `year` is known (library or overlay)."""
        return year in self._years

    def year_days(self, year: int) -> YearDays | None:
        """The official data in force for `year` (overlay, else library), None without data."""
        return self._years.get(year)

    def _classify(self, day: date) -> tuple[bool, bool]:
        """(is it a working day, is that answer backed by official data)."""
        data = self._years.get(day.year)
        if data is None:
            return not _is_weekend(day), False
        if day in data.workdays:
            return True, True
        return not _is_weekend(day) and day not in data.holidays, True

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day; for a year without data, any Monday–Friday is."""
        return self._classify(_require_date(day, "day"))[0]

    def _roll(self, day: date, provisional: bool) -> Counted:
        # Terminates: a year without data has weekdays, and the overlay lists finitely many
        # years, so a working day always comes.
        while True:
            working, known = self._classify(day)
            provisional = provisional or not known
            if working:
                return Counted(day, provisional)
            day += _ONE_DAY

    def roll_forward(self, day: date) -> Counted:
        """`day` itself if it is a working day, else the next working day after it."""
        return self._roll(_require_date(day, "day"), False)

    def next_working_day(self, day: date) -> Counted:
        """The first working day strictly after `day`."""
        return self._roll(_require_date(day, "day") + _ONE_DAY, False)

    def add_calendar_days_rolled(self, start: date, n: int) -> Counted:
        """Day `n` counting from the day after `start`, rolled forward to a working day.

        Only the last day and the days it rolls over are consulted, so only their years can
        make the result provisional.
        """
        start = _require_date(start, "start")
        return self._roll(start + timedelta(days=_require_count(n)), False)

    def add_working_days(self, start: date, n: int) -> Counted:
        """The `n`-th working day after `start` (the start day itself never counts)."""
        day = _require_date(start, "start")
        remaining = _require_count(n)
        provisional = False
        while remaining:
            day += _ONE_DAY
            working, known = self._classify(day)
            provisional = provisional or not known
            if working:
                remaining -= 1
        return Counted(day, provisional)
