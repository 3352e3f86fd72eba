"""The load under which faults are injected: cases posted on every channel through intake's
HTTP API (both instances, each client retrying with its idempotency key until it gets a 2xx),
some re-sent, and units accepting, answering and closing cases at the same time.

What the clients were told is the ledger the verdict is checked against: every case answered
2xx must exist exactly once, every action answered 200 must be in the case's timeline.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg

from shared.domain.limits import start_of_local_day
from shared.domain.vocab import default_vocabulary
from shared.tools.testing.tokens import ADMIN, bearer, channel_token

VOCAB = default_vocabulary()
# What the suite's own reads of a database may meet while a fault is on (it tries again).
HARNESS_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError,
                     asyncpg.exceptions.InternalClientError, OSError)
HANDLED = ("accept", "reply", "close")
MATTERS = ("学校以资料费名义违规收费", "教师在校外培训机构有偿补课", "校车超载存在安全隐患",
           "教师绩效工资长期未发放", "招生划片不公", "学校食堂卫生条件差")


@dataclass
class Ledger:
    # (channel, external_id) → the case id intake answered with (2xx)
    answered: dict[tuple[str, str], str] = field(default_factory=dict)
    received: dict[str, datetime] = field(default_factory=dict)
    # case id → the actions intake answered 200 to (or that a retry found already applied)
    acted: dict[str, list[str]] = field(default_factory=dict)
    resent_same: int = 0
    resent_other: list[str] = field(default_factory=list)  # a re-send answered another id
    failures: Counter[str] = field(default_factory=Counter)  # non-2xx answers and errors
    given_up: int = 0  # submissions never answered 2xx before the load's deadline


def _utc(moment: datetime) -> str:
    # RFC 3339 offsets have no seconds (Shanghai's local mean time before 1928 has): send UTC.
    return moment.astimezone(UTC).isoformat()


class Load:
    def __init__(self, urls: list[str], intake_db: asyncpg.Pool, year: int, *,
                 rate: float, seed: int, handle_share: float = 0.5) -> None:
        self.urls, self.db, self.year, self.rate = urls, intake_db, year, rate
        self.rng = random.Random(seed)
        self.handle_share = handle_share
        self.ledger = Ledger()
        self.stopping = asyncio.Event()
        self.give_up_at: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._gate = asyncio.Semaphore(24)
        self._start = start_of_local_day(datetime(year, 1, 1).date())
        self._span = (start_of_local_day(datetime(year + 1, 1, 1).date())
                      - self._start).total_seconds() - 86400 * 40

    # -- driving ---------------------------------------------------------------------------

    async def run(self, http: aiohttp.ClientSession) -> None:
        """Submit at ``rate`` cases a second until :meth:`stop`."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not self.stopping.is_set():
            self._spawn(self._submit(http, self._body()))
            next_at += 1.0 / self.rate
            try:
                await asyncio.wait_for(self.stopping.wait(), max(0.0, next_at - loop.time()))
            except TimeoutError:
                pass

    def stop(self) -> None:
        self.stopping.set()

    async def finish(self, within: float) -> None:
        """Let every pending submission and handling end; what is not answered within
        ``within`` seconds is given up (counted, not silently dropped)."""
        loop = asyncio.get_running_loop()
        self.give_up_at = loop.time() + within
        while self._tasks and loop.time() < self.give_up_at + 5:
            await asyncio.wait(set(self._tasks), timeout=1.0)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, job: Any) -> None:
        task = asyncio.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _late(self) -> bool:
        return self.give_up_at is not None and asyncio.get_running_loop().time() > self.give_up_at

    # -- one case --------------------------------------------------------------------------

    def _body(self) -> dict[str, Any]:
        rng = self.rng
        received = self._start + timedelta(seconds=rng.uniform(0, self._span))
        who: dict[str, Any] = ({"anonymous": True} if rng.random() < 0.15 else
                               {"name": "李某", "phone": f"13{rng.randrange(10**9):09d}"})
        n = rng.randrange(10**12)
        return {"channel": rng.choice(VOCAB.channels.codes),
                "external_id": f"chaos-{uuid.uuid4()}",
                "jurisdiction": rng.choice(VOCAB.jurisdictions.codes),
                "category": rng.choice(VOCAB.categories.codes),
                "title": rng.choice(MATTERS),
                "content": f"{rng.choice(MATTERS)}，请求调查处理。编号{n:012d}。",
                "received_at": _utc(received), "petitioner": who}

    async def _post(self, http: aiohttp.ClientSession, path: str, body: dict[str, Any],
                    token: str) -> tuple[int, Any]:
        url = self.rng.choice(self.urls) + path
        try:
            async with http.post(url, json=body, headers=bearer(token),
                                 timeout=aiohttp.ClientTimeout(total=20)) as r:
                answer = await r.json(content_type=None) if r.content_length != 0 else None
                if r.status >= 300:
                    self.ledger.failures[f"HTTP {r.status}"] += 1
                return r.status, answer
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self.ledger.failures[type(exc).__name__] += 1
            return 0, None

    async def _submit(self, http: aiohttp.ClientSession, body: dict[str, Any]) -> None:
        key = (body["channel"], body["external_id"])
        async with self._gate:
            while True:
                status, answer = await self._post(http, "/v1/cases", body,
                                                  channel_token(body["channel"]))
                if status in (200, 201):
                    break
                if self._late():
                    self.ledger.given_up += 1
                    return
                await asyncio.sleep(self.rng.uniform(0.2, 1.0))
        case_id = str(answer["case_id"])
        self.ledger.answered[key] = case_id
        self.ledger.received[case_id] = datetime.fromisoformat(body["received_at"])
        if self.rng.random() < 0.05:
            self._spawn(self._resend(http, body, case_id))
        if self.rng.random() < self.handle_share:
            self._spawn(self._handle(http, case_id))

    async def _resend(self, http: aiohttp.ClientSession, body: dict[str, Any],
                      case_id: str) -> None:
        while not self._late():
            status, answer = await self._post(http, "/v1/cases", body,
                                              channel_token(body["channel"]))
            if status in (200, 201):
                if str(answer["case_id"]) == case_id and status == 200:
                    self.ledger.resent_same += 1
                else:
                    self.ledger.resent_other.append(case_id)
                return
            await asyncio.sleep(self.rng.uniform(0.2, 1.0))

    async def _handle(self, http: aiohttp.ClientSession, case_id: str) -> None:
        """A unit accepts, answers and closes the case once routing assigned it."""
        t = self.ledger.received[case_id] + timedelta(hours=self.rng.uniform(1, 48))
        for action in HANDLED:
            t += timedelta(hours=self.rng.uniform(1, 24 * 20))
            while (outcome := await self._act(http, case_id, action, t)) == "retry":
                if self._late():
                    return
                await asyncio.sleep(self.rng.uniform(0.3, 1.5))
            if outcome == "abandon":
                return
            self.ledger.acted.setdefault(case_id, []).append(action)

    async def _act(self, http: aiohttp.ClientSession, case_id: str, action: str,
                   at: datetime) -> str:
        """``done``, ``retry`` or ``abandon`` (routing transferred or linked the case)."""
        async with self._gate:
            status, _ = await self._post(http, f"/v1/cases/{case_id}/actions",
                                         {"action": action, "at": _utc(at)}, ADMIN)
        if status == 200:
            return "done"
        if status != 409:
            return "retry"
        # Not assigned yet, or applied already by a try whose answer was lost.
        try:
            row = await self.db.fetchrow(
                "SELECT status, linked_to IS NOT NULL AS linked, EXISTS (SELECT 1 FROM "
                "case_timeline t WHERE t.case_id = c.case_id AND t.action = $2) AS done "
                "FROM cases c WHERE case_id = $1", uuid.UUID(case_id), action)
        except HARNESS_DB_ERRORS:
            return "retry"
        if row is None:
            return "retry"
        if row["done"]:
            return "done"
        if row["linked"] or row["status"] in ("transferred_out", "declined"):
            return "abandon"
        return "retry"
