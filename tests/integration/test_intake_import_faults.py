"""Imports under faults, against a real extra intake process and the real database: a kill -9
between a batch's registrations and its progress, PostgreSQL cutting the importer's
connections mid-import, and the same file uploaded twice."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from typing import Any

import aiohttp
import asyncpg

from shared.tools.stack.layout import PORT_OFFSET
from shared.tools.testing.helpers import eventually, unique
from shared.tools.testing.instances import ServiceProcess
from shared.tools.testing.tokens import channel_token
from tests.integration.import_support import (
    csv_file,
    finished,
    jsonl_line,
    start_import,
    state,
)
from tests.integration.intake_support import case_count

ROWS = 3000
TOKEN = channel_token("provincial_transfer")


def _instance(stack: Any, name: str, port: int, **env: str) -> ServiceProcess:
    # Small batches: many transactions per import, so a fault lands between two of them.
    return ServiceProcess(stack.layout, "intake", port=port + PORT_OFFSET, name=name,
                          env={"XF_IMPORT_BATCH_ROWS": "200", **env})


async def _first_batch_done(http: aiohttp.ClientSession, base: str, import_id: str) -> None:
    async def progressed() -> bool:
        return (await state(http, base, TOKEN, import_id))["total"] > 0

    await eventually(progressed, within=60, every=0.005, what="the first batch")


async def _kill_between_registrations_and_progress(http: aiohttp.ClientSession,
                                                   stack: Any, proc: ServiceProcess,
                                                   import_id: str) -> None:
    """Kill ``proc`` -9 while it writes a batch: after that batch's cases were written and
    before its progress was (when the two are separate transactions)."""
    holder = await asyncpg.connect(stack.dsns["intake"])
    # Another session: inside the holder's transaction the activity view would not change.
    watcher = await asyncpg.connect(stack.dsns["intake"])
    try:
        await _first_batch_done(http, proc.base, import_id)
        # Hold the import's row: the next batch's progress write has to wait for it.
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM imports WHERE import_id = $1 FOR UPDATE",
                                 uuid.UUID(import_id))

            async def importer_waits() -> bool:
                return bool(await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database() AND query ILIKE '%imports%'"))

            await eventually(importer_waits, within=30, every=0.01,
                             what="the importer to wait on its progress row")
            assert proc.proc is not None
            os.kill(proc.proc.pid, signal.SIGKILL)
            await proc.proc.wait()
    finally:
        await holder.close()
        await watcher.close()


async def _counted_once(stack: Any, run: str, final: dict[str, Any]) -> None:
    assert final["status"] == "done", final
    assert (final["total"], final["accepted"], final["duplicates"], final["rejected"]) == (
        ROWS, ROWS, 0, 0), final
    assert await case_count(stack.dsns["intake"], "external_id LIKE $1", f"{run}-%") == ROWS


async def test_kill_between_registrations_and_progress_counts_every_row_once(stack) -> None:
    run = unique("imp-kill")
    proc = _instance(stack, "intake-import-kill", 18091)
    await proc.start()
    try:
        async with aiohttp.ClientSession() as http:
            await proc.wait_ready(http)
            import_id = await start_import(http, proc.base, TOKEN, csv_file(run, ROWS))
            await _kill_between_registrations_and_progress(http, stack, proc, import_id)
            await proc.start()  # the same instance again: it resumes the import
            await proc.wait_ready(http)
            final = await finished(http, proc.base, TOKEN, import_id)
    finally:
        await proc.stop()
    await _counted_once(stack, run, final)


async def test_killed_right_after_a_batch_it_resumes_after_that_batch(stack) -> None:
    run = unique("imp-point")
    proc = _instance(stack, "intake-import-point", 18096, XF_FAULT_POINT="import.after_batch")
    await proc.start()
    try:
        async with aiohttp.ClientSession() as http:
            await proc.wait_ready(http)
            import_id = await start_import(http, proc.base, TOKEN, csv_file(run, ROWS))
            assert proc.proc is not None
            assert await proc.proc.wait() == -signal.SIGKILL
            assert (await state(http, stack.url("intake", ""), TOKEN, import_id))["total"] == 200
            proc.env["XF_FAULT_POINT"] = ""
            await proc.start()
            await proc.wait_ready(http)
            final = await finished(http, proc.base, TOKEN, import_id)
    finally:
        await proc.stop()
    await _counted_once(stack, run, final)


async def test_an_import_of_a_killed_instance_is_carried_on_by_another(stack) -> None:
    run = unique("imp-takeover")
    killed = _instance(stack, "intake-import-killed", 18094)
    survivor = _instance(stack, "intake-import-survivor", 18095,
                         XF_IMPORT_RESUME_INTERVAL_SECONDS="1")
    await killed.start()
    await survivor.start()
    try:
        async with aiohttp.ClientSession() as http:
            await killed.wait_ready(http)
            await survivor.wait_ready(http)
            import_id = await start_import(http, killed.base, TOKEN, csv_file(run, ROWS))
            await _kill_between_registrations_and_progress(http, stack, killed, import_id)
            final = await finished(http, survivor.base, TOKEN, import_id)
    finally:
        await killed.stop()
        await survivor.stop()
    await _counted_once(stack, run, final)


async def test_database_cutting_connections_mid_import_pauses_it_and_it_finishes(stack
                                                                                ) -> None:
    run = unique("imp-blip")
    app = f"xf-import-blip-{uuid.uuid4().hex[:6]}"
    proc = _instance(stack, "intake-import-blip", 18092,
                     XF_DATABASE_URL=f"{stack.dsns['intake']}?application_name={app}")
    await proc.start()
    killer = await asyncpg.connect(stack.dsns["intake"])
    try:
        async with aiohttp.ClientSession() as http:
            await proc.wait_ready(http)
            import_id = await start_import(http, proc.base, TOKEN, csv_file(run, ROWS))
            await _first_batch_done(http, proc.base, import_id)
            cut = 0
            loop = asyncio.get_running_loop()
            until = loop.time() + 3
            while loop.time() < until:  # a flapping database: cut every connection, often
                cut += len(await killer.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = $1", app))
                await asyncio.sleep(0.05)
            assert cut > 0
            final = await finished(http, proc.base, TOKEN, import_id)
            assert await proc.metric(http, "xinfang_import_pauses_total") > 0
    finally:
        await killer.close()
        await proc.stop()
    assert final["error"] is None
    await _counted_once(stack, run, final)


async def test_same_file_again_without_external_ids_registers_nothing_new(stack) -> None:
    run = unique("imp-again")
    token = channel_token("city_transfer")
    body = b"\n".join(jsonl_line(run, i) for i in range(20)) + b"\n"
    base = stack.url("intake", "")
    async with aiohttp.ClientSession() as http:
        first = await finished(http, base, token, await start_import(
            http, base, token, body, "application/x-ndjson"))
        second = await finished(http, base, token, await start_import(
            http, base, token, body, "application/x-ndjson"))
    assert (first["status"], first["accepted"], first["duplicates"]) == ("done", 20, 0), first
    assert (second["status"], second["accepted"], second["duplicates"]) == ("done", 0, 20), second
    assert await case_count(stack.dsns["intake"], "content LIKE $1", f"{run} %") == 20
