"""Statutory time limits of the 《信访工作条例》 (2022) as data, and how due dates follow
(docs/domain.md §4).

The limits live in one table (`LIMITS`) so that the article and wording shown to staff, the
number of days and the counting unit cannot drift apart. `compute_due` is pure: the same kind,
start date, calendar and mode always give the same `Due`, which is what lets the service
recompute open deadlines when operators add a year's calendar and keep the old due date in the
case history.

Dates here are Asia/Shanghai local dates; `local_date`, `overdue_after` and `warning_instants`
are the only bridges between those dates and aware instants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.domain.calendar import WorkingCalendar

__all__ = [
    "CONFIGURED_LENGTH_KINDS",
    "LIMITS",
    "MAX_EXTENSION_DAYS",
    "SHANGHAI",
    "CountingMode",
    "DayUnit",
    "DeadlineKind",
    "Due",
    "Limit",
    "compute_due",
    "hearing_days",
    "local_date",
    "overdue_after",
    "start_of_local_day",
    "warning_instants",
]


def _shanghai() -> tzinfo:
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:
        # Slim images may lack a tz database. China has kept UTC+8 without DST since 1991,
        # so the fixed offset gives the same local dates for every case this system sees.
        return timezone(timedelta(hours=8), "Asia/Shanghai")


SHANGHAI: Final[tzinfo] = _shanghai()

MAX_EXTENSION_DAYS: Final = 30  # Art. 34: one extension of at most 30 days


class DeadlineKind(StrEnum):
    """The deadlines a case can carry; values are the public API's `kind` strings."""

    routing = "routing"
    acceptance = "acceptance"
    objection = "objection"
    handling = "handling"
    review_request = "review_request"
    review_decision = "review_decision"
    rereview_request = "rereview_request"
    rereview_decision = "rereview_decision"
    # The report back to the body that handed the case over (交办): its length is that body's
    # own limit (configuration), not the law's.
    report_back = "report_back"


# Kinds whose length each case carries (``compute_due(..., days=N)``); LIMITS holds a default.
CONFIGURED_LENGTH_KINDS = frozenset({DeadlineKind.report_back})


class DayUnit(StrEnum):
    """What one unit of a limit's length counts."""

    calendar = "calendar"
    working = "working"


class CountingMode(StrEnum):
    """A bureau's counting rule (configuration, docs/domain.md §4).

    `calendar_roll_forward`: calendar days, a last day that is not a working day moves to the
    next working day; limits defined in working days (the objection) stay in working days.
    `working_days`: every limit is counted in working days.
    """

    calendar_roll_forward = "calendar_roll_forward"
    working_days = "working_days"


@dataclass(frozen=True, slots=True)
class Limit:
    """One statutory limit: its length, unit, article and what starts its clock."""

    kind: DeadlineKind
    days: int
    unit: DayUnit
    article: str
    starts_on: str  # the event that starts the clock, as in docs/domain.md §4's "starts" column
    description_zh: str
    description_en: str


def _limit(kind: DeadlineKind, days: int, unit: DayUnit, article: int, starts_on: str,
           zh: str, en: str) -> tuple[DeadlineKind, Limit]:
    return kind, Limit(kind, days, unit, f"第{article}条", starts_on, zh, en)


_K, _CAL, _WORK = DeadlineKind, DayUnit.calendar, DayUnit.working

# Read-only so that no caller can change the law for everyone else at run time.
LIMITS: Final[Mapping[DeadlineKind, Limit]] = MappingProxyType(dict([
    _limit(_K.routing, 15, _CAL, 22, "receipt",
           "自收到信访事项之日起15日内登记并转送、交办",
           "Register and route (transfer or assign) within 15 days of receipt"),
    _limit(_K.acceptance, 15, _CAL, 23, "receipt",
           "自收到信访事项（或转送、交办）之日起15日内告知信访人是否受理",
           "Tell the petitioner within 15 days of receipt (of the petition or the transfer) "
           "whether the matter is accepted"),
    _limit(_K.objection, 5, _WORK, 23, "receipt of the transfer",
           "认为转送、交办的信访事项不属于本单位职责的，自收到之日起5个工作日内提出异议",
           "A unit that holds a transferred matter outside its remit objects within 5 working "
           "days of receiving it"),
    _limit(_K.handling, 60, _CAL, 34, "acceptance",
           "自受理之日起60日内办结并书面答复；经批准可延长，延长期限不超过30日",
           "Handle and answer in writing within 60 days of acceptance; an approved extension "
           "adds at most 30 days"),
    _limit(_K.review_request, 30, _CAL, 35, "receipt of the answer",
           "对处理意见不服的，自收到书面答复之日起30日内请求复查",
           "A petitioner who disputes the answer may request a review within 30 days of "
           "receiving it"),
    _limit(_K.review_decision, 30, _CAL, 35, "review request",
           "自收到复查请求之日起30日内提出复查意见",
           "Give the review decision within 30 days of the review request"),
    _limit(_K.rereview_request, 30, _CAL, 36, "receipt of the review decision",
           "对复查意见不服的，自收到复查意见之日起30日内请求复核",
           "A petitioner who disputes the review decision may request a re-review within 30 "
           "days of receiving it"),
    _limit(_K.rereview_decision, 30, _CAL, 36, "re-review request",
           "自收到复核请求之日起30日内提出复核意见（听证时间不计入）",
           "Give the re-review decision within 30 days of the request (hearing time excluded)"),
    (_K.report_back, Limit(
        _K.report_back, 90, _CAL, "交办机关要求", "receipt of the hand-off",
        "在交办机关规定的期限内办结并向交办机关报告办理结果（办结报告）",
        "Report the outcome to the body that handed the case over, within that body's limit")),
]))


# Art. 36: 听证所需时间不计算在期限内 — the re-review decision limit excludes hearing time.
PAUSABLE: Final = frozenset({DeadlineKind.rereview_decision})


def counted_unit(kind: DeadlineKind | str, mode: CountingMode | str) -> DayUnit:
    """What one day of ``kind``'s limit counts under ``mode``."""
    if LIMITS[DeadlineKind(kind)].unit is DayUnit.working or (
            CountingMode(mode) is CountingMode.working_days):
        return DayUnit.working
    return DayUnit.calendar


def hearing_days(spans: Iterable[tuple[date, date]], calendar: WorkingCalendar,
                 unit: DayUnit) -> int:
    """The days hearings took, excluded from the limit: every local date from a hearing's
    first day to its last, both included, counted once however many hearings overlap it; in
    working days only the working days among them (a holiday inside a hearing was not going
    to count anyway)."""
    days: set[date] = set()
    for first, last in spans:
        first = _reject_datetime(first, "first")
        last = _reject_datetime(last, "last")
        if last < first:
            raise ValueError(f"a hearing cannot end ({last}) before it starts ({first})")
        days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    if unit is DayUnit.working:
        return sum(1 for day in days if calendar.is_working_day(day))
    return len(days)


@dataclass(frozen=True, slots=True)
class Due:
    """A computed due date with everything the case history must keep about how it was set."""

    kind: DeadlineKind
    start: date
    due_date: date
    provisional: bool  # a year consulted had no official calendar: recompute when it arrives
    article: str
    unit: DayUnit  # the unit actually counted (depends on the mode)
    length_days: int  # including any extension
    extension_days: int
    mode: CountingMode
    rule: str  # one line saying how the date was counted
    description_zh: str
    description_en: str
    paused_days: int = 0  # hearing days excluded (re-review decision, Art. 36)


def _reject_datetime(value: object, name: str) -> date:
    # datetime is a date subclass; its own date may be the UTC one, a day off from Shanghai.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must be a local date, not {type(value).__name__}; "
                        "use local_date() for instants")
    return value


def compute_due(
    kind: DeadlineKind | str,
    start: date,
    calendar: WorkingCalendar,
    mode: CountingMode | str = CountingMode.calendar_roll_forward,
    extension_days: int = 0,
    days: int | None = None,
    paused_days: int = 0,
) -> Due:
    """The due date of `kind` for a clock started on the local date `start`.

    Days are counted from the day after `start`. An extension of N days (handling only,
    1..30) makes the limit 60 + N days from acceptance; the roll-forward applies to that final
    day only, never to the original 60th day. `days` gives the length of a kind whose length is
    configuration (the report back, 1..366); other kinds' lengths are the law's.
    `paused_days` (the re-review decision only, counted by `hearing_days`) lengthen the limit
    the same way: the roll-forward applies to the day reached after them, not to the first due
    date plus the pause.
    """
    kind = DeadlineKind(kind)
    mode = CountingMode(mode)
    start = _reject_datetime(start, "start")
    if isinstance(extension_days, bool) or not isinstance(extension_days, int):
        raise TypeError("extension_days must be an int")
    if extension_days:
        if kind is not DeadlineKind.handling:
            raise ValueError(f"only the handling limit can be extended, not {kind.value}")
        if not 1 <= extension_days <= MAX_EXTENSION_DAYS:
            raise ValueError(
                f"an extension is 1..{MAX_EXTENSION_DAYS} days, got {extension_days}"
            )

    if isinstance(paused_days, bool) or not isinstance(paused_days, int) or paused_days < 0:
        raise ValueError("paused_days must be a non-negative int")
    if paused_days and kind not in PAUSABLE:
        raise ValueError(f"only hearing time of a re-review pauses a limit, not {kind.value}")

    limit = LIMITS[kind]
    base = limit.days
    if days is not None:
        if kind not in CONFIGURED_LENGTH_KINDS:
            raise ValueError(f"the length of {kind.value} is the law's, not configuration")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
            raise ValueError(f"a configured limit is 1..366 days, got {days!r}")
        base = days
    length = base + extension_days + paused_days
    length_text = f"{base}+{extension_days}" if extension_days else str(base)
    if paused_days:
        length_text += f"+{paused_days} (hearing)"
    if limit.unit is DayUnit.working or mode is CountingMode.working_days:
        unit = DayUnit.working
        due_date, provisional = calendar.add_working_days(start, length)
        rule = f"{length_text} working days counted from the day after the start"
    else:
        unit = DayUnit.calendar
        due_date, provisional = calendar.add_calendar_days_rolled(start, length)
        rule = (f"{length_text} calendar days counted from the day after the start, "
                "last day rolled forward to the next working day")
    return Due(
        kind=kind,
        start=start,
        due_date=due_date,
        provisional=provisional,
        article=limit.article,
        unit=unit,
        length_days=length,
        extension_days=extension_days,
        mode=mode,
        rule=f"{rule} ({limit.article})",
        description_zh=limit.description_zh,
        description_en=limit.description_en,
        paused_days=paused_days,
    )


def local_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware instant (naive instants are ambiguous)."""
    if not isinstance(instant, datetime):
        raise TypeError(f"expected a datetime, not {type(instant).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: give it a UTC offset")
    return instant.astimezone(SHANGHAI).date()


def start_of_local_day(day: date) -> datetime:
    """The aware instant 00:00 Asia/Shanghai on `day`."""
    return datetime.combine(_reject_datetime(day, "day"), time(0), tzinfo=SHANGHAI)


def overdue_after(due_date: date) -> datetime:
    """The instant a deadline becomes overdue: the end of its due date, i.e. 00:00 Asia/Shanghai
    of the next day. A deadline is overdue when now >= this instant."""
    return start_of_local_day(_reject_datetime(due_date, "due_date") + timedelta(days=1))


def warning_instants(due_date: date, days_before: Iterable[int] = (7, 3)) -> tuple[datetime, ...]:
    """The instants at which warnings go out: 00:00 Asia/Shanghai `n` days before the due date,
    for each n, in chronological order and without repeats."""
    due_date = _reject_datetime(due_date, "due_date")
    offsets = set()
    for n in days_before:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"days_before must be non-negative integers, got {n!r}")
        offsets.add(n)
    return tuple(start_of_local_day(due_date - timedelta(days=n))
                 for n in sorted(offsets, reverse=True))
