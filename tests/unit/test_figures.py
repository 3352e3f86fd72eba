"""Pure statistics figures (docs/domain.md §5, §6): rounding, summary, breakdowns, comparisons,
periods."""

from __future__ import annotations

import json
from datetime import date

import pytest

from services.statistics.assessment import IndicatorCounts
from services.statistics.figures import (
    Counts,
    GroupCounts,
    breakdown,
    compare,
    month_label,
    percent,
    previous_period,
    quarter_bounds,
    same_period_last_year,
    summary,
)
from shared.domain.vocab import Vocabulary, default_vocabulary


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return default_vocabulary()


def counts(**overrides: int) -> Counts:
    base = dict(
        received=0, closed=0, closed_on_time=0, feedback_given=0, feedback_eligible=0,
        rated=0, satisfied=0, basically_satisfied=0, overdue=0,
    )
    base.update(overrides)
    return Counts(**base)


# -- percent ------------------------------------------------------------------------------------


def test_spec_example_23_of_180() -> None:
    assert percent(23, 180) == 12.78


# Ratios whose ×100 value is exactly x.xx5 (a true tie at the third decimal). Half-up must round
# them up; Python's round() on floats gets each one wrong (half-to-even on an exact binary tie, or
# the binary value lies just below the tie), which the second assertion proves.
@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (1, 32, 3.13),  # 3.125 exactly, binary-exact tie → round() goes to even 3.12
        (5, 160, 3.13),  # same value from another fraction
        (1, 800, 0.13),  # 0.125
        (5, 800, 0.63),  # 0.625 → round() gives 0.62
        (23, 160, 14.38),  # 14.375, float product just below → round() gives 14.37
        (107, 4000, 2.68),  # 2.675, the classic: float 2.67499999… → 2.67
        (201, 20000, 1.01),  # 1.005, float 1.00499999… → 1.0
    ],
)
def test_half_up_at_exact_ties(numerator: int, denominator: int, expected: float) -> None:
    assert percent(numerator, denominator) == expected
    assert round(numerator / denominator * 100, 2) != expected


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (3, 800, 0.38),  # 0.375: a tie float rounding happens to get right (to even = up)
        (1, 8, 12.5),
        (1, 16, 6.25),
        (1, 3, 33.33),
        (2, 3, 66.67),
        (1, 7, 14.29),
        (0, 5, 0.0),
        (5, 5, 100.0),
        (7, 4, 175.0),
    ],
)
def test_other_values(numerator: int, denominator: int, expected: float) -> None:
    assert percent(numerator, denominator) == expected


def test_zero_denominator_is_zero_not_an_error() -> None:
    assert percent(0, 0) == 0.0
    assert percent(3, 0) == 0.0


def test_result_serialises_with_two_decimals_at_most() -> None:
    value = percent(23, 180)
    assert isinstance(value, float)
    assert repr(value) == "12.78"
    assert json.dumps({"rate": percent(1, 3)}) == '{"rate": 33.33}'


def test_negative_ties_round_away_from_zero() -> None:
    assert percent(-1, 32) == -3.13
    assert percent(-1, 100000) == 0.0  # -0.001 rounds to zero without a sign
    assert repr(percent(-1, 100000)) == "0.0"


# -- summary ------------------------------------------------------------------------------------


def test_summary_keys_are_the_contract_in_order() -> None:
    assert list(summary(counts())) == [
        "received", "closed", "in_progress", "overdue",
        "closure_rate", "on_time_rate", "feedback_rate", "satisfaction_rate",
        "timely_acceptance_rate", "on_time_answer_rate", "participation_rate",
        "repeat_petitions", "key_case_resolution_rate",
        "people", "urges",  # added with the time-limit issue: 人次 and 督办
    ]


def test_summary_definitions() -> None:
    result = summary(
        Counts(
            received=180, closed=23, closed_on_time=20, feedback_given=15, feedback_eligible=18,
            rated=10, satisfied=6, basically_satisfied=2, overdue=4, people=240, urges=3,
        )
    )
    assert result == {
        "received": 180,
        "closed": 23,
        "in_progress": 157,  # received − closed
        "overdue": 4,
        "closure_rate": 12.78,  # 23 / 180
        "on_time_rate": 86.96,  # 20 / 23 (closed on time / closed)
        "feedback_rate": 83.33,  # 15 / 18 (given / closed with a named, reachable petitioner)
        "satisfaction_rate": 80.0,  # (6 + 2) / 10
        "timely_acceptance_rate": 0.0, "on_time_answer_rate": 0.0, "participation_rate": 0.0,
        "repeat_petitions": 0, "key_case_resolution_rate": 0.0,  # no indicator counts given
        "people": 240,  # the head count of the 180 cases, beside them
        "urges": 3,
    }


def test_assessment_indicator_definitions() -> None:
    result = summary(counts(), IndicatorCounts(
        acceptances_due=180, accepted_timely=23, answered=8, answered_on_time=7,
        feedback_given=3, rated=2, repeat_petitions=5, key_closed=6, key_resolved=5))
    assert (result["timely_acceptance_rate"], result["on_time_answer_rate"],
            result["participation_rate"], result["repeat_petitions"],
            result["key_case_resolution_rate"]) == (12.78, 87.5, 66.67, 5, 83.33)


def test_inconsistent_indicator_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="rated"):
        IndicatorCounts(feedback_given=1, rated=2)


def test_on_time_rate_is_over_closed_not_received() -> None:
    assert summary(counts(received=100, closed=10, closed_on_time=5))["on_time_rate"] == 50.0


def test_feedback_rate_is_over_eligible_not_closed() -> None:
    result = summary(counts(received=10, closed=10, feedback_eligible=4, feedback_given=4))
    assert result["feedback_rate"] == 100.0


def test_satisfaction_counts_basically_satisfied_and_ignores_unrated() -> None:
    result = summary(counts(received=9, closed=9, rated=3, satisfied=1, basically_satisfied=1))
    assert result["satisfaction_rate"] == 66.67


def test_empty_period_gives_zero_rates() -> None:
    result = summary(counts())
    assert result["in_progress"] == 0
    assert all(result[k] == 0.0 for k in ("closure_rate", "on_time_rate", "feedback_rate",
                                          "satisfaction_rate"))


@pytest.mark.parametrize(
    "bad",
    [
        {"received": -1},
        {"received": 1, "closed": 2},
        {"received": 2, "closed": 1, "closed_on_time": 2},
        {"received": 2, "closed": 1, "feedback_eligible": 2},
        {"received": 2, "closed": 2, "feedback_eligible": 1, "feedback_given": 2},
        {"rated": 2, "satisfied": 2, "basically_satisfied": 1},
    ],
)
def test_inconsistent_counts_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        counts(**bad)


# -- breakdown ----------------------------------------------------------------------------------


def test_breakdown_orders_by_count_then_key_with_shares(vocab: Vocabulary) -> None:
    result = breakdown(
        [
            GroupCounts("jian", 50, 10, people=70, urges=2),
            GroupCounts("jizhou", 80, 8, people=80),
            GroupCounts("anfu", 50, 25, people=55),
        ],
        "jurisdiction",
        vocab,
    )
    assert result["total"] == 180
    assert result["rows"] == [
        {"key": "jizhou", "label": "吉州区", "count": 80, "percent": 44.44, "closed": 8,
         "closure_rate": 10.0, "people": 80, "urges": 0},
        {"key": "anfu", "label": "安福县", "count": 50, "percent": 27.78, "closed": 25,
         "closure_rate": 50.0, "people": 55, "urges": 0},
        {"key": "jian", "label": "吉安县", "count": 50, "percent": 27.78, "closed": 10,
         "closure_rate": 20.0, "people": 70, "urges": 2},
    ]


def test_breakdown_labels_for_category_and_channel(vocab: Vocabulary) -> None:
    cat = breakdown([GroupCounts("teacher_pay", 3, 1)], "category", vocab)
    assert (cat["rows"][0]["key"], cat["rows"][0]["label"]) == ("teacher_pay", "教师待遇")
    chan = breakdown([GroupCounts("hotline_12345", 3)], "channel", vocab)
    assert chan["rows"][0]["label"] == "12345热线"


def test_breakdown_accepts_chinese_labels_as_keys(vocab: Vocabulary) -> None:
    result = breakdown([GroupCounts("教育收费", 2, 1)], "category", vocab)
    assert result["rows"][0]["key"] == "fees"


def test_breakdown_keeps_unknown_codes_visible(vocab: Vocabulary) -> None:
    result = breakdown([GroupCounts("mars", 1)], "jurisdiction", vocab)
    assert result["rows"][0]["label"] == "mars"


def test_breakdown_by_month(vocab: Vocabulary) -> None:
    result = breakdown(
        [GroupCounts("2025-01", 4, 4), GroupCounts("2025-03", 6, 1), GroupCounts("2025-02", 6, 3)],
        "month",
        vocab,
    )
    assert [(r["key"], r["label"]) for r in result["rows"]] == [
        ("2025-02", "2025年2月"), ("2025-03", "2025年3月"), ("2025-01", "2025年1月"),
    ]
    assert [r["percent"] for r in result["rows"]] == [37.5, 37.5, 25.0]


def test_breakdown_by_unit_uses_caller_labels(vocab: Vocabulary) -> None:
    result = breakdown(
        [GroupCounts("u1", 2, 0, "吉安县教育体育局"), GroupCounts("u2", 1)], "unit", vocab
    )
    assert [r["label"] for r in result["rows"]] == ["吉安县教育体育局", "u2"]


def test_shares_are_rounded_individually(vocab: Vocabulary) -> None:
    result = breakdown([GroupCounts(k, 1) for k in ("fees", "other", "integrity")], "category",
                       vocab)
    assert [r["percent"] for r in result["rows"]] == [33.33, 33.33, 33.33]


def test_empty_breakdown(vocab: Vocabulary) -> None:
    assert breakdown([], "channel", vocab) == {"total": 0, "rows": []}


def test_breakdown_refuses_bad_input(vocab: Vocabulary) -> None:
    with pytest.raises(ValueError, match="by must be"):
        breakdown([], "school", vocab)
    with pytest.raises(ValueError, match="duplicate"):
        breakdown([GroupCounts("fees", 1), GroupCounts("教育收费", 2)], "category", vocab)
    with pytest.raises(ValueError, match="YYYY-MM"):
        breakdown([GroupCounts("2025-13", 1)], "month", vocab)
    with pytest.raises(ValueError):
        GroupCounts("fees", 1, 2)


@pytest.mark.parametrize("key", ["2025-3", "25-03", "2025-00", "2025/03", "2025-03-01"])
def test_month_label_rejects_malformed_keys(key: str) -> None:
    with pytest.raises(ValueError):
        month_label(key)


# -- compare ------------------------------------------------------------------------------------


def test_compare_counts_and_rates() -> None:
    result = compare(
        {"received": 120, "closure_rate": 12.78, "note": "x"},
        {"received": 100, "closure_rate": 10.5},
    )
    assert result == {
        "received": {"current": 120, "baseline": 100, "change": 20, "change_percent": 20.0},
        "closure_rate": {"current": 12.78, "baseline": 10.5, "change": 2.28,
                         "change_percent": 21.71},
    }
    assert isinstance(result["received"]["change"], int)
    assert 12.78 - 10.5 != 2.28  # why the change is computed in Decimal


def test_compare_relative_change_half_up_and_negative() -> None:
    result = compare({"received": 31, "overdue": 7}, {"received": 32, "overdue": 8})
    assert result["received"]["change"] == -1
    assert result["received"]["change_percent"] == -3.13  # −3.125 away from zero
    assert result["overdue"]["change_percent"] == -12.5


def test_compare_zero_baseline_has_no_relative_change() -> None:
    result = compare({"received": 5, "closure_rate": 20.0}, {"received": 0, "closure_rate": 0.0})
    assert result["received"]["change_percent"] is None
    assert result["closure_rate"]["change_percent"] is None
    assert compare({"received": 0}, {"received": 0})["received"]["change_percent"] is None


def test_compare_full_summaries() -> None:
    now = summary(counts(received=180, closed=23, closed_on_time=20, overdue=4))
    then = summary(counts(received=150, closed=30, closed_on_time=30, overdue=4))
    result = compare(now, then)
    assert list(result) == list(now)
    assert result["in_progress"] == {"current": 157, "baseline": 120, "change": 37,
                                     "change_percent": 30.83}
    assert result["overdue"]["change_percent"] == 0.0
    assert result["closure_rate"]["change"] == -7.22  # 12.78 − 20.0 percentage points


def test_compare_needs_the_figure_in_the_baseline() -> None:
    with pytest.raises(ValueError, match="received"):
        compare({"received": 1}, {})


# -- periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        # arbitrary ranges: the same number of days immediately before
        ((date(2025, 3, 10), date(2025, 3, 16)), (date(2025, 3, 3), date(2025, 3, 9))),
        ((date(2025, 3, 1), date(2025, 3, 1)), (date(2025, 2, 28), date(2025, 2, 28))),
        ((date(2024, 3, 5), date(2024, 3, 14)), (date(2024, 2, 24), date(2024, 3, 4))),
        # whole months: the same number of months before (leap February included)
        ((date(2024, 3, 1), date(2024, 3, 31)), (date(2024, 2, 1), date(2024, 2, 29))),
        ((date(2025, 4, 1), date(2025, 6, 30)), (date(2025, 1, 1), date(2025, 3, 31))),
        ((date(2025, 1, 1), date(2025, 3, 31)), (date(2024, 10, 1), date(2024, 12, 31))),
        ((date(2025, 1, 1), date(2025, 12, 31)), (date(2024, 1, 1), date(2024, 12, 31))),
    ],
)
def test_previous_period(period: tuple[date, date], expected: tuple[date, date]) -> None:
    assert previous_period(*period) == expected


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ((date(2025, 3, 10), date(2025, 3, 16)), (date(2024, 3, 10), date(2024, 3, 16))),
        # leap day has no counterpart: 28 Feb
        ((date(2024, 2, 29), date(2024, 2, 29)), (date(2023, 2, 28), date(2023, 2, 28))),
        ((date(2024, 2, 10), date(2024, 2, 29)), (date(2023, 2, 10), date(2023, 2, 28))),
        ((date(2024, 2, 29), date(2024, 3, 10)), (date(2023, 2, 28), date(2023, 3, 10))),
        # a single day on 28 Feb stays a single day even though last year's month is longer
        ((date(2025, 2, 28), date(2025, 2, 28)), (date(2024, 2, 28), date(2024, 2, 28))),
        # whole months map to whole months
        ((date(2025, 2, 1), date(2025, 2, 28)), (date(2024, 2, 1), date(2024, 2, 29))),
        ((date(2024, 2, 1), date(2024, 2, 29)), (date(2023, 2, 1), date(2023, 2, 28))),
        ((date(2025, 1, 1), date(2025, 3, 31)), (date(2024, 1, 1), date(2024, 3, 31))),
    ],
)
def test_same_period_last_year(period: tuple[date, date], expected: tuple[date, date]) -> None:
    assert same_period_last_year(*period) == expected


def test_periods_refuse_reversed_ranges() -> None:
    with pytest.raises(ValueError):
        previous_period(date(2025, 2, 1), date(2025, 1, 1))
    with pytest.raises(ValueError):
        same_period_last_year(date(2025, 2, 1), date(2025, 1, 1))


@pytest.mark.parametrize(
    ("quarter", "expected"),
    [
        (1, (date(2024, 1, 1), date(2024, 3, 31))),
        (2, (date(2024, 4, 1), date(2024, 6, 30))),
        (3, (date(2024, 7, 1), date(2024, 9, 30))),
        (4, (date(2024, 10, 1), date(2024, 12, 31))),
    ],
)
def test_quarter_bounds(quarter: int, expected: tuple[date, date]) -> None:
    assert quarter_bounds(2024, quarter) == expected


@pytest.mark.parametrize(("year", "quarter"), [(2025, 0), (2025, 5), (2025, True), (0, 1),
                                               (10000, 1)])
def test_quarter_bounds_validation(year: int, quarter: int) -> None:
    with pytest.raises(ValueError):
        quarter_bounds(year, quarter)
