"""The fault scenarios and their runner: each runs its faults under the load, waits for the
drain, checks the verdict (tests/chaos/verify.py) and becomes one row of the table.

A scenario that cannot run on this code says why in its row and does not count as passing.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg

from shared.platform.topics import DEADLINE_EVENTS
from shared.tools.stack.layout import SERVICES, Layout
from shared.tools.testing.helpers import end_offsets
from tests.chaos import import_fault, replay
from tests.chaos.cluster import Cluster, kill9
from tests.chaos.faults import FAULT_POINTS, Faults, fault_point_support
from tests.chaos.load import Ledger, Load
from tests.chaos.verify import check, drain
from tests.integration.test_statistics_support import fresh_block

FaultPlan = Callable[[Faults], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    name: str
    plan: FaultPlan | None  # None: the load alone (the replay scenario)
    load_seconds: float
    rate: float = 10.0
    blocked: Callable[[Layout], str | None] = lambda _: None
    # Checks once drained: (stack, the scenario's year, its cases) -> problems.
    after_drain: Callable[[Layout, int, Collection[str]], Awaitable[list[str]]] | None = None


@dataclass(frozen=True)
class Context:
    """What a scenario's verdict was checked against, to check it again."""

    year: int
    ledger: Ledger
    since: dict[int, int]


@dataclass
class Row:
    scenario: str
    verdict: str  # pass | FAIL | cannot run
    faults: str = ""
    submitted: int = 0
    lost: int = 0
    twice: int = 0
    alerts_twice: int = 0
    ready: float | None = None  # the slowest return to ready after a fault, seconds
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    context: Context | None = None


def _each(service_plan: Callable[[Faults, str], Awaitable[None]], times: int,
          services: tuple[str, ...] = SERVICES, gap: tuple[float, float] = (2, 6)) -> FaultPlan:
    async def plan(f: Faults) -> None:
        order = [s for s in services for _ in range(times)]
        f.rng.shuffle(order)
        for service in order:
            await f.pause(*gap)
            await service_plan(f, service)
    return plan


def _repeat(fault: Callable[[Faults], Awaitable[None]], times: int,
            gap: tuple[float, float]) -> FaultPlan:
    async def plan(f: Faults) -> None:
        for _ in range(times):
            await f.pause(*gap)
            await fault(f)
    return plan


def catalogue(short: bool) -> list[Scenario]:
    """The long suite (``make chaos``) or its short form (in the normal test suite)."""
    if short:
        return [Scenario("kill -9 each service", _each(Faults.kill9, 1, gap=(1, 3)),
                         load_seconds=20, rate=8, after_drain=replay.routing_deadlines_replay)]
    kills = [Scenario(f"kill -9 {s} ×10", _each(Faults.kill9, 10, (s,), gap=(1, 4)),
                      load_seconds=50) for s in SERVICES]
    points = [Scenario(f"SIGKILL at {point} ({service})",
                       _repeat(lambda f, p=point, s=service: f.fault_point(p, s), 1, (2, 4)),  # type: ignore[misc]
                       load_seconds=30, blocked=lambda layout, p=point: fault_point_support(  # type: ignore[misc]
                           layout.root, p))
              for point, service in FAULT_POINTS]
    points.append(Scenario(f"SIGKILL at {import_fault.POINT} (intake)",
                           _repeat(import_fault.killed_after_a_batch, 1, (2, 4)),
                           load_seconds=30))
    return [
        *kills,
        Scenario("broker restart ×3", _repeat(Faults.broker_restart, 3, (4, 8)),
                 load_seconds=60),
        Scenario("postgres stopped 60s ×3",
                 _repeat(lambda f: f.postgres_outage(60), 3, (3, 6)), load_seconds=200),
        Scenario("read-only transactions 20s",
                 _repeat(lambda f: f.read_only(20), 1, (3, 6)), load_seconds=40),
        Scenario("pg_cancel_backend 20s",
                 _repeat(lambda f: f.cancel_queries(20), 1, (3, 6)), load_seconds=40),
        Scenario("SIGTERM during a database outage",
                 _repeat(Faults.sigterm_in_outage, 1, (3, 6)), load_seconds=30),
        Scenario("rebalance with batches stalled",
                 _repeat(Faults.rebalance_in_outage, 1, (3, 6)), load_seconds=40),
        Scenario("producer wedge (deadlines)",
                 _repeat(lambda f: f.wedged_producer("deadlines"), 1, (2, 4)), load_seconds=30),
        Scenario("dead-letter topic missing (routing)",
                 _repeat(lambda f: f.dead_letter_topic_missing("routing"), 1, (2, 4)),
                 load_seconds=40),
        *points,
        Scenario("full replay: statistics", None, load_seconds=20,
                 after_drain=replay.statistics_replay),
        Scenario("full replay: routing and deadlines", None, load_seconds=20,
                 after_drain=replay.routing_deadlines_replay),
    ]



@dataclass
class Suite:
    layout: Layout
    cluster: Cluster
    http: aiohttp.ClientSession
    dbs: dict[str, asyncpg.Pool]
    seed: int
    previous: Row | None = None
    # Found before the first scenario (an instance an earlier run left unready).
    preflight: list[str] = field(default_factory=list)

    async def run(self, scenario: Scenario) -> Row:
        reason = scenario.blocked(self.layout)
        if reason:
            return Row(scenario.name, "cannot run", notes=[reason])
        started = time.monotonic()
        rng = random.Random(f"{self.seed}/{scenario.name}")
        row = Row(scenario.name, "FAIL")
        leftovers = await self._everyone_up()
        if leftovers and self.previous is not None:
            # The previous scenario left them so: its row carries it.
            self.previous.notes += leftovers
            self.previous.verdict = "FAIL"
        else:
            self.preflight += leftovers
        self.previous = row
        year = await fresh_block(self.http, _StackUrls(self.layout), rng, years=1)
        since = await end_offsets(self.layout.bootstrap, DEADLINE_EVENTS.name("xinfang"))
        load = Load(self.cluster.intake_urls(), self.dbs["intake"], year, rate=scenario.rate,
                    seed=rng.randrange(10**9))
        faults = Faults(self.layout, self.cluster, self.http, rng, self.dbs, year)
        driving = asyncio.create_task(load.run(self.http))
        loop = asyncio.get_running_loop()
        end_of_load = loop.time() + scenario.load_seconds
        if scenario.plan is not None:
            await scenario.plan(faults)
        await asyncio.sleep(max(0.0, end_of_load - loop.time()))  # the rest of the load
        load.stop()
        await driving
        await load.finish(within=120)
        row.notes += faults.problems
        final = await self.cluster.wait_ready(self.http)
        if final is None:
            row.notes.append("not every instance ready after the faults: "
                             + ", ".join(await self.cluster.not_ready(self.http)))
        waiting = await drain(self.dbs, year, within=300)
        if waiting is not None:
            row.notes.append(f"not drained within 300s: {waiting}")
        found = await check(self.dbs, load.ledger, year, http=self.http,
                            stats_url=self.cluster.instances["statistics"][0].base,
                            bootstrap=self.layout.bootstrap, since=since,
                            root=self.layout.root, urls=self._urls())
        if scenario.after_drain is not None:
            row.notes += await scenario.after_drain(self.layout, year,
                                                    list(load.ledger.answered.values()))
        row.faults = ", ".join(_tally(faults.injected)) or "none"
        row.submitted, row.lost, row.twice = found.submitted, found.lost, found.twice
        row.alerts_twice = found.alerts_twice
        row.ready = max(faults.ready_seconds, default=None)
        row.notes += found.problems
        if load.ledger.given_up:
            row.notes.append(f"{load.ledger.given_up} submission(s) never answered 2xx")
        row.context = Context(year, load.ledger, since)
        row.seconds = time.monotonic() - started
        clean = not row.notes and row.lost == row.twice == row.alerts_twice == 0
        row.verdict = "pass" if clean else "FAIL"
        return row

    def _urls(self) -> dict[str, str]:
        return {s: group[0].base for s, group in self.cluster.instances.items()}

    async def _everyone_up(self) -> list[str]:
        """Every instance running and ready before the scenario; one that a previous
        scenario left unready is restarted here, and that is reported."""
        await self.cluster.ensure_running()
        if await self.cluster.wait_ready(self.http, within=60) is not None:
            return []
        stuck = await self.cluster.not_ready(self.http)
        for instance in self.cluster.all():
            if any(s.startswith(f"{instance.name} ") for s in stuck):
                kill9(instance)
                await instance.wait_exit(10)
                await instance.start()
        await self.cluster.wait_ready(self.http, within=120)
        return [f"left unready for good (restarted by the suite): {', '.join(stuck)}"]


class _StackUrls:
    """What fresh_block needs of the test fixture's stack."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.layout.service_port(service)}{path}"


def _tally(injected: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    for what in injected:
        kind = what.split(" at ")[0] if what.startswith("SIGKILL") else what
        kind = " ".join(kind.split()[:2]) if kind.startswith("kill -9") else kind
        counts[kind] = counts.get(kind, 0) + 1
    return [f"{k} ×{n}" if n > 1 else k for k, n in counts.items()]


def table(rows: list[Row]) -> str:
    head = ["scenario", "faults injected", "submitted", "lost", "twice", "alerts twice",
            "ready (s)", "verdict", "run (s)"]
    body: list[list[Any]] = [
        [r.scenario, r.faults, r.submitted, r.lost, r.twice, r.alerts_twice,
         "-" if r.ready is None else ("never" if r.ready == float("inf") else f"{r.ready:.1f}"),
         r.verdict, f"{r.seconds:.0f}"] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True))
             for line in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"- {r.scenario}: {n}" for r in rows for n in r.notes]
    return "\n".join(lines + (["", *notes] if notes else []))

