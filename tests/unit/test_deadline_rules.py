"""Statutory limits (docs/domain.md §4) and due dates computed against the official calendar.

2027 overlays are HYPOTHETICAL test data, not the official notice.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import (
    LIMITS,
    SHANGHAI,
    CountingMode,
    DayUnit,
    DeadlineKind,
    compute_due,
    local_date,
    overdue_after,
    start_of_local_day,
    warning_instants,
)

CAL = WorkingCalendar()
D = date.fromisoformat
K = DeadlineKind
WORKING = CountingMode.working_days


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the table ---------------------------------------------------------------------------------

TABLE = [
    (K.routing, 15, DayUnit.calendar, "第22条"),
    (K.acceptance, 15, DayUnit.calendar, "第23条"),
    (K.objection, 5, DayUnit.working, "第23条"),
    (K.handling, 60, DayUnit.calendar, "第34条"),
    (K.review_request, 30, DayUnit.calendar, "第35条"),
    (K.review_decision, 30, DayUnit.calendar, "第35条"),
    (K.rereview_request, 30, DayUnit.calendar, "第36条"),
    (K.rereview_decision, 30, DayUnit.calendar, "第36条"),
    # The assigning body's limit: 90 days is only the default a configured length replaces.
    (K.report_back, 90, DayUnit.calendar, "交办机关要求"),
]


@pytest.mark.parametrize(("kind", "days", "unit", "article"), TABLE)
def test_limits_table(kind: DeadlineKind, days: int, unit: DayUnit, article: str) -> None:
    limit = LIMITS[kind]
    assert (limit.kind, limit.days, limit.unit, limit.article) == (kind, days, unit, article)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in limit.description_zh)
    assert limit.description_en.isascii() and limit.description_en


def test_every_kind_has_a_limit_and_kinds_match_the_public_api() -> None:
    assert set(LIMITS) == set(DeadlineKind)
    assert [k.value for k in DeadlineKind] == [
        "routing", "acceptance", "objection", "handling", "review_request",
        "review_decision", "rereview_request", "rereview_decision", "report_back",
    ]


def test_limits_are_read_only() -> None:
    with pytest.raises(TypeError):
        LIMITS[K.handling] = LIMITS[K.routing]  # type: ignore[index]


# --- compute_due, calendar days rolled forward (the default) ----------------------------------

DEFAULT_MODE = [
    (K.routing, "2024-09-20", "2024-10-08"),  # day 15 = 2024-10-05, in 国庆
    (K.acceptance, "2025-01-13", "2025-02-05"),  # day 15 = 2025-01-28, 除夕
    (K.handling, "2024-08-02", "2024-10-08"),  # day 60 = 2024-10-01
    (K.handling, "2024-12-01", "2025-02-05"),  # day 60 = 2025-01-30, in 春节
    (K.handling, "2023-12-14", "2024-02-18"),  # day 60 = 2024-02-12; rolls onto a make-up Sunday
    (K.handling, "2019-08-02", "2019-10-08"),  # day 60 = 2019-10-01
    (K.handling, "2025-08-02", "2025-10-09"),  # day 60 = 2025-10-01, eight-day block
    (K.handling, "2024-03-01", "2024-04-30"),  # day 60 = Tuesday: unchanged
    (K.review_request, "2024-09-01", "2024-10-08"),  # day 30 = 2024-10-01
    (K.review_decision, "2025-08-29", "2025-09-28"),  # day 30 = make-up Sunday: no roll
    (K.rereview_request, "2019-01-05", "2019-02-11"),  # day 30 = 2019-02-04, 春节
    (K.rereview_decision, "2024-03-01", "2024-04-01"),  # day 30 = Sunday 2024-03-31
    (K.objection, "2025-01-24", "2025-02-07"),  # 5 working days across 春节 2025
    (K.objection, "2024-09-27", "2024-10-10"),  # across 国庆 2024
    (K.objection, "2019-09-27", "2019-10-10"),  # across 国庆 2019
    (K.objection, "2024-02-08", "2024-02-21"),  # across 春节 2024
    (K.objection, "2019-02-01", "2019-02-13"),  # across 春节 2019, both make-up days count
    (K.handling, "2018-12-06", "2019-02-11"),  # day 60 = 2019-02-04, 除夕 2019, in 春节
]


@pytest.mark.parametrize(("kind", "start", "due"), DEFAULT_MODE)
def test_compute_due_default_mode(kind: DeadlineKind, start: str, due: str) -> None:
    result = compute_due(kind, D(start), CAL)
    assert result.due_date == D(due)
    assert result.provisional is False
    assert result.kind is kind and result.start == D(start)
    assert result.article == LIMITS[kind].article
    assert result.mode is CountingMode.calendar_roll_forward
    assert result.unit is LIMITS[kind].unit


def test_objection_stays_in_working_days_and_says_so() -> None:
    due = compute_due("objection", D("2025-01-24"), CAL)
    assert (due.unit, due.length_days) == (DayUnit.working, 5)
    assert due.rule == "5 working days counted from the day after the start (第23条)"


# --- extension ----------------------------------------------------------------------------------


def test_extension_of_30_days_counts_90_days_from_acceptance() -> None:
    due = compute_due(K.handling, D("2024-07-03"), CAL, extension_days=30)
    assert due.due_date == D("2024-10-08")  # day 90 = 2024-10-01
    assert (due.length_days, due.extension_days) == (90, 30)
    assert due.rule.startswith("60+30 calendar days")


def test_extension_rolls_only_the_final_day() -> None:
    # Day 60 is Saturday 2025-05-10. Rolling it first (to Monday 05-12) and then adding 30
    # would give 2025-06-11; the rule counts 90 days straight: Monday 2025-06-09.
    assert compute_due(K.handling, D("2025-03-11"), CAL).due_date == D("2025-05-12")
    assert compute_due(K.handling, D("2025-03-11"), CAL, extension_days=30).due_date == D(
        "2025-06-09"
    )


@pytest.mark.parametrize(("kind", "days"), [
    (K.handling, 31), (K.handling, -1), (K.routing, 10), (K.objection, 1),
])
def test_invalid_extensions_are_refused(kind: DeadlineKind, days: int) -> None:
    with pytest.raises(ValueError):
        compute_due(kind, D("2024-03-01"), CAL, extension_days=days)


def test_unknown_kind_or_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        compute_due("closing", D("2024-03-01"), CAL)
    with pytest.raises(ValueError):
        compute_due(K.handling, D("2024-03-01"), CAL, mode="lunar")


def test_a_datetime_start_is_refused() -> None:
    with pytest.raises(TypeError):
        compute_due(K.handling, datetime(2024, 3, 1, tzinfo=UTC), CAL)


def test_due_is_frozen() -> None:
    due = compute_due(K.handling, D("2024-03-01"), CAL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        due.due_date = D("2024-05-01")  # type: ignore[misc]


# --- working_days mode --------------------------------------------------------------------------

WORKING_MODE = [
    (K.routing, "2024-09-20", 0, "2024-10-16"),  # both 国庆 make-up days count
    (K.objection, "2025-01-24", 0, "2025-02-07"),  # same as the default mode
    (K.handling, "2024-03-01", 0, "2024-05-28"),
    (K.handling, "2024-03-01", 30, "2024-07-10"),
    (K.review_request, "2025-09-15", 0, "2025-10-31"),
]


@pytest.mark.parametrize(("kind", "start", "extension", "due"), WORKING_MODE)
def test_working_days_mode(kind: DeadlineKind, start: str, extension: int, due: str) -> None:
    result = compute_due(kind, D(start), CAL, WORKING, extension_days=extension)
    assert result.due_date == D(due)
    assert (result.unit, result.mode) == (DayUnit.working, WORKING)
    assert result.length_days == LIMITS[kind].days + extension


def test_working_days_mode_differs_from_the_default() -> None:
    default = compute_due(K.handling, D("2024-03-01"), CAL)
    working = compute_due(K.handling, D("2024-03-01"), CAL, "working_days")
    assert (default.due_date, working.due_date) == (D("2024-04-30"), D("2024-05-28"))


# --- a year without calendar data ---------------------------------------------------------------


def test_due_in_a_year_without_data_is_provisional_until_the_overlay_arrives() -> None:
    before = compute_due(K.handling, D("2026-11-02"), CAL)  # day 60 = Friday 2027-01-01
    assert (before.due_date, before.provisional) == (D("2027-01-01"), True)

    cal = CAL.with_overlay({2027: {"holidays": ["2027-01-01"], "workdays": []}})  # hypothetical
    after = compute_due(K.handling, D("2026-11-02"), cal)
    assert (after.due_date, after.provisional) == (D("2027-01-04"), False)


def test_overlay_without_a_holiday_on_the_due_date_only_drops_provisional() -> None:
    cal = CAL.with_overlay({2027: {"holidays": [], "workdays": []}})
    before = compute_due(K.routing, D("2027-03-01"), CAL)
    after = compute_due(K.routing, D("2027-03-01"), cal)
    assert (before.due_date, before.provisional) == (D("2027-03-16"), True)
    assert (after.due_date, after.provisional) == (D("2027-03-16"), False)


def test_working_days_into_a_year_without_data_are_provisional() -> None:
    due = compute_due(K.objection, D("2026-12-29"), CAL)
    assert (due.due_date, due.provisional) == (D("2027-01-05"), True)


# --- local dates and instants -------------------------------------------------------------------

LOCAL_DATES = [
    (utc("2024-09-30T15:59:59"), "2024-09-30"),
    (utc("2024-09-30T16:00:00"), "2024-10-01"),  # midnight in Shanghai
    (utc("2024-12-31T20:00:00"), "2025-01-01"),  # a new year in Shanghai, not yet in UTC
    (datetime(2024, 10, 1, 0, 30, tzinfo=SHANGHAI), "2024-10-01"),
    (datetime(2024, 9, 30, 11, 30, tzinfo=timezone(timedelta(hours=-5))), "2024-10-01"),
]


@pytest.mark.parametrize(("instant", "expected"), LOCAL_DATES)
def test_local_date(instant: datetime, expected: str) -> None:
    assert local_date(instant) == D(expected)


def test_local_date_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        local_date(datetime(2024, 10, 1, 12))


def test_overdue_after_is_the_end_of_the_due_date_in_shanghai() -> None:
    assert overdue_after(D("2024-10-08")) == utc("2024-10-08T16:00:00")
    assert overdue_after(D("2024-12-31")) == datetime(2025, 1, 1, tzinfo=SHANGHAI)
    assert local_date(overdue_after(D("2024-10-08")) - timedelta(microseconds=1)) == D(
        "2024-10-08"
    )


def test_warning_instants() -> None:
    assert warning_instants(D("2024-10-08")) == (
        utc("2024-09-30T16:00:00"),  # 00:00 2024-10-01 Shanghai, 7 days before
        utc("2024-10-04T16:00:00"),  # 00:00 2024-10-05 Shanghai, 3 days before
    )
    assert warning_instants(D("2024-10-08"), (1, 3, 3)) == (
        start_of_local_day(D("2024-10-05")),
        start_of_local_day(D("2024-10-07")),
    )
    with pytest.raises(ValueError):
        warning_instants(D("2024-10-08"), (-1,))
