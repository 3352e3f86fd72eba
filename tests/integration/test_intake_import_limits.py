"""Import limits and hostile lines, against a real intake process started with small limits:
the file size, the line length, imports at once per client; a line that is not UTF-8 or not
JSON is that line's error, and the import carries on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest

from shared.platform.auth import load_tokens
from shared.tools.stack.layout import PORT_OFFSET
from shared.tools.testing.helpers import unique
from shared.tools.testing.instances import ServiceProcess, running
from shared.tools.testing.tokens import TOKENS_FILE, channel_token
from tests.integration.import_support import (
    COLUMNS,
    finished,
    jsonl_line,
    start_import,
    upload,
)

MAX_BYTES = 8192
MAX_LINE = 1024
JSONL = "application/x-ndjson"


@pytest.fixture(scope="module")
async def small_limits(stack: Any) -> AsyncIterator[ServiceProcess]:
    async with running(stack.layout, "intake", port=18093 + PORT_OFFSET,
                       name="intake-import-limits",
                       env={"XF_IMPORT_MAX_BYTES": str(MAX_BYTES),
                            "XF_IMPORT_MAX_LINE_BYTES": str(MAX_LINE),
                            "XF_IMPORT_MAX_CONCURRENT_PER_CLIENT": "1"}) as proc:
        yield proc


def _no_exception_text(errors: list[dict[str, Any]]) -> None:
    for e in errors:
        for leaked in ("codec", "Error", "Traceback", "0x", "position"):
            assert leaked not in e["message"], e


async def test_a_file_over_the_size_limit_is_refused(small_limits: ServiceProcess) -> None:
    run = unique("big")
    body = b"\n".join(jsonl_line(run, i) for i in range(200)) + b"\n"
    assert len(body) > MAX_BYTES
    async with aiohttp.ClientSession() as http:
        r = await upload(http, small_limits.base, channel_token("city_transfer"), body, JSONL)
        assert r.status == 413, await r.text()
        assert str(MAX_BYTES) in (await r.json())["error"]


async def test_a_line_over_the_line_limit_is_that_lines_error(stack: Any,
                                                              small_limits: ServiceProcess
                                                              ) -> None:
    run = unique("long")
    token = channel_token("city_transfer")
    long_line = jsonl_line(run, 1, content=f"{run} " + "长" * 600)
    assert len(long_line) > MAX_LINE
    body = b"\n".join([jsonl_line(run, 0), long_line, jsonl_line(run, 2)]) + b"\n"
    async with aiohttp.ClientSession() as http:
        final = await finished(http, small_limits.base, token, await start_import(
            http, small_limits.base, token, body, JSONL))
    assert (final["status"], final["accepted"], final["rejected"]) == ("done", 2, 1), final
    [error] = final["errors"]
    assert (error["line"], error["field"]) == (2, "body")
    assert str(MAX_LINE) in error["message"]


async def test_undecodable_lines_are_their_own_errors(small_limits: ServiceProcess) -> None:
    run = unique("bad")
    token = channel_token("city_transfer")
    body = b"\n".join([
        jsonl_line(run, 0),
        b'{"channel": "city_transfer", "title": "\xff\xfe broken"}',
        b'{"channel": "city_transfer", ',
        b"[1, 2",
        jsonl_line(run, 4),
    ]) + b"\n"
    async with aiohttp.ClientSession() as http:
        final = await finished(http, small_limits.base, token, await start_import(
            http, small_limits.base, token, body, JSONL))
    assert (final["status"], final["accepted"], final["rejected"]) == ("done", 2, 3), final
    assert [(e["line"], e["field"]) for e in final["errors"]] == [
        (2, "body"), (3, "body"), (4, "body")]
    assert "UTF-8" in final["errors"][0]["message"]
    assert "JSON" in final["errors"][1]["message"]
    _no_exception_text(final["errors"])


async def test_an_undecodable_csv_row_is_its_own_error(small_limits: ServiceProcess) -> None:
    run = unique("badcsv")
    token = channel_token("provincial_transfer")

    def row(i: int, title: bytes) -> bytes:
        return b",".join([b"provincial_transfer", f"{run}-{i}".encode(),
                          b"2026-03-02T09:30:00+08:00", "吉安县".encode(), b"teacher_pay",
                          title, b"content", "转办人".encode(), b"no"])

    body = b"\n".join([",".join(COLUMNS).encode(), row(0, b"ok"), row(1, b"\xc3\x28"),
                       row(2, b"ok")]) + b"\n"
    async with aiohttp.ClientSession() as http:
        final = await finished(http, small_limits.base, token, await start_import(
            http, small_limits.base, token, body, "text/csv"))
    assert (final["status"], final["accepted"], final["rejected"]) == ("done", 2, 1), final
    assert [(e["line"], e["field"]) for e in final["errors"]] == [(3, "row")]
    _no_exception_text(final["errors"])


async def test_one_client_may_run_only_so_many_imports_at_once(stack: Any,
                                                               small_limits: ServiceProcess
                                                               ) -> None:
    token = channel_token("email")
    body = jsonl_line(unique("conc"), 0, channel="email") + b"\n"
    # An import of this client still queued (its file is on another host, say).
    conn = await asyncpg.connect(stack.dsns["intake"])
    busy = uuid.uuid4()
    client = load_tokens(TOKENS_FILE).authenticate_token(token)
    assert client is not None
    await conn.execute(
        "INSERT INTO imports (import_id, format, status, submitted_by, principal) "
        "VALUES ($1, 'jsonl', 'queued', $2, $3::jsonb)", busy, client.actor_id,
        orjson.dumps(client.to_doc()).decode())
    try:
        async with aiohttp.ClientSession() as http:
            refused = await upload(http, small_limits.base, token, body, JSONL)
            assert refused.status == 429, await refused.text()
            assert int(refused.headers["Retry-After"]) > 0
            assert "1" in (await refused.json())["error"]
            await conn.execute("UPDATE imports SET status = 'done' WHERE import_id = $1", busy)
            accepted = await upload(http, small_limits.base, token, body, JSONL)
            assert accepted.status == 202, await accepted.text()
            await finished(http, small_limits.base, token, (await accepted.json())["import_id"])
    finally:
        await conn.execute("UPDATE imports SET status = 'done' WHERE import_id = $1", busy)
        await conn.close()
