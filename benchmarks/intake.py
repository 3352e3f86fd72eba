"""Intake throughput and latency through the real stack, and import speed.

- closed loop: N concurrent clients posting cases as fast as answers come back;
- open loop: a fixed arrival rate (500/s), latency measured from the scheduled send time so
  that queueing shows (no coordinated omission);
- a 100,000-row CSV import, rows/s from upload to done.
The load generator shares the machine's two cores with intake, PostgreSQL and Kafka.
"""

from __future__ import annotations

import asyncio
import csv
import io
import statistics
import time
import uuid

import aiohttp

from shared.tools.testing.tokens import bearer, channel_token

URL = "http://127.0.0.1:8081"
TOKEN = channel_token("online")


def _body(run: str, i: int) -> dict:
    return {"channel": "online", "external_id": f"bench-{run}-{i}", "jurisdiction": "jizhou",
            "category": "fees", "title": "基准测试",
            "content": f"基准测试内容第{i}件，反映收费问题。",
            "petitioner": {"name": "基准", "phone": "13800138000"}}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def closed_loop(http: aiohttp.ClientSession, concurrency: int, total: int) -> None:
    run = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    counter = iter(range(total))

    async def client() -> None:
        for i in counter:
            start = time.perf_counter()
            async with http.post(f"{URL}/v1/cases", json=_body(run, i),
                                 headers=bearer(TOKEN)) as r:
                await r.read()
                assert r.status == 201, r.status
            latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    print(f"closed loop c={concurrency:<3} {total / elapsed:8.0f} cases/s   "
          f"p50 {_pct(latencies, 0.5):6.1f} ms  p99 {_pct(latencies, 0.99):6.1f} ms")


async def open_loop(http: aiohttp.ClientSession, rate: float, seconds: float) -> None:
    run = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    start = time.perf_counter()
    n = int(rate * seconds)

    async def one(i: int) -> None:
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        async with http.post(f"{URL}/v1/cases", json=_body(run, i), headers=bearer(TOKEN)) as r:
            await r.read()
        latencies.append(time.perf_counter() - scheduled)

    await asyncio.gather(*(one(i) for i in range(n)))
    achieved = n / (time.perf_counter() - start)
    print(f"open loop {rate:.0f}/s for {seconds:.0f}s: achieved {achieved:.0f}/s   "
          f"p50 {_pct(latencies, 0.5):6.1f} ms  p99 {_pct(latencies, 0.99):6.1f} ms  "
          f"mean {statistics.mean(latencies) * 1000:.1f} ms")


async def import_rows(http: aiohttp.ClientSession, rows: int) -> None:
    run = uuid.uuid4().hex[:8]
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["channel", "external_id", "jurisdiction", "category", "title", "content",
                "petitioner_name", "petitioner_phone"])
    for i in range(rows):
        w.writerow(["provincial_transfer", f"bench-{run}-{i}", "jian", "teacher_pay",
                    "转办件", f"转办内容{i}：教师待遇问题。", "转办人", "0796-8221234"])
    token = channel_token("provincial_transfer")
    started = time.perf_counter()
    async with http.post(f"{URL}/v1/imports", data=out.getvalue().encode(),
                         headers={**bearer(token), "Content-Type": "text/csv"}) as r:
        import_id = (await r.json())["import_id"]
    while True:
        async with http.get(f"{URL}/v1/imports/{import_id}", headers=bearer(token)) as r:
            state = await r.json()
        if state["status"] in ("done", "failed"):
            break
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - started
    print(f"import {rows} rows: {state['status']}, {state['accepted']} accepted in "
          f"{elapsed:.1f}s = {rows / elapsed:.0f} rows/s")


async def main() -> None:
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as http:
        await closed_loop(http, 4, 400)  # warm-up
        for concurrency in (1, 8, 32, 64):
            await closed_loop(http, concurrency, 3000)
        for rate in (250, 500):
            await open_loop(http, rate, 10)
        await import_rows(http, 100_000)


if __name__ == "__main__":
    asyncio.run(main())
