"""Batch import: 10,000 rows with 50 bad ones; progress visible while it runs; idempotent."""

from __future__ import annotations

import csv
import io
import uuid

import aiohttp
import orjson

from shared.tools.testing.helpers import eventually
from shared.tools.testing.tokens import bearer, channel_token
from tests.integration.intake_support import case_count, resident_id

ROWS = 10_000
COLUMNS = ["channel", "external_id", "received_at", "jurisdiction", "category", "title",
           "content", "petitioner_name", "petitioner_id_number", "petitioner_phone",
           "petitioner_address", "anonymous", "signers"]
# (column, bad value, field named in the error)
BAD = [("petitioner_id_number", "360802198001011230", "petitioner.id_number"),
       ("category", "天气", "category"),
       ("petitioner_phone", "999", "petitioner.phone"),
       ("title", "", "title"),
       ("signers", "0", "signers")]


def _csv(run: str) -> tuple[bytes, dict[int, str]]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    expected_errors: dict[int, str] = {}
    for i in range(ROWS):
        row = {"channel": "provincial_transfer", "external_id": f"{run}-{i}",
               "received_at": "2026-03-02T09:30:00+08:00", "jurisdiction": "吉安县",
               "category": "teacher_pay", "title": f"转办件{i}",
               "content": "反映教师绩效工资未按时发放，\n请求协调解决。",  # a newline in a cell
               "petitioner_name": "转办人",
               "petitioner_id_number": resident_id(seq=f"{i % 997:03d}"),
               "petitioner_phone": "0796-8221234", "petitioner_address": "", "anonymous": "否",
               "signers": "1"}
        if i % 200 == 7:  # 50 bad rows spread through the file
            column, value, field = BAD[(i // 200) % len(BAD)]
            row[column] = value
            # Header is line 1; each earlier row spans two lines (the newline in content).
            expected_errors[2 + 2 * i] = field
        writer.writerow([row[c] for c in COLUMNS])
    return "\ufeff".encode() + out.getvalue().encode(), expected_errors


async def test_import_of_ten_thousand_rows_with_fifty_bad(stack) -> None:
    run = f"imp-{uuid.uuid4().hex[:8]}"
    data, expected_errors = _csv(run)
    assert len(expected_errors) == 50
    token = channel_token("provincial_transfer")
    async with aiohttp.ClientSession() as http:
        async with http.post(stack.url("intake", "/v1/imports"), data=data,
                             headers={**bearer(token), "Content-Type": "text/csv"}) as r:
            assert r.status == 202, await r.text()
            import_id = (await r.json())["import_id"]
        url = stack.url("intake", f"/v1/imports/{import_id}")
        seen_totals: set[int] = set()

        async def finished() -> dict | None:
            async with http.get(url, headers=bearer(token)) as r:
                state = await r.json()
            seen_totals.add(state["total"])
            return state if state["status"] in ("done", "failed") else None

        final = await eventually(finished, within=240, every=0.02, what="the import to finish")
    assert final["status"] == "done", final
    assert (final["total"], final["accepted"], final["rejected"]) == (ROWS, ROWS - 50, 50)
    assert {0 < t < ROWS for t in seen_totals} >= {True}, f"no progress seen: {seen_totals}"
    got = {e["line"]: e["field"] for e in final["errors"]}
    assert got == expected_errors
    assert await case_count(stack.dsns["intake"], "external_id LIKE $1", f"{run}-%") == ROWS - 50


async def test_jsonl_import_is_idempotent_per_row(stack) -> None:
    run = f"jl-{uuid.uuid4().hex[:8]}"
    token = channel_token("city_transfer")
    lines = [orjson.dumps({
        "channel": "city_transfer", "external_id": f"{run}-{i}", "jurisdiction": "city",
        "category": "enrollment_exams", "title": "招生问题", "content": "入学政策咨询",
        "petitioner": {"anonymous": True}}) for i in range(30)]
    body = b"\n".join(lines) + b"\n"

    async def import_once(http: aiohttp.ClientSession) -> dict:
        async with http.post(stack.url("intake", "/v1/imports"), data=body,
                             headers={**bearer(token),
                                      "Content-Type": "application/x-ndjson"}) as r:
            assert r.status == 202
            import_id = (await r.json())["import_id"]

        async def done() -> dict | None:
            async with http.get(stack.url("intake", f"/v1/imports/{import_id}"),
                                headers=bearer(token)) as r:
                state = await r.json()
            return state if state["status"] == "done" else None

        return await eventually(done, within=60, what="the JSON Lines import")

    async with aiohttp.ClientSession() as http:
        first = await import_once(http)
        second = await import_once(http)
    assert (first["accepted"], first["duplicates"]) == (30, 0)
    assert (second["accepted"], second["duplicates"]) == (0, 30)
    assert await case_count(stack.dsns["intake"], "external_id LIKE $1", f"{run}-%") == 30
