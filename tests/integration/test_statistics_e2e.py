"""Statistics through the whole real stack, against the intake database.

Thousands of cases over four years go in through intake's HTTP API on all twelve channels, with
random jurisdictions, categories and petitioners (named and reachable, named without contact,
anonymous), some re-sent with the same external id; routing (the real service) assigns them and
links the same matter sent again through another channel as a duplicate; handling units then
enter each case's paper history through the actions API: objections (routing reassigns),
declines, transfers out, acceptances, extensions, answers, closures, feedback, ratings and
reviews, or nothing at all. The deadlines service raises its overdue alerts from what it sees.

When every service has consumed everything about these cases, the truth is computed here from
intake's own tables (``cases`` and ``case_timeline``) with docs/domain.md §5's definitions, and the
overdue instants from the alerts the deadlines service published (its outbox: intake does not
know about alerts). Every summary figure and every breakdown row must equal it, to the case and
to the hundredth of a percent, for many periods, filters and ``as_of`` instants.

Isolation: the cases live in a four-year block of the 20th century in which no case was
received before (the synthetic-event test uses earlier centuries), so nothing else counts.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from shared.domain.limits import start_of_local_day
from shared.domain.vocab import default_vocabulary
from shared.tools.testing.helpers import eventually
from shared.tools.testing.tokens import ADMIN, bearer, channel_token
from tests.integration.intake_support import resident_id
from tests.integration.statistics_checks import compare_everything, getter, truth_cases
from tests.integration.statistics_truth import COUNTED_OVERDUE, HANDOFF_CHANNELS
from tests.integration.test_statistics_support import TOKEN, fresh_block

VOCAB = default_vocabulary()
CASES = 2000
DRIVERS = 24  # cases handled at once, as many clerks would
MATTERS = ("学校以资料费名义违规收费", "教师在校外培训机构有偿补课", "校车超载存在安全隐患",
           "教师绩效工资长期未发放", "招生划片不公", "学校食堂卫生条件差")


def _hours(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=rng.uniform(low * 3600, high * 3600))


def _petitioner(rng: random.Random) -> dict[str, Any]:
    r = rng.random()
    if r < 0.15:
        return {"anonymous": True}
    if r < 0.30:
        return {"name": "王某"}  # named, but no way to reach them: not feedback-eligible
    n = rng.randrange(10**9)
    who: dict[str, Any] = {"name": "李某", "phone": f"13{n:09d}"}
    if rng.random() < 0.5:
        who |= {"id_number": resident_id(birth=f"19{50 + n % 40}0{1 + n % 9}1{n % 10}",
                                         seq=f"{n % 1000:03d}"), "address": "吉州区某路1号"}
    return who


# Bodies that hand cases over: two with their own report-back limit in the local file, one
# without (its channel's limit applies); None leaves the body unnamed.
BODIES = ("江西省信访局", "吉安市人民政府办公室", "吉安市纪委", None)


def _handoff(rng: random.Random, channel: str) -> dict[str, Any]:
    if channel not in HANDOFF_CHANNELS:
        return {}
    body = rng.choice(BODIES)
    return {"assigned_by": body, "assigned_ref": f"交〔{rng.randrange(10**4)}〕号"} if body else {}


def _submission(rng: random.Random, received: datetime) -> dict[str, Any]:
    n = rng.randrange(10**12)
    jurisdiction = rng.choice(VOCAB.jurisdictions.codes)
    channel = rng.choice(VOCAB.channels.codes)
    return {
        **_handoff(rng, channel),
        "channel": channel, "external_id": f"e2e-{uuid.uuid4()}",
        # Either the code or the Chinese name is accepted (docs/domain.md §2).
        "jurisdiction": (VOCAB.jurisdictions.label(jurisdiction) if rng.random() < 0.2
                         else jurisdiction),
        "category": rng.choice(VOCAB.categories.codes), "title": rng.choice(MATTERS),
        "content": f"{rng.choice(MATTERS)}，请求调查处理。来信编号{n:012d}，详情见附件{n % 977}。",
        "petitioner": _petitioner(rng), "received_at": received.isoformat(),
        **({"signers": rng.randint(5, 30)} if rng.random() < 0.03 else {}),
    }


class Clerks:
    """The API calls of the workload (admin token for actions: it may act for any unit)."""

    def __init__(self, http: aiohttp.ClientSession, stack: Any, intake: asyncpg.Pool) -> None:
        self.http, self.stack, self.intake = http, stack, intake

    async def submit(self, body: dict[str, Any], expect: int = 201) -> str:
        async with self.http.post(self.stack.url("intake", "/v1/cases"), json=body,
                                  headers=bearer(channel_token(body["channel"]))) as r:
            answer = await r.json()
            assert r.status == expect, (r.status, answer)
            return str(answer["case_id"])

    async def act(self, case_id: str, action: str, at: datetime, **extra: Any) -> None:
        body = {"action": action, "at": at.isoformat(), **extra}
        async with self.http.post(self.stack.url("intake", f"/v1/cases/{case_id}/actions"),
                                  json=body, headers=bearer(ADMIN)) as r:
            assert r.status == 200, (case_id, body, r.status, await r.text())

    async def status(self, case_id: str) -> tuple[str, int]:
        row = await self.intake.fetchrow(
            "SELECT status, assignment_version FROM cases WHERE case_id = $1",
            uuid.UUID(case_id))
        return str(row["status"]), int(row["assignment_version"])

    async def handle(self, rng: random.Random, case_id: str, received: datetime,
                     reachable: bool) -> None:
        """One case's paper history after routing assigned it, entered action by action."""
        t = received + _hours(rng, 0.5, 48)
        r = rng.random()
        if r < 0.05:
            return  # never answered: the acceptance limit passes
        if r < 0.10:
            await self.act(case_id, "decline", t, reason="不属于信访事项")
            return
        if r < 0.13:
            await self.act(case_id, "transfer_out", t, reason="属其他部门职责")
            return
        if r < 0.21:
            await self.act(case_id, "object", t, reason="非本单位职责")

            async def reassigned() -> bool:
                status, version = await self.status(case_id)
                return status != "registered" and version >= 2

            await eventually(reassigned, within=120, what=f"case {case_id} reassigned")
            if (await self.status(case_id))[0] != "assigned":
                return
            t += _hours(rng, 1, 48)
        accepted = t
        await self.act(case_id, "accept", accepted)
        extension = rng.randint(1, 30) if rng.random() < 0.25 else 0
        if rng.random() < 0.2:  # still being handled (overdue, since all this is long past)
            if extension:
                asked = accepted + _hours(rng, 24, 1000)
                await self.act(case_id, "extend", asked, days=extension, reason="案情复杂")
                await self.act(case_id, "approve_extension", asked)
            return
        closed = accepted + timedelta(days=rng.uniform(15, 110))  # on time or late
        if extension:
            asked = accepted + (closed - accepted) * rng.uniform(0.05, 0.6)
            await self.act(case_id, "extend", asked, days=extension, reason="案情复杂")
            await self.act(case_id, "approve_extension", asked)
        replied = closed - _hours(rng, 0, 72)
        await self.act(case_id, "reply", replied)
        await self.act(case_id, "close", closed)
        last = closed
        if rng.random() < (0.8 if reachable else 0.3):
            last = closed + _hours(rng, 0.5, 120)
            await self.act(case_id, "feedback", last)
            if rng.random() < 0.6:
                last += _hours(rng, 0, 240)
                await self.act(case_id, "rate", last, rating=rng.choice(
                    ["satisfied", "basically_satisfied", "unsatisfied"]))
        if rng.random() < 0.05:
            last += _hours(rng, 1, 48)
            await self.act(case_id, "request_review", last)
            await self.act(case_id, "review_decision", last + _hours(rng, 24, 600),
                           reason="维持原处理意见")


async def _concurrently(jobs: list[Any]) -> None:
    gate = asyncio.Semaphore(DRIVERS)

    async def run(job: Any) -> None:
        async with gate:
            await job

    await asyncio.gather(*(run(j) for j in jobs))


async def _settled(dbs: dict[str, asyncpg.Pool], keys: list[str]) -> bool:
    """Every event about these cases published, and consumed by every service that reads it;
    every bureau deadline of theirs fired or ended (all of them fell due long ago)."""
    published: dict[str, list[uuid.UUID]] = {}
    for name in ("intake", "routing", "deadlines"):
        rows = await dbs[name].fetch(
            # The hand-off notices are for the assigning body's system: no service reads them.
            "SELECT event_id, sent_at IS NOT NULL AS sent FROM outbox WHERE key = ANY($1) "
            "AND topic NOT LIKE '%.handoff.events'", keys)
        if not all(r["sent"] for r in rows):
            return False
        published[name] = [r["event_id"] for r in rows]

    async def consumed(reader: str, *writers: str) -> bool:
        ids = [i for w in writers for i in published[w]]
        n = await dbs[reader].fetchval("SELECT count(*) FROM inbox WHERE event_id = ANY($1)",
                                       ids)
        return bool(n == len(ids))

    waiting = await dbs["deadlines"].fetchval(
        "SELECT count(*) FROM timers WHERE case_id = ANY($1) AND kind = ANY($2) "
        "AND next_fire_at IS NOT NULL", keys, sorted(COUNTED_OVERDUE))
    return (waiting == 0 and await consumed("routing", "intake")
            and await consumed("intake", "routing")
            and await consumed("deadlines", "intake", "routing")
            and await consumed("statistics", "intake", "routing", "deadlines"))


async def test_figures_equal_the_truth_in_the_intake_database(stack) -> None:
    seed = random.randrange(10**9)
    rng = random.Random(seed)
    dbs = {name: await asyncpg.create_pool(stack.dsns[name], min_size=1, max_size=4)
           for name in ("intake", "routing", "deadlines", "statistics")}
    try:
        async with aiohttp.ClientSession(headers=bearer(TOKEN)) as http:
            clerks = Clerks(http, stack, dbs["intake"])
            y = await fresh_block(http, stack, rng, years=6, lowest=1901, highest=2010)
            start = start_of_local_day(date(y, 1, 1))
            span = int((start_of_local_day(date(y + 4, 1, 1)) - start).total_seconds())
            bodies = [_submission(rng, (start + timedelta(seconds=rng.randrange(span)))
                                  .astimezone(UTC)) for _ in range(CASES)]
            ids = await asyncio.gather(*[clerks.submit(b) for b in bodies])
            # The same (channel, external_id) again is the same case, not a new one.
            again = rng.sample(range(CASES), CASES // 30)
            assert await asyncio.gather(*[clerks.submit(bodies[i], expect=200)
                                          for i in again]) == [ids[i] for i in again]
            # The same matter again through another channel while the case is open: routing
            # links it as a duplicate (texts compared on keyed sketches), and it is not counted.
            keyed = [i for i, b in enumerate(bodies) if {"phone", "id_number"} & set(
                b["petitioner"])]
            duplicates = [
                {k: v for k, v in bodies[i].items() if not k.startswith("assigned_")}
                | {"external_id": f"e2e-{uuid.uuid4()}",
                   # not a hand-off channel: a reference number belongs to a hand-off only
                   "channel": rng.choice([c for c in VOCAB.channels.codes
                                          if c != bodies[i]["channel"]
                                          and c not in HANDOFF_CHANNELS]),
                   # kept inside the block: a later run's block must start empty
                   "received_at": min(
                       datetime.fromisoformat(bodies[i]["received_at"]) + _hours(rng, 1, 72),
                       start_of_local_day(date(y + 4, 1, 1)) - timedelta(seconds=1)
                   ).isoformat()}
                for i in rng.sample(keyed, len(keyed) // 20)]
            await _routed(dbs["intake"], ids)
            dup_ids = await asyncio.gather(*[clerks.submit(b) for b in duplicates])
            await _routed(dbs["intake"], dup_ids)
            ready = {str(r["case_id"]): r["reachable"] for r in await dbs["intake"].fetch(
                "SELECT case_id, reachable FROM cases WHERE case_id = ANY($1::uuid[]) "
                "AND status = 'assigned'", ids)}
            received = {i: datetime.fromisoformat(b["received_at"]) for i, b in zip(
                [*ids, *dup_ids], [*bodies, *duplicates], strict=True)}
            await _concurrently([clerks.handle(random.Random(f"{seed}/{case_id}"), case_id,
                                               received[case_id], reachable)
                                 for case_id, reachable in ready.items()])

            keys = [*ids, *dup_ids]
            await eventually(lambda: _settled(dbs, keys), within=300, every=1.0,
                             what="every service to consume these cases' events")
            cases = await truth_cases(dbs, start, start_of_local_day(date(y + 4, 1, 1)))
            # Every case of ours received in the block (a duplicate may fall just after it).
            end = start_of_local_day(date(y + 4, 1, 1))
            assert {c.case_id for c in cases} == {k for k in keys if received[k] < end}
            counted = [c for c in cases if not c.duplicate]
            # The workload holds what the figures must handle (else the test proves little).
            linked = sum(c.duplicate for c in cases)
            assert linked >= len(duplicates) * 0.9, (linked, len(duplicates))
            assert sum(c.closed_at is not None for c in counted) > CASES // 2
            assert sum(c.closed_at is not None and not c.on_time() for c in counted) > 20
            assert sum(c.extension_days > 0 and c.closed_at is not None for c in counted) > 20
            assert sum(c.overdue_at is not None for c in counted) > 100
            assert sum(c.rated_at is not None for c in counted) > 100
            assert len({c.unit for c in counted}) > 5
            # … and the assessment indicators' facts.
            assert sum(c.review_requested_at is not None for c in counted) > 10
            assert sum(c.key_case and c.closed_at is not None for c in counted) > 5
            assert sum(c.report_back_due is not None for c in counted) > 50
            await compare_everything(getter(http, stack), rng, cases, y, VOCAB, seed)
    finally:
        for pool in dbs.values():
            await pool.close()


async def _routed(intake: asyncpg.Pool, ids: list[str]) -> None:
    """Until routing has assigned, transferred or linked every one of these cases."""
    async def done() -> bool:
        left = await intake.fetchval(
            "SELECT count(*) FROM cases WHERE case_id = ANY($1::uuid[]) "
            "AND status = 'registered' AND linked_to IS NULL", ids)
        return bool(left == 0)

    await eventually(done, within=120, every=0.5, what=f"routing of {len(ids)} cases")
