"""The ground truth of the statistics tests: docs/domain.md §5 (and §8's report-back status)
computed case by case from the generated cases (statistics_cases), independently of the
service's projection, and the summary and breakdowns the API must answer with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import yaml

from shared.domain.limits import compute_due, local_date, overdue_after
from shared.domain.vocab import Vocabulary
from tests.integration.statistics_cases import CAL, Case

UNIT_NAMES: dict[str, str] = {
    str(u["code"]): str(u["name"]) for u in yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "deploy/config/routing-rules.yaml")
        .read_text(encoding="utf-8"))["units"]
} | {"unassigned": "未分配"}

# The overdue alerts statistics counts (not the petitioner's review window, say).
COUNTED_OVERDUE = frozenset({"routing", "acceptance", "handling", "review_decision",
                             "rereview_decision"})


def half_up(numerator: int, denominator: int) -> float:
    if not denominator:
        return 0.0
    exact = Decimal(numerator) * 100 / Decimal(denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def truth(cases: Iterable[Case], start: date, end: date, as_of: datetime,
          filters: dict[str, str] | None = None, group: str | None = None
          ) -> dict[str, list[int]]:
    """docs/domain.md §5, case by case: what was received in [start, end] and where it stood at
    as_of."""
    out: dict[str, list[int]] = defaultdict(lambda: [0] * WIDTH)
    for c in cases:
        day = local_date(c.received_at)
        if c.duplicate:
            continue
        if filters and any(getattr(c, dim) != value for dim, value in filters.items()):
            continue
        key = ("" if group is None else f"{day.year:04d}-{day.month:02d}" if group == "month"
               else getattr(c, group))
        _by_own_period(c, start, end, as_of, out[key])
        if not start <= day <= end or c.received_at > as_of:
            continue
        v = out[key]
        v[0] += 1
        if c.closed_at is not None and c.closed_at <= as_of:
            v[1] += 1
            v[2] += c.on_time()
            if c.reachable:
                v[3] += 1
                v[4] += c.feedback_at is not None and c.feedback_at <= as_of
        if c.rated_at is not None and c.rated_at <= as_of:
            v[5] += 1
            v[6] += c.rating == "satisfied"
            v[7] += c.rating == "basically_satisfied"
        if c.overdue_at is not None and c.overdue_at <= as_of:
            out[key][8] += 1
        _by_receipt(c, as_of, v)
        v[PEOPLE_T] += c.signers
        # An urge counts from its instant, and never before the case was received.
        v[URGES_T] += sum(1 for u in c.urged_at if max(u, c.received_at) <= as_of)
    return dict(out)


# The assessment indicators' counts follow the nine above in each truth vector, then people
# (人次) and urges (督办).
WIDTH = 20
ACCEPT_DUE, ACCEPT_TIMELY, ANSWERED, ANSWER_ON_TIME, FED, RATED_FED, REPEATS, KEY_CLOSED, \
    KEY_RESOLVED, PEOPLE_T, URGES_T = range(9, WIDTH)


def _by_own_period(c: Case, start: date, end: date, as_of: datetime, v: list[int]) -> None:
    """Timely acceptance by the acceptance due date, on-time answers by the answer date."""
    if c.link_kind is None:  # a linked case owes no acceptance
        due = compute_due("acceptance", local_date(c.received_at), CAL).due_date
        decided = max(c.received_at, c.decided_at) if c.decided_at else None
        if start <= due <= end:
            v[ACCEPT_DUE] += (decided is not None and decided <= as_of) or (
                overdue_after(due) <= as_of)
            v[ACCEPT_TIMELY] += (decided is not None and decided <= as_of
                                 and local_date(c.decided_at) <= due)  # type: ignore[arg-type]
    if c.answered_at is not None:
        answered = max(c.received_at, c.answered_at)
        if start <= local_date(answered) <= end and answered <= as_of:
            v[ANSWERED] += 1
            v[ANSWER_ON_TIME] += (c.accepted_at is not None
                                  and local_date(c.answered_at) <= c.due())


def _by_receipt(c: Case, as_of: datetime, v: list[int]) -> None:
    """Participation, repeats and key-case resolution of a case received in the period."""
    fed = (c.reachable and c.closed_at is not None and c.closed_at <= as_of
           and c.feedback_at is not None and c.feedback_at <= as_of)
    v[FED] += fed
    v[RATED_FED] += fed and c.rated_at is not None and c.rated_at <= as_of
    v[REPEATS] += (c.link_kind in ("repeat", "final_repeat") and c.linked_at is not None
                   and max(c.received_at, c.linked_at) <= as_of)
    if c.key_case and c.closed_at is not None and c.closed_at <= as_of:
        v[KEY_CLOSED] += 1
        v[KEY_RESOLVED] += not (c.review_requested_at is not None
                                and max(c.received_at, c.review_requested_at) <= as_of)


def expected_summary(counts: dict[str, list[int]]) -> dict[str, Any]:
    t = [sum(v[i] for v in counts.values()) for i in range(WIDTH)]
    return {"received": t[0], "closed": t[1], "in_progress": t[0] - t[1], "overdue": t[8],
            "closure_rate": half_up(t[1], t[0]), "on_time_rate": half_up(t[2], t[1]),
            "feedback_rate": half_up(t[4], t[3]), "satisfaction_rate": half_up(t[6] + t[7], t[5]),
            "timely_acceptance_rate": half_up(t[ACCEPT_TIMELY], t[ACCEPT_DUE]),
            "on_time_answer_rate": half_up(t[ANSWER_ON_TIME], t[ANSWERED]),
            "participation_rate": half_up(t[RATED_FED], t[FED]),
            "repeat_petitions": t[REPEATS],
            "key_case_resolution_rate": half_up(t[KEY_RESOLVED], t[KEY_CLOSED]),
            "people": t[PEOPLE_T], "urges": t[URGES_T]}


HANDOFF_CHANNELS = ("provincial_transfer", "city_transfer", "superior_assigned")


def report_back_status(c: Case, as_of: datetime) -> str:
    """docs/domain.md §8: where a hand-off's report back stands as of an instant."""
    if c.report_back_due is None:
        return "no_limit"
    reported = min((t for t in (c.closed_at, c.declined_at) if t), default=None)
    if reported is not None and max(c.received_at, reported) <= as_of:
        return ("reported_on_time" if local_date(reported) <= c.report_back_due
                else "reported_late")
    return "overdue" if overdue_after(c.report_back_due) <= as_of else "pending"


def expected_by_body(cases: Iterable[Case], start: date, end: date, as_of: datetime,
                     vocab: Vocabulary, filters: dict[str, str] | None = None
                     ) -> dict[str, Any]:
    """The by=assigning_body breakdown, case by case: hand-offs received in the period."""
    rows: dict[str, dict[str, Any]] = {}
    for c in cases:
        if (c.duplicate or c.channel not in HANDOFF_CHANNELS
                or not start <= local_date(c.received_at) <= end or c.received_at > as_of):
            continue
        if filters and any(getattr(c, dim) != value for dim, value in filters.items()):
            continue
        key = c.assigned_by or c.channel
        row = rows.setdefault(key, {"count": 0, "closed": 0, "report_back": dict.fromkeys(
            ("reported_on_time", "reported_late", "pending", "overdue", "no_limit"), 0)})
        row["count"] += 1
        row["closed"] += c.closed_at is not None and c.closed_at <= as_of
        row["report_back"][report_back_status(c, as_of)] += 1
    total = sum(r["count"] for r in rows.values())
    ranked = sorted(rows.items(), key=lambda kv: (-kv[1]["count"], kv[0]))
    return {"total": total, "rows": [
        {"key": k, "label": vocab.channels.label(k) if k in HANDOFF_CHANNELS else k,
         "count": r["count"], "percent": half_up(r["count"], total), "closed": r["closed"],
         "closure_rate": half_up(r["closed"], r["count"]), "report_back": r["report_back"]}
        for k, r in ranked]}


def expected_breakdown(counts: dict[str, list[int]], by: str, vocab: Vocabulary
                       ) -> dict[str, Any]:
    rows = [(k, v) for k, v in counts.items() if v[0]]
    total = sum(v[0] for _, v in rows)
    terms = {"channel": vocab.channels, "jurisdiction": vocab.jurisdictions,
             "category": vocab.categories}.get(by)

    def label(key: str) -> str:
        if terms is not None:
            return terms.label(key)
        if by == "month":
            return f"{int(key[:4])}年{int(key[5:])}月"
        return UNIT_NAMES.get(key, key)

    rows.sort(key=lambda kv: (-kv[1][0], kv[0]))
    return {"total": total, "rows": [
        {"key": k, "label": label(k), "count": v[0], "percent": half_up(v[0], total),
         "closed": v[1], "closure_rate": half_up(v[1], v[0]), "people": v[PEOPLE_T],
         "urges": v[URGES_T]} for k, v in rows]}
