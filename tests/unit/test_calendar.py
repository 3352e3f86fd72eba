"""WorkingCalendar: official holidays and make-up working days, counting, overlays.

Expected dates are the State Council notices for 2019, 2024 and 2025 (checked against
chinesecalendar 1.11.0). 2027 overlays below are HYPOTHETICAL test data, not the official notice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from shared.domain.calendar import (
    OverlayError,
    WorkingCalendar,
    YearDays,
    load_overlay,
    parse_overlay,
)

CAL = WorkingCalendar()
D = date.fromisoformat


def _days(first: str, last: str) -> list[date]:
    start, end = D(first), D(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# --- the library data as the calendar sees it ------------------------------------------------


def test_matches_library_for_every_day_it_knows() -> None:
    # Guards the per-year regrouping of the library's tables against its own is_workday.
    for day in _days("2004-01-01", "2026-12-31"):
        assert CAL.is_working_day(day) is chinese_calendar.is_workday(day), day


def test_years_with_data() -> None:
    assert CAL.has_data(2004) and CAL.has_data(2019) and CAL.has_data(2026)
    assert not CAL.has_data(2003)
    assert not CAL.has_data(2027)


MAKE_UP_WORKDAYS = [
    "2019-02-02", "2019-02-03",  # 春节 2019
    "2019-09-29", "2019-10-12",  # 国庆 2019
    "2024-02-04", "2024-02-18",  # 春节 2024
    "2024-09-29", "2024-10-12",  # 国庆 2024
    "2025-01-26", "2025-02-08",  # 春节 2025
    "2025-09-28", "2025-10-11",  # 国庆 + 中秋 2025
]


@pytest.mark.parametrize("day", MAKE_UP_WORKDAYS)
def test_make_up_weekend_days_are_working_days(day: str) -> None:
    assert D(day).weekday() >= 5  # really a weekend day
    assert CAL.is_working_day(D(day))


HOLIDAY_BLOCKS = [
    ("2019-02-04", "2019-02-10"),
    ("2019-10-01", "2019-10-07"),
    ("2024-02-10", "2024-02-17"),
    ("2024-10-01", "2024-10-07"),
    ("2025-01-28", "2025-02-04"),
    ("2025-10-01", "2025-10-08"),
]


@pytest.mark.parametrize(("first", "last"), HOLIDAY_BLOCKS)
def test_holiday_blocks_are_days_off_and_bounded_by_working_days(first: str, last: str) -> None:
    assert not any(CAL.is_working_day(d) for d in _days(first, last))
    assert CAL.is_working_day(D(first) - timedelta(days=1))
    assert CAL.is_working_day(D(last) + timedelta(days=1))


def test_new_years_eve_2024_was_a_working_day_but_2025_was_a_holiday() -> None:
    assert CAL.is_working_day(D("2024-02-09"))  # 除夕 2024, only "encouraged" off
    assert not CAL.is_working_day(D("2025-01-28"))  # 除夕 statutory from 2025


# --- counting --------------------------------------------------------------------------------

CALENDAR_ROLLED = [
    # start, n, due: counted from the day after start, last day rolled to a working day
    ("2019-01-20", 15, "2019-02-11"),  # lands on 2019-02-04 in 春节
    ("2019-01-18", 15, "2019-02-02"),  # lands on a make-up Saturday: no roll
    ("2019-09-16", 15, "2019-10-08"),  # lands on 2019-10-01
    ("2019-09-27", 15, "2019-10-12"),  # make-up Saturday
    ("2024-01-26", 15, "2024-02-18"),  # 2024-02-10 in 春节 rolls onto a make-up Sunday
    ("2024-09-20", 15, "2024-10-08"),  # 2024-10-05 in 国庆
    ("2024-09-14", 15, "2024-09-29"),  # make-up Sunday
    ("2025-01-13", 15, "2025-02-05"),  # 2025-01-28, 除夕
    ("2025-01-11", 15, "2025-01-26"),  # make-up Sunday
    ("2025-09-16", 15, "2025-10-09"),  # 2025-10-01, eight-day block
    ("2025-09-26", 15, "2025-10-11"),  # make-up Saturday
    ("2024-03-01", 15, "2024-03-18"),  # plain Saturday
    ("2024-03-01", 13, "2024-03-14"),  # plain Thursday: unchanged
]


@pytest.mark.parametrize(("start", "n", "due"), CALENDAR_ROLLED)
def test_add_calendar_days_rolled(start: str, n: int, due: str) -> None:
    assert CAL.add_calendar_days_rolled(D(start), n) == (D(due), False)


WORKING_DAYS = [
    ("2019-09-27", 5, "2019-10-10"),  # Sun 9-29 (make-up), Mon 9-30, then 10-08..10-10
    ("2019-10-10", 2, "2019-10-12"),  # Fri 10-11, then the make-up Saturday 10-12
    ("2019-02-01", 5, "2019-02-13"),  # Sat 2-02 and Sun 2-03 (make-up), 春节, 2-11..2-13
    ("2024-02-08", 5, "2024-02-21"),  # Fri 2-09, Sun 2-18 (make-up), 2-19..2-21
    ("2024-09-27", 5, "2024-10-10"),
    ("2025-01-24", 5, "2025-02-07"),  # Sun 1-26 (make-up), Mon 1-27, then 2-05..2-07
    ("2025-09-26", 5, "2025-10-10"),  # Sun 9-28 (make-up), Mon 9-29, Tue 9-30, 10-09, 10-10
    ("2024-09-20", 15, "2024-10-16"),  # includes both make-up days of 2024 国庆
    ("2024-03-04", 1, "2024-03-05"),
    ("2024-03-08", 1, "2024-03-11"),  # Friday → Monday
]


@pytest.mark.parametrize(("start", "n", "due"), WORKING_DAYS)
def test_add_working_days(start: str, n: int, due: str) -> None:
    assert CAL.add_working_days(D(start), n) == (D(due), False)


def test_start_day_never_counts_even_if_it_is_a_working_day() -> None:
    assert CAL.add_working_days(D("2024-03-04"), 1).day == D("2024-03-05")
    assert CAL.add_calendar_days_rolled(D("2024-03-04"), 1).day == D("2024-03-05")


def test_next_working_day_and_roll_forward() -> None:
    assert CAL.next_working_day(D("2024-09-30")) == (D("2024-10-08"), False)
    assert CAL.next_working_day(D("2024-09-28")) == (D("2024-09-29"), False)  # make-up Sunday
    assert CAL.next_working_day(D("2024-10-08")).day == D("2024-10-09")
    assert CAL.roll_forward(D("2024-10-08")).day == D("2024-10-08")
    assert CAL.roll_forward(D("2024-10-03")).day == D("2024-10-08")


@pytest.mark.parametrize("n", [0, -1])
def test_count_must_be_positive(n: int) -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(D("2024-03-04"), n)
    with pytest.raises(ValueError):
        CAL.add_calendar_days_rolled(D("2024-03-04"), n)


def test_datetimes_are_refused_where_a_local_date_is_expected() -> None:
    with pytest.raises(TypeError):
        CAL.add_working_days(datetime(2024, 3, 4, 12), 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        CAL.is_working_day("2024-03-04")  # type: ignore[arg-type]


# --- years without data, and overlays ---------------------------------------------------------

# HYPOTHETICAL 2027 entries for tests only (2027-01-01 is a Friday, 2027-02-20 a Saturday).
OVERLAY_2027 = {
    2027: {
        "holidays": [D("2027-01-01"), *_days("2027-02-06", "2027-02-12")],
        "workdays": [D("2027-02-20")],
    }
}


def test_year_without_data_counts_weekends_only_and_is_provisional() -> None:
    assert CAL.is_working_day(D("2027-01-01"))  # Friday
    assert not CAL.is_working_day(D("2027-01-02"))  # Saturday
    assert CAL.add_calendar_days_rolled(D("2026-12-17"), 15) == (D("2027-01-01"), True)
    assert CAL.add_calendar_days_rolled(D("2026-12-18"), 15) == (D("2027-01-04"), True)
    assert CAL.add_working_days(D("2026-12-30"), 2) == (D("2027-01-01"), True)
    assert CAL.next_working_day(D("2026-12-31")) == (D("2027-01-01"), True)


def test_only_consulted_years_make_a_result_provisional() -> None:
    # Neither the start year nor days skipped by a calendar-day count are consulted.
    assert CAL.add_calendar_days_rolled(D("2026-12-16"), 15) == (D("2026-12-31"), False)
    assert CAL.add_working_days(D("2026-12-28"), 3) == (D("2026-12-31"), False)


def test_overlay_for_a_missing_year_drops_provisional_and_moves_dates() -> None:
    cal = CAL.with_overlay(OVERLAY_2027)
    assert cal.has_data(2027)
    assert cal.add_calendar_days_rolled(D("2026-12-17"), 15) == (D("2027-01-04"), False)
    assert cal.add_working_days(D("2026-12-30"), 2) == (D("2027-01-04"), False)
    assert cal.add_calendar_days_rolled(D("2027-02-05"), 15) == (D("2027-02-20"), False)
    assert cal.add_calendar_days_rolled(D("2027-01-25"), 15) == (D("2027-02-15"), False)
    # the original calendar is untouched
    assert not CAL.has_data(2027)
    assert CAL.add_calendar_days_rolled(D("2027-01-25"), 15) == (D("2027-02-09"), True)


def test_overlay_replaces_the_library_for_the_years_it_lists() -> None:
    cal = CAL.with_overlay({2024: {"holidays": ["2024-10-08"], "workdays": []}})
    assert not cal.is_working_day(D("2024-10-08"))
    assert cal.is_working_day(D("2024-10-02"))  # the library's 2024 no longer applies
    assert not cal.is_working_day(D("2024-09-29"))
    assert cal.is_working_day(D("2025-01-26"))  # other years still come from the library


def test_with_overlay_merges_and_later_entries_win() -> None:
    first = CAL.with_overlay(OVERLAY_2027)
    second = first.with_overlay({2028: {"holidays": [], "workdays": []}})
    assert sorted(second.overlay) == [2027, 2028]
    replaced = second.with_overlay({2027: {"holidays": [], "workdays": []}})
    assert replaced.is_working_day(D("2027-01-01"))
    assert not second.is_working_day(D("2027-01-01"))


def test_calendar_is_immutable() -> None:
    with pytest.raises(AttributeError):
        CAL._years = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        CAL.overlay[2027] = YearDays(2027, frozenset(), frozenset())  # type: ignore[index]


def test_load_overlay_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(
        "years:\n"
        "  2027:\n"
        "    holidays: [2027-01-01, '2027-02-08']\n"
        "    workdays: [2027-02-20]\n",
        encoding="utf-8",
    )
    overlay = load_overlay(path)
    assert overlay == {
        2027: YearDays(2027, frozenset({D("2027-01-01"), D("2027-02-08")}),
                       frozenset({D("2027-02-20")}))
    }
    cal = WorkingCalendar(overlay)
    assert not cal.is_working_day(D("2027-02-08"))
    assert cal.is_working_day(D("2027-02-20"))


@pytest.mark.parametrize("text", ["", "years:\n", "years: {}\n"])
def test_empty_overlay_files_mean_no_overlay(tmp_path: Path, text: str) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_overlay(path) == {}


BAD_OVERLAYS = [
    ("years:\n  2027:\n    holidays: [2026-12-31]\n    workdays: []\n", "not in 2027"),
    ("years:\n  2027:\n    holidays: [2027-02-20]\n    workdays: [2027-02-20]\n",
     "both as holiday and as workday: 2027-02-20"),
    ("years:\n  2027:\n    holidays: []\n    workdays: [2027-02-22]\n", "not a weekend day"),
    ("years:\n  2027:\n    holidays: [2027-02-30]\n    workdays: []\n", "day is out of range"),
    ("years:\n  2027:\n    holidays: ['2027-02-30']\n    workdays: []\n", "not a date"),
    ("years:\n  2027:\n    holidays: [2027-01-01 08:00:00]\n    workdays: []\n",
     "time of day"),
    ("years:\n  2027:\n    holidays: [2027-01-01]\n", "missing 'workdays'"),
    ("years:\n  2027:\n    holiday: []\n    workdays: []\n", "unknown key(s) holiday"),
    ("years:\n  2027:\n    holidays: 2027-01-01\n    workdays: []\n", "list of dates"),
    ("years:\n  twenty:\n    holidays: []\n    workdays: []\n", "'twenty' is not a year"),
    ("years:\n  2027:\n    holidays: []\n    workdays: []\n  '2027':\n"
     "    holidays: []\n    workdays: []\n", "2027 is listed twice"),
    ("2027:\n  holidays: []\n  workdays: []\n", "top-level key 'years'"),
    ("years: [2027]\n", "'years' must map"),
    ("years:\n  2027: [2027-01-01]\n", "expected a mapping"),
    ("years: {2027: [\n", "not valid YAML"),
]


@pytest.mark.parametrize(("text", "message"), BAD_OVERLAYS)
def test_overlay_validation_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OverlayError) as info:
        load_overlay(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_error_names_the_year_and_field() -> None:
    with pytest.raises(OverlayError, match=r"years\.2027\.holidays: 2026-12-31 is not in 2027"):
        parse_overlay({"years": {2027: {"holidays": [D("2026-12-31")], "workdays": []}}})


def test_invalid_overlay_is_refused_by_the_calendar_too() -> None:
    with pytest.raises(OverlayError, match="both as holiday and as workday"):
        CAL.with_overlay({2027: {"holidays": ["2027-02-20"], "workdays": ["2027-02-20"]}})
    with pytest.raises(OverlayError, match="2027: entry is for 2028"):
        WorkingCalendar({2027: YearDays(2028, frozenset(), frozenset())})
