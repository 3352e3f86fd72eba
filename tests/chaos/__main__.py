"""``make chaos``: the fault suite against the local stack (started if needed), two instances
of every service; prints the table. Exit 0 only when every scenario ran and passed.

    python -m tests.chaos [--short] [--only TEXT ...] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from datetime import UTC, datetime

import aiohttp
import asyncpg

from shared.tools.stack import control
from shared.tools.stack.kafka import StackError
from shared.tools.stack.layout import SERVICES, Layout
from tests.chaos.cluster import Cluster
from tests.chaos.scenarios import Row, Suite, catalogue, table


async def run_suite(layout: Layout, *, short: bool, only: list[str] | None, seed: int,
                    say: bool = True) -> list[Row]:
    scenarios = [s for s in catalogue(short) if not only or any(o in s.name for o in only)]
    dsns = control.dsns(layout)
    dbs = {s: await asyncpg.create_pool(dsns[s], min_size=0, max_size=4) for s in SERVICES}
    cluster = Cluster.of(layout)
    rows: list[Row] = []
    try:
        async with aiohttp.ClientSession() as http:
            await cluster.start_extras(http)
            suite = Suite(layout, cluster, http, dbs, seed)
            for scenario in scenarios:
                if say:
                    print(f"{datetime.now(UTC):%H:%M:%S} {scenario.name} ...", flush=True)
                rows.append(await suite.run(scenario))
                if say:
                    print(table(rows[-1:]), flush=True)
            if say and suite.preflight:
                print("before the suite: " + "; ".join(suite.preflight), flush=True)
    finally:
        await cluster.stop_extras()
        for pool in dbs.values():
            pool.terminate()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos")
    parser.add_argument("--short", action="store_true", help="the short form only")
    parser.add_argument("--only", action="append",
                        help="scenarios whose name contains this (again for more)")
    parser.add_argument("--seed", type=int, default=random.randrange(10**9))
    args = parser.parse_args()
    layout = Layout()
    try:
        control.up(layout, services=True, say=lambda _: None)
    except StackError as exc:
        # A service left unready by an earlier run: the suite restarts it and says so.
        print(f"stack: {exc}", flush=True)
    print(f"chaos suite, seed {args.seed}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", flush=True)
    rows = asyncio.run(run_suite(layout, short=args.short, only=args.only, seed=args.seed))
    print("\n" + table(rows))
    ok = all(r.verdict == "pass" for r in rows)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
