"""Pure statistics figures: percentages, summary, breakdowns, comparisons, periods (docs/domain.md
§5, §6).

No I/O: the statistics service counts cases in its own projection and hands the counts to these
functions, which apply docs/domain.md §5's definitions and shape docs/domain.md §6's answers.
Keeping the arithmetic
here means the HTTP API and the quarterly report cannot disagree on a single figure.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NotRequired, TypedDict

from services.statistics.assessment import IndicatorCounts
from shared.domain.vocab import Terms, Vocabulary

# ``assigning_body``: the hand-offs only, by the body that assigned them (docs/domain.md §8).
BREAKDOWN_DIMENSIONS: tuple[str, ...] = ("jurisdiction", "category", "channel", "unit", "month",
                                         "assigning_body")

_HUNDREDTH = Decimal("0.01")
_MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")


# -- percentages --------------------------------------------------------------------------------


def _half_up(value: Decimal) -> float:
    """Round to two decimals half-up and return a float whose repr is those two decimals.

    ``round(x, 2)`` on floats is wrong for a report twice over: it rounds half to even, and the
    binary value of e.g. 1.005 is just below 1.005. Decimal arithmetic on the exact ratio avoids
    both. ROUND_HALF_UP rounds ties away from zero, i.e. 四舍五入 applied to the magnitude, so a
    fall of 0.125 shows as -0.13, mirroring a rise of 0.13. ``float(Decimal("12.78"))`` is the
    float nearest 12.78, which serialises as ``12.78``.
    """
    rounded = value.quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)
    # A tiny negative change rounds to Decimal("-0.00"); never show "-0.0" in a report.
    return float(rounded) if rounded else 0.0


def _ratio_percent(numerator: Decimal, denominator: Decimal) -> float:
    if not denominator:
        return 0.0
    return _half_up(numerator * 100 / denominator)


def percent(numerator: int, denominator: int) -> float:
    """``numerator / denominator × 100`` rounded half-up to two decimals (23/180 → 12.78).

    A zero denominator gives 0.0 rather than None or an error: docs/domain.md §6 promises numbers
    for every
    rate, and "no case closed yet" must not break a dashboard or a report cell. The counts next
    to the rate (e.g. ``closed == 0``) tell a reader that the rate is empty, not bad.
    """
    # Decimal(int) is exact and the default 28-digit context is ample for case counts, so the
    # quotient's rounding cannot move a .xx5 tie before the half-up step.
    return _ratio_percent(Decimal(numerator), Decimal(denominator))


# -- summary ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """The raw counts behind one summary, all over the cases received in the period (docs/domain.md
    §5).

    ``feedback_given`` counts only cases inside ``feedback_eligible`` (closed, with a named and
    reachable petitioner): feedback to an anonymous petitioner who left a phone number must not
    push the feedback rate above 100.
    """

    received: int
    closed: int
    closed_on_time: int
    feedback_given: int
    feedback_eligible: int
    rated: int
    satisfied: int
    basically_satisfied: int
    overdue: int
    people: int = 0  # 人次: the head count of the cases received (signers, a group's people)
    urges: int = 0  # 督办: urges on those cases

    def __post_init__(self) -> None:
        # Inconsistent counts mean a projection bug; refuse them instead of printing a rate of
        # 130 % in a report that goes to the bureau above.
        for name, value in vars(self).items():
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        checks = (
            ("closed", self.closed, "received", self.received),
            ("closed_on_time", self.closed_on_time, "closed", self.closed),
            ("feedback_eligible", self.feedback_eligible, "closed", self.closed),
            ("feedback_given", self.feedback_given, "feedback_eligible", self.feedback_eligible),
            ("satisfied + basically_satisfied", self.satisfied + self.basically_satisfied,
             "rated", self.rated),
        )
        for part_name, part, whole_name, whole in checks:
            if part > whole:
                raise ValueError(f"{part_name} ({part}) exceeds {whole_name} ({whole})")


class Summary(TypedDict):
    """docs/domain.md §6 ``GET /v1/stats/summary`` body, keys in contract order, then the
    assessment indicators (§5, §7)."""

    received: int
    closed: int
    in_progress: int
    overdue: int
    closure_rate: float
    on_time_rate: float
    feedback_rate: float
    satisfaction_rate: float
    timely_acceptance_rate: float
    on_time_answer_rate: float
    participation_rate: float
    repeat_petitions: int
    key_case_resolution_rate: float
    people: int
    urges: int


def summary(counts: Counts, indicators: IndicatorCounts | None = None) -> Summary:
    """Apply docs/domain.md §5's definitions to ``counts`` and ``indicators``."""
    i = indicators or IndicatorCounts()
    return {
        "received": counts.received,
        "closed": counts.closed,
        "in_progress": counts.received - counts.closed,
        "overdue": counts.overdue,
        "closure_rate": percent(counts.closed, counts.received),
        "on_time_rate": percent(counts.closed_on_time, counts.closed),
        "feedback_rate": percent(counts.feedback_given, counts.feedback_eligible),
        "satisfaction_rate": percent(counts.satisfied + counts.basically_satisfied, counts.rated),
        "timely_acceptance_rate": percent(i.accepted_timely, i.acceptances_due),
        "on_time_answer_rate": percent(i.answered_on_time, i.answered),
        "participation_rate": percent(i.rated, i.feedback_given),
        "repeat_petitions": i.repeat_petitions,
        "key_case_resolution_rate": percent(i.key_resolved, i.key_closed),
        "people": counts.people,
        "urges": counts.urges,
    }


# -- breakdowns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupCounts:
    """One group of a breakdown as counted by the caller.

    ``key`` is a vocabulary code (or its Chinese label) for jurisdiction/category/channel,
    ``YYYY-MM`` for month, the unit's code for unit. ``label`` is used only for units, whose names
    live in the routing configuration rather than the vocabulary; without it the key is shown.
    """

    key: str
    count: int
    closed: int = 0
    label: str | None = None
    people: int = 0
    urges: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.closed <= self.count:
            raise ValueError(
                f"group {self.key!r}: need 0 <= closed <= count, got {self.closed}/{self.count}"
            )


class BreakdownRow(TypedDict):
    key: str
    label: str
    count: int
    percent: float
    closed: int
    closure_rate: float
    # by=assigning_body: how many of the row's cases reported back on time, late, or not yet.
    report_back: NotRequired[dict[str, int]]
    people: NotRequired[int]  # every dimension but assigning_body
    urges: NotRequired[int]


class Breakdown(TypedDict):
    """docs/domain.md §6 ``GET /v1/stats/breakdown`` body."""

    total: int
    rows: list[BreakdownRow]


def month_label(key: str) -> str:
    """``2025-03`` → ``2025年3月`` (no leading zero, as Chinese reports write months)."""
    match = _MONTH_KEY.match(key)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"month key must be YYYY-MM, got {key!r}")
    return f"{int(match.group(1))}年{int(match.group(2))}月"


def _terms(vocab: Vocabulary, by: str) -> Terms | None:
    return {
        "jurisdiction": vocab.jurisdictions,
        "category": vocab.categories,
        "channel": vocab.channels,
    }.get(by)


def breakdown(rows: Sequence[GroupCounts], by: str, vocab: Vocabulary) -> Breakdown:
    """Shape grouped counts as docs/domain.md §6's breakdown: largest count first, ties by key.

    Shares are each group's count over the sum of all counts (docs/domain.md §5 占比), each rounded
    on its
    own, so they may sum to 99.99 or 100.01: that is how published tables behave, and fudging one
    row to force 100.00 would make that row's figure wrong.
    """
    if by not in BREAKDOWN_DIMENSIONS:
        raise ValueError(f"by must be one of {', '.join(BREAKDOWN_DIMENSIONS)}, got {by!r}")
    terms = _terms(vocab, by)
    shaped: list[tuple[str, str, GroupCounts]] = []
    for row in rows:
        if terms is not None:
            # Accept a Chinese label as well as a code (docs/domain.md §2); unknown codes stay
            # visible.
            key = terms.resolve(row.key) or row.key
            label = terms.label(key)
        elif by == "month":
            key, label = row.key, month_label(row.key)
        else:
            key, label = row.key, row.label or row.key
        shaped.append((key, label, row))
    keys = [key for key, _, _ in shaped]
    if len(set(keys)) != len(keys):
        # Two rows for one group would list it twice with split shares; the caller's GROUP BY is
        # wrong, and silently merging would hide that.
        raise ValueError(f"duplicate {by} keys in breakdown rows: {sorted(keys)}")

    total = sum(row.count for _, _, row in shaped)
    shaped.sort(key=lambda item: (-item[2].count, item[0]))
    return {
        "total": total,
        "rows": [
            {
                "key": key,
                "label": label,
                "count": row.count,
                "percent": percent(row.count, total),
                "closed": row.closed,
                "closure_rate": percent(row.closed, row.count),
                "people": row.people,
                "urges": row.urges,
            }
            for key, label, row in shaped
        ],
    }


# -- comparisons (同比 / 环比) -------------------------------------------------------------------


class Comparison(TypedDict):
    current: int | float
    baseline: int | float
    change: int | float  # for rates: percentage points
    change_percent: float | None  # relative change; None when the baseline is 0


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def compare(current: Mapping[str, object], baseline: Mapping[str, object]) -> dict[str, Comparison]:
    """Compare every numeric figure of ``current`` with ``baseline`` (a summary each).

    The same function serves 同比 (baseline = ``same_period_last_year``) and 环比 (baseline =
    ``previous_period``). Counts change by whole numbers; rates change in percentage points,
    computed in Decimal from their two-decimal values so 12.78 − 10.5 is 2.28, not
    2.2800000000000002. The relative change is None, not 0.0, when the baseline is 0: "up from
    nothing" has no percentage, and 0.0 would read as "unchanged".
    """
    result: dict[str, Comparison] = {}
    for name, now in current.items():
        if not _is_number(now):
            continue
        if name not in baseline or not _is_number(baseline[name]):
            raise ValueError(f"baseline has no numeric figure {name!r}")
        then = baseline[name]
        assert isinstance(now, int | float) and isinstance(then, int | float)  # for mypy
        now_d, then_d = Decimal(str(now)), Decimal(str(then))
        change: int | float
        if isinstance(now, int) and isinstance(then, int):
            change = now - then
        else:
            change = _half_up(now_d - then_d)
        result[name] = {
            "current": now,
            "baseline": then,
            "change": change,
            "change_percent": _ratio_percent(now_d - then_d, then_d) if then else None,
        }
    return result


# -- periods ------------------------------------------------------------------------------------
# Periods are inclusive date ranges in Asia/Shanghai local dates, as in the API's from/to.


def _check_range(from_date: date, to_date: date) -> None:
    if from_date > to_date:
        raise ValueError(f"period starts after it ends: {from_date} > {to_date}")


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _whole_months(from_date: date, to_date: date) -> int | None:
    """The number of calendar months the range spans exactly, or None if it is not whole months."""
    if from_date.day != 1 or to_date != _month_end(to_date.year, to_date.month):
        return None
    return (to_date.year - from_date.year) * 12 + to_date.month - from_date.month + 1


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def previous_period(from_date: date, to_date: date) -> tuple[date, date]:
    """The period of the same length ending the day before ``from_date`` (环比 baseline).

    A range of whole calendar months steps back by the same number of months, so March's
    baseline is all of February and Q2's is all of Q1, as 环比 means in every report; counting
    days instead would give 31 Jan – 29 Feb for March 2024. Any other range steps back by its
    number of days.
    """
    _check_range(from_date, to_date)
    months = _whole_months(from_date, to_date)
    if months is not None:
        start = _add_months(from_date, -months)
        return start, from_date - timedelta(days=1)
    length = to_date - from_date + timedelta(days=1)
    return from_date - length, from_date - timedelta(days=1)


def _year_earlier(day: date) -> date:
    # 29 Feb has no counterpart a year earlier; 28 Feb is the convention (cf. dateutil).
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def same_period_last_year(from_date: date, to_date: date) -> tuple[date, date]:
    """The same dates one year earlier (同比 baseline).

    A range of whole months maps to the same whole months, so February 2025 compares with all of
    February 2024 including the 29th. Otherwise each date moves back a year and 29 Feb becomes
    28 Feb.
    """
    _check_range(from_date, to_date)
    if _whole_months(from_date, to_date) is not None:
        return (
            from_date.replace(year=from_date.year - 1),
            _month_end(to_date.year - 1, to_date.month),
        )
    return _year_earlier(from_date), _year_earlier(to_date)


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    """First and last day of ``quarter`` (1–4) of ``year``, e.g. (2025, 1) → 1 Jan – 31 Mar."""
    if isinstance(quarter, bool) or not isinstance(quarter, int) or not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be 1, 2, 3 or 4, got {quarter!r}")
    if isinstance(year, bool) or not isinstance(year, int) or not MINYEAR <= year <= MAXYEAR:
        raise ValueError(f"year must be between {MINYEAR} and {MAXYEAR}, got {year!r}")
    first_month = 3 * quarter - 2
    return date(year, first_month, 1), _month_end(year, first_month + 2)
