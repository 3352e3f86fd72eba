"""What the import tests share: files to upload, uploading, and waiting for the outcome."""

from __future__ import annotations

import csv
import io
from typing import Any

import aiohttp
import orjson

from shared.tools.testing.helpers import eventually
from shared.tools.testing.tokens import bearer

COLUMNS = ["channel", "external_id", "received_at", "jurisdiction", "category", "title",
           "content", "petitioner_name", "anonymous"]


def csv_file(run: str, rows: int, channel: str = "provincial_transfer") -> bytes:
    """``rows`` valid rows, each with an external id of its own."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for i in range(rows):
        writer.writerow([channel, f"{run}-{i}", "2026-03-02T09:30:00+08:00", "吉安县",
                         "teacher_pay", f"转办件{i}", f"{run} 反映教师绩效工资未按时发放。",
                         "转办人", "否"])
    return out.getvalue().encode()


def jsonl_line(run: str, i: int, channel: str = "city_transfer", **extra: Any) -> bytes:
    """One valid JSON Lines row without an external id (the content names the run)."""
    return orjson.dumps({
        "channel": channel, "jurisdiction": "city", "category": "enrollment_exams",
        "title": f"招生问题{i}", "content": f"{run} 入学政策咨询 {i}",
        "petitioner": {"anonymous": True}, **extra})


async def upload(http: aiohttp.ClientSession, base: str, token: str, body: bytes,
                 content_type: str) -> aiohttp.ClientResponse:
    async with http.post(f"{base}/v1/imports", data=body,
                         headers={**bearer(token), "Content-Type": content_type}) as r:
        await r.read()
        return r


async def start_import(http: aiohttp.ClientSession, base: str, token: str, body: bytes,
                       content_type: str = "text/csv") -> str:
    r = await upload(http, base, token, body, content_type)
    assert r.status == 202, await r.text()
    return str((await r.json())["import_id"])


async def state(http: aiohttp.ClientSession, base: str, token: str, import_id: str
                ) -> dict[str, Any]:
    async with http.get(f"{base}/v1/imports/{import_id}", headers=bearer(token)) as r:
        assert r.status == 200, await r.text()
        return dict(await r.json())


async def finished(http: aiohttp.ClientSession, base: str, token: str, import_id: str,
                   within: float = 120) -> dict[str, Any]:
    """The import's state once it is done or failed."""
    async def probe() -> dict[str, Any] | None:
        try:
            got = await state(http, base, token, import_id)
        except aiohttp.ClientError:
            return None  # the instance is restarting
        return got if got["status"] in ("done", "failed") else None

    return await eventually(probe, within=within, every=0.1, what=f"import {import_id}")
