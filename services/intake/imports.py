"""Batch import (``POST /v1/imports``): CSV or JSON Lines, one case a row.

The upload is streamed to a file (never held whole in memory) and answered 202 at once; a
background task reads it line by line, validates each row like the API, registers good rows
in batches (one transaction each) and records bad rows with line, field and message. Rows are
idempotent through ``external_id`` (a row without one gets ``import:<id>:<line>``), so an
import resumed after a restart creates nothing twice.
"""

from __future__ import annotations

import asyncio
import csv
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiohttp import web

from services.intake.metrics import IMPORT_ROWS
from services.intake.registrar import Registrar
from services.intake.validation import (
    FieldError,
    NewCase,
    SubmissionInvalid,
    validate_row,
    validate_submission,
)
from shared.domain.vocab import Vocabulary
from shared.platform.auth import Principal
from shared.platform.clock import Clock
from shared.platform.logging import get_logger
from shared.platform.web import error, json_response, principal

log = get_logger(__name__)
BATCH = 500
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
_FORMATS = {"text/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl",
            "application/jsonlines": "jsonl", "application/x-jsonlines": "jsonl"}


def numbered_rows(path: Path, fmt: str) -> Iterator[tuple[int, Any]]:
    """(line number, raw row) pairs; line numbers count the file's lines from 1 (the CSV
    header is line 1). A BOM is skipped."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        if fmt == "jsonl":
            for line_no, line in enumerate(f, start=1):
                if line.strip():
                    yield line_no, line
            return
        reader = csv.DictReader(f)
        ended = 1  # the header's line
        for row in reader:
            # A quoted cell may span lines: report the line the row starts on.
            yield ended + 1, row
            ended = reader.line_num


def parse_row(fmt: str, raw: Any, *, line: int, import_id: str, who: Principal,
              now: Any, vocab: Vocabulary) -> NewCase:
    if fmt == "jsonl":
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise SubmissionInvalid(
                [FieldError("body", f"line is not valid JSON: {exc}")]) from exc
        case = validate_submission(body, now=now, vocab=vocab)
    else:
        case = validate_row(raw, now=now, vocab=vocab)
    if not who.may_submit_on(case.channel):
        raise SubmissionInvalid([FieldError(
            "channel", f"this token may not submit cases on channel {case.channel!r}")])
    if case.external_id is None:
        case = replace(case, external_id=f"import:{import_id}:{line}")
    return case


class ImportApi:
    def __init__(self, pool: asyncpg.Pool, registrar: Registrar, clock: Clock,
                 vocab: Vocabulary, upload_dir: Path) -> None:
        self._pool = pool
        self._registrar = registrar
        self._clock = clock
        self._vocab = vocab
        self._dir = upload_dir
        self._tasks: set[asyncio.Task[None]] = set()

    def install(self, app: web.Application) -> None:
        app.router.add_post("/v1/imports", self.upload)
        app.router.add_get("/v1/imports/{import_id}", self.progress)

    async def upload(self, request: web.Request) -> web.Response:
        who = principal(request)
        if who.role == "unit":
            raise error(403, "unit tokens may not import cases")
        fmt = _FORMATS.get(request.content_type)
        if fmt is None:
            raise error(415, "send text/csv or application/x-ndjson (JSON Lines)")
        import_id = str(uuid.uuid4())
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._dir / f"{import_id}.{fmt}"
        size = 0
        # Local-disk writes of 256 KiB chunks: brief, and never the whole upload in memory.
        with open(path, "wb") as f:  # noqa: ASYNC230
            async for chunk in _chunks(request):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    f.close()
                    path.unlink(missing_ok=True)
                    raise error(413, f"import larger than {MAX_UPLOAD_BYTES} bytes")
                f.write(chunk)
        await self._pool.execute(
            "INSERT INTO imports (import_id, format, status, submitted_by, submitted_by_name, "
            "principal) VALUES ($1, $2, 'queued', $3, $4, $5::jsonb)",
            uuid.UUID(import_id), fmt, who.actor_id, who.name,
            orjson.dumps(who.to_doc()).decode(),
        )
        self.start(import_id, fmt, who)
        return json_response({"import_id": import_id}, status=202)

    def start(self, import_id: str, fmt: str, who: Principal) -> None:
        task = asyncio.create_task(self._run(import_id, fmt, who))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resume_unfinished(self) -> None:
        """After a restart: carry on with imports that were queued or running."""
        rows = await self._pool.fetch(
            "SELECT import_id, format, principal FROM imports WHERE status IN "
            "('queued', 'running')")
        for r in rows:
            doc = orjson.loads(r["principal"])
            self.start(str(r["import_id"]), r["format"], Principal.from_doc(doc))

    async def progress(self, request: web.Request) -> web.Response:
        who = principal(request)
        try:
            key = uuid.UUID(request.match_info["import_id"])
        except ValueError as exc:
            raise error(404, "no such import") from exc
        row = await self._pool.fetchrow("SELECT * FROM imports WHERE import_id = $1", key)
        if row is None or not (who.is_staff or row["submitted_by"] == who.actor_id):
            raise error(404, "no such import")
        errors = await self._pool.fetch(
            "SELECT line, field, message FROM import_errors WHERE import_id = $1 "
            "ORDER BY line LIMIT 10000", key)
        return json_response({
            "import_id": str(key), "status": row["status"], "total": row["total"],
            "accepted": row["accepted"], "duplicates": row["duplicates"],
            "rejected": row["rejected"], "error": row["error"],
            "errors": [dict(e) for e in errors],
            "submitted_by": {"actor_id": row["submitted_by"],
                             "name": row["submitted_by_name"]},
        })

    async def _run(self, import_id: str, fmt: str, who: Principal) -> None:
        """Process an import while holding its advisory lock: with several instances (or a
        resume racing an upload), exactly one works on an import at a time."""
        path = self._dir / f"{import_id}.{fmt}"
        if not path.exists():
            return  # uploaded to another host's instance: that one resumes it
        async with self._pool.acquire() as lock_conn:
            if not await lock_conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))",
                                            f"import:{import_id}"):
                return
            try:
                await self._process(import_id, fmt, who, path)
            finally:
                await lock_conn.execute("SELECT pg_advisory_unlock(hashtext($1))",
                                        f"import:{import_id}")

    async def _process(self, import_id: str, fmt: str, who: Principal, path: Path) -> None:
        key = uuid.UUID(import_id)
        try:
            done = await self._pool.fetchval(
                "UPDATE imports SET status = 'running' WHERE import_id = $1 "
                "RETURNING lines_done", key)
            batch: list[tuple[int, NewCase]] = []
            bad: list[tuple[int, FieldError]] = []
            bad_lines: set[int] = set()
            last_line = done
            for line, raw in numbered_rows(path, fmt):
                if line <= done:
                    continue  # handled before a restart
                last_line = line
                try:
                    batch.append((line, parse_row(fmt, raw, line=line, import_id=import_id,
                                                  who=who, now=self._clock.now(),
                                                  vocab=self._vocab)))
                except SubmissionInvalid as exc:
                    bad.extend((line, e) for e in exc.errors)
                    bad_lines.add(line)
                if len(batch) + len(bad_lines) >= BATCH:
                    await self._flush(key, who, batch, bad, last_line)
                    batch, bad, bad_lines = [], [], set()
            await self._flush(key, who, batch, bad, last_line)
            await self._pool.execute(
                "UPDATE imports SET status = 'done', finished_at = now() WHERE import_id = $1",
                key)
            path.unlink(missing_ok=True)  # noqa: ASYNC240  (a local unlink; instant)
            log.info("import_done", import_id=import_id)
        except Exception as exc:
            log.exception("import_failed", import_id=import_id)
            await self._pool.execute(
                "UPDATE imports SET status = 'failed', error = $2, finished_at = now() "
                "WHERE import_id = $1", key, f"{type(exc).__name__}: {exc}")

    async def _flush(self, key: uuid.UUID, who: Principal, batch: list[tuple[int, NewCase]],
                     bad: list[tuple[int, FieldError]], last_line: int) -> None:
        outcomes = await self._registrar.submit_many([c for _, c in batch], actor=who.as_actor())
        created = sum(1 for o in outcomes if o.created)
        dupes = len(outcomes) - created
        bad_rows = len({line for line, _ in bad})
        async with self._pool.acquire() as conn, conn.transaction():
            if bad:
                await conn.executemany(
                    "INSERT INTO import_errors (import_id, line, field, message) "
                    "VALUES ($1, $2, $3, $4)",
                    [(key, line, e.field, e.message) for line, e in bad])
            await conn.execute(
                "UPDATE imports SET total = total + $2, accepted = accepted + $3, "
                "duplicates = duplicates + $4, rejected = rejected + $5, lines_done = $6 "
                "WHERE import_id = $1",
                key, len(batch) + bad_rows, created, dupes, bad_rows, last_line)
        IMPORT_ROWS.labels("accepted").inc(created)
        IMPORT_ROWS.labels("duplicate_request").inc(dupes)
        IMPORT_ROWS.labels("rejected").inc(bad_rows)


async def _chunks(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(256 * 1024):
        yield chunk
