"""The import fault: an intake instance armed at ``import.after_batch`` is handed a file to
import and kills itself with SIGKILL between two of the import's transactions; started again
without the point, the import resumes after the last committed batch. The verdict: the import
done, every row registered exactly once, its counters equal to the rows.

The rows are received in the scenario's year, so the suite's other checks (reconciliation, the
figures against intake's truth) count them with the load's cases.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import aiohttp

from shared.tools.testing.helpers import eventually
from shared.tools.testing.tokens import bearer, channel_token
from tests.chaos.faults import Faults, extra_of

POINT = "import.after_batch"
ROWS = 600
BATCH_ROWS = 100  # several transactions per import, so the point is between two of them
TOKEN = channel_token("provincial_transfer")
COLUMNS = ["channel", "external_id", "received_at", "jurisdiction", "category", "title",
           "content", "petitioner_name", "anonymous"]


def import_file(run: str, year: int, rows: int = ROWS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for i in range(rows):
        writer.writerow(["provincial_transfer", f"{run}-{i}",
                         f"{year}-03-{2 + i % 25:02d}T09:30:00+08:00", "吉安县", "teacher_pay",
                         f"转办件{i}", f"{run} 反映教师绩效工资未按时发放。", "转办人", "否"])
    return out.getvalue().encode()


async def killed_after_a_batch(f: Faults) -> None:
    extra = extra_of(f.cluster, "intake")
    await extra.stop()
    await extra.start({"XF_FAULT_POINT": POINT, "XF_IMPORT_BATCH_ROWS": str(BATCH_ROWS)})
    if await f.cluster.wait_ready(f.http, [extra], within=90) is None:
        f.problems.append(f"{extra.name} armed at {POINT} never became ready")
        await extra.stop()
        await extra.start()
        return
    run = f"chaos-import-{uuid.uuid4().hex[:8]}"
    async with f.http.post(f"{extra.base}/v1/imports", data=import_file(run, f.year),
                           headers={**bearer(TOKEN), "Content-Type": "text/csv"}) as r:
        answer = await r.json(content_type=None)
        if r.status != 202:
            f.problems.append(f"the import was refused: {r.status} {answer}")
            return
    if not await extra.wait_exit(90):
        f.problems.append(f"{extra.name} never reached {POINT}")
        await extra.stop()
    f.injected.append(f"SIGKILL at {POINT}")
    await extra.start()
    await f._ready_after(f"the fault point {POINT}")
    f.problems += await _counted_once(f, run, str(answer["import_id"]))


async def _counted_once(f: Faults, run: str, import_id: str) -> list[str]:
    url = f"{f.cluster.intake_urls()[0]}/v1/imports/{import_id}"

    async def ended() -> dict[str, Any] | None:
        try:
            async with f.http.get(url, headers=bearer(TOKEN)) as r:
                state: dict[str, Any] = await r.json()
        except aiohttp.ClientError:
            return None
        return state if state.get("status") in ("done", "failed") else None

    final = await eventually(ended, within=180, every=0.5, what=f"import {import_id}")
    counts = (final["status"], final["total"], final["accepted"], final["duplicates"],
              final["rejected"])
    problems = []
    if counts != ("done", ROWS, ROWS, 0, 0):
        problems.append(f"the import ended {counts}, not done with {ROWS} rows accepted once")
    rows = await f.dbs["intake"].fetchval(
        "SELECT count(*) FROM cases WHERE external_id LIKE $1", f"{run}-%")
    if rows != ROWS:
        problems.append(f"the import registered {rows} cases for {ROWS} rows")
    return problems
