"""Reconciliation through the real stack: cases go in through intake's API on a few days of a
year nobody else uses, routing links a duplicate, a unit accepts and closes one; then every
service's ``GET /v1/reconcile`` counts them per received day, ``xf reconcile`` prints no drift
and exits 0, and a case hidden from the statistics projection is drift on its day and pair
(exit 1). An extra routing instance exports the totals as ``xinfang_reconcile_count``."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from shared.domain.limits import start_of_local_day
from shared.tools.cli.reconcile import compare, fetch
from shared.tools.testing.helpers import eventually
from shared.tools.testing.instances import running
from shared.tools.testing.tokens import ADMIN, STAFF, bearer, channel_token
from tests.integration.test_statistics_support import fresh_block

MATTER = "学校食堂卫生条件差，饭菜多次出现变质情况，请求教育局调查处理并答复。"


def _utc(moment: datetime) -> str:
    # RFC 3339 offsets have no seconds (Shanghai's local mean time before 1928 has): send UTC.
    return moment.astimezone(UTC).isoformat()


def _body(channel: str, received: datetime, phone: str) -> dict[str, Any]:
    return {"channel": channel, "external_id": f"rec-{uuid.uuid4()}", "jurisdiction": "jizhou",
            "category": "school_conditions", "title": "食堂卫生", "content": MATTER,
            "received_at": _utc(received),
            "petitioner": {"name": "李某", "phone": phone}}


def _cli(stack: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XF_TOKEN": STAFF}
    return subprocess.run([sys.executable, "-m", "shared.tools.cli.main", "reconcile", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False,
                          cwd=stack.layout.root)


def _urls(stack: Any) -> dict[str, str]:
    return {s: stack.url(s, "") for s in ("intake", "routing", "deadlines", "statistics")}


async def test_every_service_counts_the_same_cases_and_drift_is_found(stack: Any) -> None:
    rng = random.Random()
    async with aiohttp.ClientSession() as http:
        y = await fresh_block(http, stack, rng, years=1)
        day1, day2 = date(y, 3, 2), date(y, 3, 3)
        at1 = start_of_local_day(day1) + timedelta(hours=10)
        at2 = start_of_local_day(day2) + timedelta(hours=9)
        phones = [f"139{rng.randrange(10**8):08d}" for _ in range(4)]
        bodies = [_body("letter", at1, phones[0]), _body("phone", at1, phones[1]),
                  _body("online", at2, phones[2]), _body("email", at2, phones[3])]
        # The first matter again through another channel, while open: a linked duplicate.
        bodies.append(bodies[0] | {"channel": "visit", "external_id": f"rec-{uuid.uuid4()}",
                                   "received_at": _utc(at1 + timedelta(hours=2))})
        ids = []
        for body in bodies:
            async with http.post(stack.url("intake", "/v1/cases"), json=body,
                                 headers=bearer(channel_token(body["channel"]))) as r:
                assert r.status == 201, await r.text()
                ids.append((await r.json())["case_id"])
            if len(ids) == 4:
                await _routed(stack, ids)
        await _routed(stack, ids)
        for action, hours in (("accept", 30), ("reply", 60), ("close", 61)):
            body = {"action": action, "at": _utc(at1 + timedelta(hours=hours))}
            async with http.post(stack.url("intake", f"/v1/cases/{ids[1]}/actions"), json=body,
                                 headers=bearer(ADMIN)) as r:
                assert r.status == 200, await r.text()

        first, last = day1.isoformat(), day2.isoformat()
        expected = {
            "intake": {first: {"cases": 3, "counted": 2, "assigned": 2, "linked": 1,
                               "accepted": 1, "closed": 1},
                       last: {"cases": 2, "counted": 2, "assigned": 2, "linked": 0,
                              "accepted": 0, "closed": 0}},
            "routing": {first: {"petitions": 3, "assigned": 2, "linked": 1},
                        last: {"petitions": 2, "assigned": 2, "linked": 0}},
            "deadlines": {first: {"cases": 3, "timed": 3, "handling": 1},
                          last: {"cases": 2, "timed": 2, "handling": 0}},
            "statistics": {first: {"received": 2, "closed": 1},
                           last: {"received": 2, "closed": 0}},
        }

        async def settled() -> bool:
            answers = await asyncio.to_thread(fetch, _urls(stack), STAFF, day1, day2)
            return answers == expected

        await eventually(settled, within=60, every=0.5, what="the counts of these cases")
        assert compare(expected) == []

        ok = await asyncio.to_thread(_cli, stack, "--from", first, "--to", last)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert ok.stdout.strip().endswith("drift: 0")
        assert "5 case(s) in intake" in ok.stdout

        # A case the projection lost: drift on its day, in the statistics pair, exit 1.
        stats = await asyncpg.connect(stack.dsns["statistics"])
        try:
            await stats.execute("UPDATE case_fact SET counted = false WHERE case_id = $1",
                                ids[2])
            bad = await asyncio.to_thread(_cli, stack, "--from", first, "--to", last)
            assert bad.returncode == 1, bad.stdout + bad.stderr
            assert f"{last}  statistics_received" in bad.stdout, bad.stdout
            assert bad.stdout.strip().endswith("drift: 1")
        finally:
            await stats.execute("UPDATE case_fact SET counted = true WHERE case_id = $1", ids[2])
            await stats.close()

        url = stack.url("routing", "/v1/reconcile")
        async with http.get(url) as r:
            assert r.status == 401
        async with http.get(url, headers=bearer(channel_token("letter"))) as r:
            assert r.status == 403
        async with http.get(url, params={"from": "2026-13-01"}, headers=bearer(STAFF)) as r:
            assert r.status == 422
        async with http.get(url, params={"from": last, "to": first}, headers=bearer(STAFF)) as r:
            assert r.status == 422


async def test_an_instance_exports_its_totals_before_the_settled_horizon(stack: Any) -> None:
    port = stack.layout.extra_port(18282)
    env = {"XF_RECONCILE_INTERVAL_SECONDS": "0.5"}
    async with running(stack.layout, "routing", port=port, name="routing-reconcile",
                       env=env) as routing, aiohttp.ClientSession() as http:
        db = await asyncpg.connect(stack.dsns["routing"])
        try:
            async def exported() -> bool:
                horizon = await routing.metric(http, "xinfang_reconcile_horizon_timestamp_"
                                               "seconds")
                got = await routing.metric(http, "xinfang_reconcile_count",
                                           'quantity="petitions"', 'service="routing"')
                want = await db.fetchval("SELECT count(*) FROM petitions WHERE received_at < $1",
                                         datetime.fromtimestamp(horizon, UTC))
                return horizon > 0 and got == want and got > 0

            await eventually(exported, within=30, what="the routing totals on /metrics")
        finally:
            await db.close()


async def _routed(stack: Any, ids: list[str]) -> None:
    conn = await asyncpg.connect(stack.dsns["intake"])
    try:
        async def done() -> bool:
            left = await conn.fetchval(
                "SELECT count(*) FROM cases WHERE case_id = ANY($1::uuid[]) "
                "AND status = 'registered' AND linked_to IS NULL", ids)
            return bool(left == 0)

        await eventually(done, within=60, every=0.2, what="routing of the cases")
    finally:
        await conn.close()
