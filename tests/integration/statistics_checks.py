"""Every figure of the statistics API against a ground truth, for many periods, filters and
``as_of`` instants: the comparison both randomized statistics tests make (one feeds synthetic
events, the other drives the real stack through intake's API)."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from shared.domain.limits import start_of_local_day
from shared.domain.schemas import (
    CaseAssigned,
    CaseLinked,
    DeadlineOverdue,
    DeadlineOverdueWithdrawn,
    DeadlineRescheduled,
    DeadlineScheduled,
)
from shared.domain.vocab import Vocabulary
from shared.platform.events import decode
from tests.integration.statistics_cases import Case
from tests.integration.statistics_truth import (
    COUNTED_OVERDUE,
    expected_breakdown,
    expected_by_body,
    expected_summary,
    truth,
)

Get = Callable[..., Awaitable[dict[str, Any]]]


def getter(http: aiohttp.ClientSession, stack: Any) -> Get:
    """GET a statistics path with query parameters; any answer but 200 fails the test."""
    async def get(path: str, **params: str) -> dict[str, Any]:
        async with http.get(stack.url("statistics", path), params=params) as resp:
            body = await resp.json()
            assert resp.status == 200, (params, body)
            return dict(body)

    return get


def periods(rng: random.Random, y: int) -> list[tuple[date, date]]:
    """The four years, each year, each quarter, and ten random ranges."""
    out = [(date(y, 1, 1), date(y + 3, 12, 31))]
    out += [(date(y + i, 1, 1), date(y + i, 12, 31)) for i in range(4)]
    for year in range(y, y + 4):
        for q in range(4):
            first = date(year, 3 * q + 1, 1)
            last = (date(year, 3 * q + 4, 1) if q < 3 else date(year + 1, 1, 1)) - timedelta(1)
            out.append((first, last))
    for _ in range(10):
        a = date(y, 1, 1) + timedelta(days=rng.randrange(4 * 365))
        b = a + timedelta(days=rng.randrange(1, 400))
        out.append((a, b))
    return out


def instants(rng: random.Random, cases: list[Case], y: int) -> list[datetime]:
    """as_of instants: after everything, exactly at and just before some closures and other
    milestones, and mid-day instants. The first one is after everything."""
    final = datetime(y + 5, 12, 31, tzinfo=UTC)
    closures = [c.closed_at for c in cases if c.closed_at is not None]
    milestones = [t for c in cases for t in (c.feedback_at, c.rated_at, c.overdue_at) if t]
    chosen = [final]
    for moment in rng.sample(closures, 3) + rng.sample(milestones, 2):
        chosen += [moment, moment - timedelta(microseconds=1)]
    start = datetime(y, 1, 1, tzinfo=UTC)
    chosen += [start + timedelta(seconds=rng.randrange(4 * 365 * 86400)) for _ in range(3)]
    # RFC 3339 offsets have no seconds (Shanghai's 1900s-and-before LMT has): send UTC.
    return [moment.astimezone(UTC) for moment in chosen]


async def compare_everything(get: Get, rng: random.Random, cases: list[Case], y: int,
                             vocab: Vocabulary, seed: int) -> int:
    """Summary for every period at several instants (and at the end of a day given as a date),
    summary with random filters, and every breakdown; returns how many answers were checked."""
    checked = 0
    moments = instants(rng, cases, y)
    spans = periods(rng, y)
    for start, end in spans:
        for as_of in [*rng.sample(moments, 3), moments[0]]:
            params = {"from": start.isoformat(), "to": end.isoformat(),
                      "as_of": as_of.isoformat()}
            got = await get("/v1/stats/summary", **params)
            assert got == expected_summary(truth(cases, start, end, as_of)), (seed, params)
            checked += 1
        # as_of as a date: the end of that day (a month's last day, or any day).
        day = rng.choice([end, end + timedelta(days=rng.randrange(120)),
                          start + timedelta(days=rng.randrange(200))])
        params = {"from": start.isoformat(), "to": end.isoformat(), "as_of": day.isoformat()}
        end_of_day = start_of_local_day(day + timedelta(days=1)) - timedelta(microseconds=1)
        got = await get("/v1/stats/summary", **params)
        assert got == expected_summary(truth(cases, start, end, end_of_day)), (seed, params)
        checked += 1
    filter_values = {"channel": list(vocab.channels.codes),
                     "jurisdiction": list(vocab.jurisdictions.codes),
                     "category": list(vocab.categories.codes)}
    for _ in range(100):
        start, end = rng.choice(spans)
        as_of = rng.choice(moments)
        dims = rng.sample(sorted(filter_values), rng.randint(1, 3))
        filters = {d: rng.choice(filter_values[d]) for d in dims}
        params = {"from": start.isoformat(), "to": end.isoformat(),
                  "as_of": as_of.isoformat(), **filters}
        # Chinese names are accepted for filters as well as codes.
        if "jurisdiction" in filters and rng.random() < 0.5:
            params["jurisdiction"] = vocab.jurisdictions.label(filters["jurisdiction"])
        got = await get("/v1/stats/summary", **params)
        assert got == expected_summary(truth(cases, start, end, as_of, filters)), (
            seed, params)
        checked += 1
    for by in ("jurisdiction", "category", "channel", "unit", "month"):
        for start, end in [spans[0], *rng.sample(spans, 4)]:
            for as_of in [moments[0], *rng.sample(moments, 2)]:
                extra = {}
                if rng.random() < 0.4:
                    dim = rng.choice(sorted(filter_values))
                    extra[dim] = rng.choice(filter_values[dim])
                params = {"by": by, "from": start.isoformat(), "to": end.isoformat(),
                          "as_of": as_of.isoformat(), **extra}
                got = await get("/v1/stats/breakdown", **params)
                counts = truth(cases, start, end, as_of, extra, group=by)
                assert got == expected_breakdown(counts, by, vocab), (seed, params)
                checked += 1
    for start, end in [spans[0], *rng.sample(spans, 4)]:
        for as_of in [moments[0], *rng.sample(moments, 2)]:
            extra = {}
            if rng.random() < 0.3:
                extra["jurisdiction"] = rng.choice(filter_values["jurisdiction"])
            params = {"by": "assigning_body", "from": start.isoformat(), "to": end.isoformat(),
                      "as_of": as_of.isoformat(), **extra}
            got = await get("/v1/stats/breakdown", **params)
            assert got == expected_by_body(cases, start, end, as_of, vocab, extra), (seed, params)
            checked += 1
    assert checked == len(spans) * 5 + 100 + 5 * 5 * 3 + 5 * 3
    return checked


async def truth_cases(dbs: dict[str, asyncpg.Pool], start: datetime, end: datetime
                      ) -> list[Case]:
    """Every case intake holds received in [start, end), as the statistics definitions see
    it, from intake's own tables (``cases`` and ``case_timeline``); overdue instants from the
    alerts the deadlines service published and did not withdraw (its outbox: intake does not
    know about alerts)."""
    rows = await dbs["intake"].fetch(
        """
        SELECT c.case_id::text, c.channel, c.jurisdiction, c.category, c.received_at,
               c.reachable, c.link_kind, c.assigned_unit, c.extended_days, c.rating,
               c.assigned_by,
               c.signers, array_remove(array_agg(t.at) FILTER (WHERE t.action = 'urge'), NULL)
                   AS urged_at,
               min(t.at) FILTER (WHERE t.action = 'accept') AS accepted_at,
               min(t.at) FILTER (WHERE t.action = 'decline') AS declined_at,
               min(t.at) FILTER (WHERE t.action = 'transfer_out') AS transferred_at,
               min(t.at) FILTER (WHERE t.action = 'reply') AS replied_at,
               min(t.at) FILTER (WHERE t.action = 'close') AS closed_at,
               min(t.at) FILTER (WHERE t.action = 'feedback') AS feedback_at,
               min(t.at) FILTER (WHERE t.action = 'rate') AS rated_at,
               min(t.at) FILTER (WHERE t.action = 'request_review') AS review_requested_at
        FROM cases c LEFT JOIN case_timeline t USING (case_id)
        WHERE c.received_at >= $1 AND c.received_at < $2
        GROUP BY c.case_id
        """, start, end)
    keys = [r["case_id"] for r in rows]
    overdue: dict[str, datetime] = {}
    report_back: dict[str, tuple[datetime, date]] = {}
    alerts: dict[str, DeadlineOverdue] = {}
    withdrawn: set[str] = set()  # an alert the facts contradicted counts for nothing
    for r in await dbs["deadlines"].fetch("SELECT value FROM outbox WHERE key = ANY($1)", keys):
        envelope = decode(r["value"])
        data = envelope.data
        if isinstance(data, DeadlineOverdue) and data.kind in COUNTED_OVERDUE:
            alerts[envelope.id] = data
        if isinstance(data, DeadlineOverdueWithdrawn):
            withdrawn.add(data.alert_id)
        if isinstance(data, DeadlineScheduled | DeadlineRescheduled) and (
                data.kind == "report_back"):
            due = data.due_date if isinstance(data, DeadlineScheduled) else data.new_due_date
            if data.case_id not in report_back or data.at >= report_back[data.case_id][0]:
                report_back[data.case_id] = (data.at, due)
    for alert_id, alert in alerts.items():
        if alert_id not in withdrawn:
            overdue[alert.case_id] = min(alert.at, overdue.get(alert.case_id, alert.at))
    # Key status and repeat links are routing's decisions: read as routing published them.
    key_case: dict[str, tuple[int, bool]] = {}
    links: dict[str, tuple[datetime, str]] = {}
    for r in await dbs["routing"].fetch("SELECT value FROM outbox WHERE key = ANY($1)", keys):
        data = decode(r["value"]).data
        if isinstance(data, CaseAssigned) and data.assignment_version >= key_case.get(
                data.case_id, (-1, False))[0]:
            key_case[data.case_id] = (data.assignment_version, data.key_case)
        if isinstance(data, CaseLinked) and data.kind != "duplicate" and (
                data.case_id not in links or (data.at, data.kind) < links[data.case_id]):
            links[data.case_id] = (data.at, data.kind)
    return [Case(
        case_id=r["case_id"], channel=r["channel"], jurisdiction=r["jurisdiction"],
        category=r["category"], received_at=r["received_at"], reachable=r["reachable"],
        duplicate=r["link_kind"] == "duplicate",
        units=[(r["assigned_unit"], r["received_at"])] if r["assigned_unit"] else [],
        accepted_at=r["accepted_at"], extension_days=r["extended_days"] or 0,
        closed_at=r["closed_at"], feedback_at=r["feedback_at"], rating=r["rating"],
        rated_at=r["rated_at"], overdue_at=overdue.get(r["case_id"]),
        declined_at=r["declined_at"], transferred_at=r["transferred_at"],
        replied_at=r["replied_at"], review_requested_at=r["review_requested_at"],
        link_kind=links[r["case_id"]][1] if r["case_id"] in links else None,
        linked_at=links[r["case_id"]][0] if r["case_id"] in links else None,
        key_case=key_case.get(r["case_id"], (0, False))[1], assigned_by=r["assigned_by"],
        report_back_due=report_back[r["case_id"]][1] if r["case_id"] in report_back else None,
        signers=r["signers"], urged_at=sorted(r["urged_at"] or []),
    ) for r in rows]
