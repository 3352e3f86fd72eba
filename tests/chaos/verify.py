"""After a scenario: wait for the drain (on state, never on time), then hold the pipeline to
what its clients were told and to intake's database, the system of record.

- drained: every outbox row of intake, routing and deadlines sent; every event about the
  scenario's cases in the inbox of every service that reads its topic; every counted deadline
  of theirs fired or ended;
- lost: a case answered 2xx that intake does not hold under its idempotency key, a case intake
  holds that a downstream service lacks, an action answered 200 missing from the timeline, a
  statistic below the truth;
- counted twice: a statistic above the truth;
- alerts twice: an alert id on the deadline topic more than once, or one alert (case, kind, due
  date, level) under two ids;
- ``xf reconcile`` over the scenario's year at 0; every figure of the scenario's year (summary
  per quarter and for the year, every breakdown) equal to the truth.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from shared.domain.limits import start_of_local_day
from shared.domain.schemas import DeadlineOverdue, DeadlineWarning
from shared.domain.vocab import default_vocabulary
from shared.platform.topics import CASE_EVENTS, DEADLINE_EVENTS, ROUTING_EVENTS
from shared.tools.testing.helpers import read_topic
from shared.tools.testing.tokens import STAFF, bearer
from tests.chaos.load import HARNESS_DB_ERRORS, Ledger
from tests.integration.statistics_cases import Case
from tests.integration.statistics_checks import truth_cases
from tests.integration.statistics_truth import (
    COUNTED_OVERDUE,
    expected_breakdown,
    expected_summary,
    truth,
)

VOCAB = default_vocabulary()
# Which topics each service reads, and who writes them. Other topics (the hand-off topic,
# dead letters) are read outside the system and are not part of the drain.
_CASE, _ROUTING, _DEADLINE = (t.name("xinfang") for t in (CASE_EVENTS, ROUTING_EVENTS,
                                                             DEADLINE_EVENTS))
READS = {"routing": (_CASE,), "intake": (_ROUTING,), "deadlines": (_CASE, _ROUTING),
         "statistics": (_CASE, _ROUTING, _DEADLINE)}
WRITTEN_BY = {_CASE: "intake", _ROUTING: "routing", _DEADLINE: "deadlines"}


@dataclass
class Findings:
    submitted: int = 0
    lost: int = 0
    twice: int = 0
    alerts_twice: int = 0
    drift: int | None = None
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(text)


def block(year: int) -> tuple[datetime, datetime]:
    return start_of_local_day(date(year, 1, 1)), start_of_local_day(date(year + 1, 1, 1))


async def case_ids(dbs: dict[str, asyncpg.Pool], year: int) -> list[str]:
    rows = await dbs["intake"].fetch(
        "SELECT case_id::text FROM cases WHERE received_at >= $1 AND received_at < $2",
        *block(year))
    return [r["case_id"] for r in rows]


async def drain_state(dbs: dict[str, asyncpg.Pool], keys: list[str]) -> str | None:
    """None when drained, else what is still waiting."""
    published: dict[str, list[uuid.UUID]] = {}
    for topic, name in WRITTEN_BY.items():
        unsent = await dbs[name].fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        if unsent:
            return f"{unsent} unsent outbox row(s) in {name}"
        published[topic] = [r["event_id"] for r in await dbs[name].fetch(
            "SELECT event_id FROM outbox WHERE key = ANY($1) AND topic = $2", keys, topic)]
    for reader, topics in READS.items():
        ids = [i for t in topics for i in published[t]]
        n = await dbs[reader].fetchval("SELECT count(*) FROM inbox WHERE event_id = ANY($1)",
                                       ids)
        if n != len(ids):
            return f"{len(ids) - n} event(s) not yet in {reader}'s inbox"
    waiting = await dbs["deadlines"].fetchval(
        "SELECT count(*) FROM timers WHERE case_id = ANY($1) AND kind = ANY($2) "
        "AND next_fire_at IS NOT NULL", keys, sorted(COUNTED_OVERDUE))
    return f"{waiting} deadline(s) still to fire" if waiting else None


async def drain(dbs: dict[str, asyncpg.Pool], year: int, within: float,
                stalled: float = 180.0) -> str | None:
    """Wait for the drain; None when drained, else the last thing still waiting. Gives up
    early when nothing has moved for ``stalled`` seconds (an event lost for good)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: str | None = "not checked"
    moved = loop.time()
    while loop.time() < deadline:
        try:
            state = await drain_state(dbs, await case_ids(dbs, year))
        except HARNESS_DB_ERRORS as exc:
            state = f"database: {exc}"
        if state is None:
            return None
        if state != last:
            last, moved = state, loop.time()
        elif loop.time() - moved > stalled:
            return f"{last} (no progress for {stalled:.0f}s)"
        await asyncio.sleep(1.0)
    return last


async def check(dbs: dict[str, asyncpg.Pool], ledger: Ledger, year: int, *,
                http: aiohttp.ClientSession, stats_url: str, bootstrap: str,
                since: dict[int, int], root: Path, urls: dict[str, str]) -> Findings:
    f = Findings(submitted=len(ledger.answered))
    keys = await case_ids(dbs, year)
    await _answered_once(dbs, ledger, f)
    await _downstream(dbs, keys, f)
    await _actions(dbs, ledger, f)
    cases = await truth_cases(dbs, *block(year))
    await _statistics(http, stats_url, cases, year, f)
    await _alerts(bootstrap, since, set(keys), f)
    f.drift = await asyncio.to_thread(reconcile_drift, root, year, urls)
    if f.drift is None:
        f.problem("xf reconcile could not ask every service")
    elif f.drift:
        f.problem(f"xf reconcile: drift {f.drift}")
    if ledger.resent_other:
        f.problem(f"{len(ledger.resent_other)} re-sent case(s) answered with another case")
    return f


async def _answered_once(dbs: dict[str, asyncpg.Pool], ledger: Ledger, f: Findings) -> None:
    rows = await dbs["intake"].fetch(
        "SELECT channel, external_id, case_id::text FROM cases WHERE external_id = ANY($1)",
        [k[1] for k in ledger.answered])
    held = Counter((r["channel"], r["external_id"]) for r in rows)
    by_key = {(r["channel"], r["external_id"]): r["case_id"] for r in rows}
    missing = [k for k, case in ledger.answered.items() if by_key.get(k) != case]
    doubled = [k for k, n in held.items() if n > 1]
    if missing:
        f.lost += len(missing)
        f.problem(f"{len(missing)} case(s) answered 2xx not in intake, e.g. {missing[0]}")
    if doubled:
        f.twice += len(doubled)
        f.problem(f"{len(doubled)} idempotency key(s) registered twice")


async def _downstream(dbs: dict[str, asyncpg.Pool], keys: list[str], f: Findings) -> None:
    queries = {
        "routing": "SELECT case_id::text FROM petitions WHERE case_id = ANY($1::uuid[])",
        "deadlines": "SELECT case_id FROM cases WHERE case_id = ANY($1) "
                     "AND received_at IS NOT NULL",
        "statistics": "SELECT case_id FROM case_fact WHERE case_id = ANY($1) AND registered",
    }
    absent: set[str] = set()
    for service, sql in queries.items():
        found = {r[0] for r in await dbs[service].fetch(sql, keys)}
        gone = set(keys) - found
        if gone:
            f.problem(f"{len(gone)} case(s) missing in {service}, e.g. {sorted(gone)[0]}")
            absent |= gone
    f.lost += len(absent)


async def _actions(dbs: dict[str, asyncpg.Pool], ledger: Ledger, f: Findings) -> None:
    rows = await dbs["intake"].fetch(
        "SELECT case_id::text, array_agg(action) AS actions FROM case_timeline "
        "WHERE case_id = ANY($1::uuid[]) GROUP BY case_id", list(ledger.acted))
    timeline = {r["case_id"]: set(r["actions"]) for r in rows}
    missing = sum(len(set(done) - timeline.get(case, set()))
                  for case, done in ledger.acted.items())
    if missing:
        f.lost += missing
        f.problem(f"{missing} action(s) answered 200 missing from the timeline")


async def _statistics(http: aiohttp.ClientSession, url: str, cases: list[Case], year: int,
                      f: Findings) -> None:
    as_of = datetime(year + 5, 12, 31, tzinfo=UTC)
    spans = [(date(year, 1, 1), date(year, 12, 31)), *quarters(year)]
    wrong = []
    for i, (first, last) in enumerate(spans):
        params = {"from": first.isoformat(), "to": last.isoformat(), "as_of": as_of.isoformat()}
        got = await _get(http, f"{url}/v1/stats/summary", params)
        want = expected_summary(truth(cases, first, last, as_of))
        if i == 0:
            for figure in ("received", "closed"):
                f.twice += max(0, got[figure] - want[figure])
                f.lost += max(0, want[figure] - got[figure])
        if got != want:
            wrong.append(f"summary {first}..{last}: {_diff(got, want)}")
    first, last = spans[0]
    for by in ("jurisdiction", "category", "channel", "unit", "month"):
        params = {"by": by, "from": first.isoformat(), "to": last.isoformat(),
                  "as_of": as_of.isoformat()}
        got = await _get(http, f"{url}/v1/stats/breakdown", params)
        if got != expected_breakdown(truth(cases, first, last, as_of, group=by), by, VOCAB):
            wrong.append(f"breakdown by {by}")
    if wrong:
        f.problem("statistics differ from intake's truth: " + "; ".join(wrong[:3]))


def quarters(year: int) -> list[tuple[date, date]]:
    firsts = [date(year, m, 1) for m in (1, 4, 7, 10)] + [date(year + 1, 1, 1)]
    return [(a, b - timedelta(days=1)) for a, b in itertools.pairwise(firsts)]


def _diff(got: dict[str, Any], want: dict[str, Any]) -> str:
    return ", ".join(f"{k} {got.get(k)} != {v}" for k, v in want.items() if got.get(k) != v)


async def _get(http: aiohttp.ClientSession, url: str, params: dict[str, str]) -> dict[str, Any]:
    async with http.get(url, params=params, headers=bearer(STAFF)) as r:
        body = await r.json()
        assert r.status == 200, (url, params, body)
        return dict(body)


async def _alerts(bootstrap: str, since: dict[int, int], keys: set[str], f: Findings) -> None:
    messages = await read_topic(bootstrap, DEADLINE_EVENTS.name("xinfang"), since=since)
    ids: Counter[str] = Counter()
    alerts: Counter[tuple[Any, ...]] = Counter()
    for _, env in messages:
        if env is None or env.subject not in keys:
            continue
        if isinstance(env.data, DeadlineWarning | DeadlineOverdue):
            ids[env.id] += 1
            level = env.data.days_left if isinstance(env.data, DeadlineWarning) else -1
            alerts[(env.subject, env.type, env.data.kind, env.data.due_date, level)] += 1
    repeated = sum(n - 1 for n in ids.values() if n > 1)
    reissued = sum(n - 1 for n in alerts.values() if n > 1) - repeated
    f.alerts_twice = repeated + max(0, reissued)
    if not ids:
        f.problem("no alert about these cases on the deadline topic (nothing to check)")
    if f.alerts_twice:
        f.problem(f"alerts twice: {repeated} id(s) repeated, {max(0, reissued)} re-issued")


def reconcile_drift(root: Path, year: int, urls: dict[str, str]) -> int | None:
    """``xf reconcile --json`` over the year received (and the next, where actions fall)."""
    env = {**os.environ, "XF_TOKEN": STAFF,
           **{f"XF_{s.upper()}_URL": u for s, u in urls.items()}}
    done = subprocess.run(
        [sys.executable, "-m", "shared.tools.cli.main", "reconcile", "--json",
         "--from", f"{year:04d}-01-01", "--to", f"{year:04d}-12-31"],
        capture_output=True, text=True, env=env, cwd=root, timeout=120, check=False)
    if done.returncode not in (0, 1):
        return None
    return int(json.loads(done.stdout)["drift"])
