"""Statistics figures against ground truth, over the real broker, service and database.

A randomized workload — thousands of cases over four years with random channels,
jurisdictions, categories, units, lifecycles, duplicates, extensions, reassignments, overdue
alerts and redelivered events — is produced straight onto the three topics (routing and deadline
events first, so many overtake their case's registration). The truth is computed here, case by
case, from the generated data with SPEC §5's definitions; every summary figure and every
breakdown row from the API must equal it to the case and to the hundredth of a percent, for
many periods, filters and ``as_of`` instants.

Isolation: the cases live in a random four-year block of the 12th–19th century (checked empty
first), so neither other engineers' cases nor earlier runs of this test touch the figures, and
every ``as_of`` lies before 1900, so alerts other services might raise about these cases at
today's date are not counted either. Units use assignment versions from 1000 up, so an
assignment routing might make of these cases (version 1) never wins.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import aiohttp
import asyncpg

from shared.limits import start_of_local_day
from shared.testing.helpers import end_offsets
from shared.vocab import default_vocabulary
from tests.integration.test_statistics_support import (
    DEADLINE_TOPIC,
    TOKEN,
    Case,
    expected_breakdown,
    expected_summary,
    fresh_block,
    merge_alerts,
    produce,
    settle_deadlines,
    truth,
    wait_applied,
)

VOCAB = default_vocabulary()
CASES = 5000


def _random_cases(rng: random.Random, first_year: int) -> list[Case]:
    start = datetime(first_year, 1, 1, tzinfo=UTC) - timedelta(hours=8)
    span = (datetime(first_year + 4, 1, 1, tzinfo=UTC) - timedelta(hours=8) - start)
    units = ["jizhou_bureau", "jian_bureau", "taihe_bureau", "safety", "finance", "exams",
             "discipline", "city_no1_middle"]
    return [Case.random(rng, start + timedelta(seconds=rng.randrange(int(span.total_seconds()))),
                        VOCAB, units) for _ in range(CASES)]


def _periods(rng: random.Random, y: int) -> list[tuple[date, date]]:
    periods = [(date(y, 1, 1), date(y + 3, 12, 31))]
    periods += [(date(y + i, 1, 1), date(y + i, 12, 31)) for i in range(4)]
    for year in range(y, y + 4):
        for q in range(4):
            first = date(year, 3 * q + 1, 1)
            last = (date(year, 3 * q + 4, 1) if q < 3 else date(year + 1, 1, 1)) - timedelta(1)
            periods.append((first, last))
    for _ in range(10):
        a = date(y, 1, 1) + timedelta(days=rng.randrange(4 * 365))
        b = a + timedelta(days=rng.randrange(1, 400))
        periods.append((a, b))
    return periods


def _instants(rng: random.Random, cases: list[Case], y: int) -> list[datetime]:
    """as_of instants: after everything, exactly at and just before some closures and other
    milestones, mid-day instants, and ends of days (the date form)."""
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


async def test_random_workload_matches_ground_truth(stack) -> None:
    rng = random.Random()
    seed = rng.randrange(10**9)
    rng.seed(seed)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        y = await fresh_block(http, stack, rng, years=6)
        cases = _random_cases(rng, y)
        events = [e for c in cases for e in c.events(rng)]
        # Redeliver a tenth of the events (same ids): they must change nothing.
        redelivered = rng.sample(events, len(events) // 10)
        since = await end_offsets(stack.bootstrap, DEADLINE_TOPIC)
        sent = await produce(stack.bootstrap, events, routing_first=True)
        await produce(stack.bootstrap, redelivered)
        alerts = await settle_deadlines(stack.bootstrap, sent, {c.case_id for c in cases},
                                        since)
        merge_alerts(cases, alerts)
        conn = await asyncpg.connect(stack.dsns["statistics"])
        try:
            await wait_applied(conn, {e.id for _, e in events} | {e.id for e in alerts},
                               within=240)
        finally:
            await conn.close()

        async def get(path: str, **params: str) -> dict:
            async with http.get(stack.url("statistics", path), params=params) as resp:
                body = await resp.json()
                assert resp.status == 200, (params, body)
                return body

        checked = 0
        instants = _instants(rng, cases, y)
        for start, end in _periods(rng, y):
            for as_of in [*rng.sample(instants, 3), instants[0]]:
                params = {"from": start.isoformat(), "to": end.isoformat(),
                          "as_of": as_of.isoformat()}
                got = await get("/v1/stats/summary", **params)
                want = expected_summary(truth(cases, start, end, as_of))
                assert got == want, (seed, params)
                checked += 1
            # as_of as a date: the end of that day (a month's last day, or any day).
            day = rng.choice([end, end + timedelta(days=rng.randrange(120)),
                              start + timedelta(days=rng.randrange(200))])
            params = {"from": start.isoformat(), "to": end.isoformat(), "as_of": day.isoformat()}
            end_of_day = start_of_local_day(day + timedelta(days=1)) - timedelta(microseconds=1)
            got = await get("/v1/stats/summary", **params)
            assert got == expected_summary(truth(cases, start, end, end_of_day)), (seed, params)
            checked += 1
        filter_values = {"channel": list(VOCAB.channels.codes),
                         "jurisdiction": list(VOCAB.jurisdictions.codes),
                         "category": list(VOCAB.categories.codes)}
        for _ in range(100):
            start, end = rng.choice(_periods(rng, y))
            as_of = rng.choice(instants)
            dims = rng.sample(sorted(filter_values), rng.randint(1, 3))
            filters = {d: rng.choice(filter_values[d]) for d in dims}
            params = {"from": start.isoformat(), "to": end.isoformat(),
                      "as_of": as_of.isoformat(), **filters}
            # Chinese names are accepted for filters as well as codes.
            if "jurisdiction" in filters and rng.random() < 0.5:
                params["jurisdiction"] = VOCAB.jurisdictions.label(filters["jurisdiction"])
            got = await get("/v1/stats/summary", **params)
            assert got == expected_summary(truth(cases, start, end, as_of, filters)), (
                seed, params)
            checked += 1
        for by in ("jurisdiction", "category", "channel", "unit", "month"):
            for start, end in [_periods(rng, y)[0], *rng.sample(_periods(rng, y), 4)]:
                for as_of in [instants[0], *rng.sample(instants, 2)]:
                    extra = {}
                    if rng.random() < 0.4:
                        dim = rng.choice(sorted(filter_values))
                        extra[dim] = rng.choice(filter_values[dim])
                    params = {"by": by, "from": start.isoformat(), "to": end.isoformat(),
                              "as_of": as_of.isoformat(), **extra}
                    got = await get("/v1/stats/breakdown", **params)
                    counts = truth(cases, start, end, as_of, extra, group=by)
                    assert got == expected_breakdown(counts, by, VOCAB), (seed, params)
                    checked += 1
        assert checked == 31 * 5 + 100 + 5 * 5 * 3
