"""Batch import (``POST /v1/imports``): CSV or JSON Lines, one case a row.

The upload is streamed to a file (never held whole in memory, hashed on the way) and answered
202 at once; a background task reads it row by row (:mod:`services.intake.import_rows`),
validates each row like the API, and registers good rows in batches. Each batch is one
transaction holding its cases, its rows' errors and the import's progress (counters and the
byte offset reached), so a crash at any moment leaves the import exactly where its last batch
left it, and nothing is counted twice when it resumes.

A database that goes away pauses an import (retried with a backoff, for as long as it takes);
only a fault of the code itself fails it. Every instance looks for unfinished imports now and
then and carries on with those whose worker is gone; an advisory lock keeps one worker per
import, and each batch checks, under the import row's lock, that the import is still where its
worker left it (a worker whose lock was lost with its connection stops instead of counting a
batch again).

Rows without an ``external_id`` get one derived from the file's content hash and the line,
so the same file uploaded again registers nothing new.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import asyncpg
import orjson
from aiohttp import web
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

from services.intake import import_rows as rows
from services.intake.config import IntakeSettings
from services.intake.fields import FieldError
from services.intake.metrics import IMPORT_PAUSES, IMPORT_ROWS
from services.intake.registrar import Registrar
from services.intake.validation import NewCase, SubmissionInvalid
from shared.domain.vocab import Vocabulary
from shared.platform import faults
from shared.platform.auth import Principal
from shared.platform.clock import Clock
from shared.platform.db import is_transient
from shared.platform.logging import get_logger
from shared.platform.web import error, json_response, principal

log = get_logger(__name__)
_FORMATS: dict[str, rows.Format] = {
    "text/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl",
    "application/jsonlines": "jsonl", "application/x-jsonlines": "jsonl"}
_RETRY_AFTER_SECONDS = 30
_UNFINISHED = "status IN ('queued', 'running')"
FAILED_MESSAGE = "the import stopped on an internal error; the service log has its type"


class ImportMoved(Exception):
    """The import is no longer where this worker left it: another worker has it."""


class ImportApi:
    def __init__(self, pool: asyncpg.Pool, registrar: Registrar, clock: Clock,
                 vocab: Vocabulary, settings: IntakeSettings) -> None:
        self._pool = pool
        self._registrar = registrar
        self._clock = clock
        self._vocab = vocab
        self._settings = settings
        self._dir = settings.import_dir
        self._tasks: dict[str, asyncio.Task[None]] = {}

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
        limit = self._settings.import_max_bytes
        if request.content_length is not None and request.content_length > limit:
            raise error(413, f"import larger than {limit} bytes (the import size limit)")
        async with self._pool.acquire() as conn:  # before the upload: refuse early
            if (busy := await self._too_many(conn, who)) is not None:
                return busy
        import_id = str(uuid.uuid4())
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._dir / f"{import_id}.{fmt}"
        try:
            digest, size = await self._save(request, path, limit)
            async with self._pool.acquire() as conn, conn.transaction():
                # One client's uploads are counted one at a time, so two at once cannot both
                # take the last free place.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                                   f"imports-of:{who.actor_id}")
                if (busy := await self._too_many(conn, who)) is not None:
                    path.unlink(missing_ok=True)
                    return busy
                await conn.execute(
                    "INSERT INTO imports (import_id, format, status, submitted_by, "
                    "submitted_by_name, principal, content_hash, size_bytes) "
                    "VALUES ($1, $2, 'queued', $3, $4, $5::jsonb, $6, $7)",
                    uuid.UUID(import_id), fmt, who.actor_id, who.name,
                    orjson.dumps(who.to_doc()).decode(), digest, size)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self.start(import_id)
        return json_response({"import_id": import_id}, status=202)

    async def _save(self, request: web.Request, path: Path, limit: int) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        # Local-disk writes of 256 KiB chunks: brief, and never the whole upload in memory.
        with open(path, "wb") as f:  # noqa: ASYNC230
            async for chunk in request.content.iter_chunked(256 * 1024):
                size += len(chunk)
                if size > limit:
                    raise error(413, f"import larger than {limit} bytes (the import size limit)")
                digest.update(chunk)
                f.write(chunk)
        return digest.hexdigest(), size

    async def _too_many(self, conn: asyncpg.Connection, who: Principal) -> web.Response | None:
        most = self._settings.import_max_concurrent_per_client
        running = await conn.fetchval(
            f"SELECT count(*) FROM imports WHERE submitted_by = $1 AND {_UNFINISHED}",
            who.actor_id)
        if running < most:
            return None
        return json_response(
            {"error": f"{running} imports of this client are unfinished; at most {most} may "
                      "run at once: try again when one is done",
             "retry_after": _RETRY_AFTER_SECONDS},
            status=429, headers={"Retry-After": str(_RETRY_AFTER_SECONDS)})

    def start(self, import_id: str) -> None:
        if import_id in self._tasks:
            return
        task = asyncio.create_task(self._run(import_id))
        self._tasks[import_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(import_id, None))

    async def resume_unfinished(self) -> None:
        """Carry on with imports that are queued or running and not worked on here (after a
        restart, or when their instance is gone); one another instance works on is skipped
        by its lock."""
        for r in await self._pool.fetch(f"SELECT import_id FROM imports WHERE {_UNFINISHED}"):
            self.start(str(r["import_id"]))

    async def resume_forever(self) -> None:
        while True:
            try:
                await self.resume_unfinished()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("import_resume_failed", error=type(exc).__name__)
            await asyncio.sleep(self._settings.import_resume_interval_seconds)

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

    async def _run(self, import_id: str) -> None:
        """Work on an import until it is done; a database that is away pauses it."""
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(is_transient),
                wait=wait_exponential(multiplier=0.2, max=self._settings.import_retry_max_seconds),
                before_sleep=_paused(import_id), reraise=True,
            ):
                with attempt:
                    await self._run_locked(import_id)
        except ImportMoved:
            log.info("import_taken_over", import_id=import_id)
        except Exception as exc:
            # A fault of the code, not of the data (rows' problems are rows' errors): stop
            # this import, and name only the exception's type (its text may quote a row).
            log.error("import_failed", import_id=import_id, error=type(exc).__name__)
            await self._pool.execute(
                "UPDATE imports SET status = 'failed', error = $2, finished_at = now() "
                f"WHERE import_id = $1 AND {_UNFINISHED}", uuid.UUID(import_id),
                FAILED_MESSAGE)

    async def _run_locked(self, import_id: str) -> None:
        """Process the import while holding its advisory lock, unless another worker does."""
        async with self._pool.acquire() as lock_conn:
            if not await lock_conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))",
                                            f"import:{import_id}"):
                return
            try:
                await self._process(uuid.UUID(import_id))
            finally:
                if not lock_conn.is_closed():
                    await lock_conn.execute("SELECT pg_advisory_unlock(hashtext($1))",
                                            f"import:{import_id}")

    async def _process(self, key: uuid.UUID) -> None:
        row = await self._pool.fetchrow(
            "SELECT format, principal, content_hash, lines_done, bytes_done FROM imports "
            f"WHERE import_id = $1 AND {_UNFINISHED}", key)
        if row is None:
            return  # finished meanwhile
        path = self._dir / f"{key}.{row['format']}"
        if not path.exists():
            return  # uploaded to another host's instance: that one carries it on
        await self._pool.execute("UPDATE imports SET status = 'running' WHERE import_id = $1 "
                                 "AND status = 'queued'", key)
        who = Principal.from_doc(orjson.loads(row["principal"]))
        # An import uploaded before files were hashed names its rows after itself: still the
        # same ids on every resume of it.
        content_hash = row["content_hash"] or f"import:{key}"
        at = row["bytes_done"]
        start = rows.Position(at, row["lines_done"] + 1) if at else rows.Position()
        batch: list[rows.RawRow] = []
        with open(path, "rb") as f:  # noqa: ASYNC230  (local disk, read in bounded lines)
            for raw in self._rows(f, row["format"], start):
                if raw.line <= row["lines_done"]:
                    continue  # counted before (an import from before byte offsets were kept)
                batch.append(raw)
                if len(batch) >= self._settings.import_batch_rows:
                    at = await self._flush(key, who, content_hash, row["format"], batch, at)
                    batch = []
            await self._flush(key, who, content_hash, row["format"], batch, at)
        await self._pool.execute(
            "UPDATE imports SET status = 'done', finished_at = now() WHERE import_id = $1", key)
        path.unlink(missing_ok=True)
        log.info("import_done", import_id=str(key))

    def _rows(self, f: BinaryIO, fmt: rows.Format, start: rows.Position
              ) -> Iterator[rows.RawRow]:
        limit = self._settings.import_max_line_bytes
        if fmt == "jsonl":
            yield from rows.jsonl_rows(f, limit, start)
            return
        header, head = rows.csv_header(f, limit)
        if header is None:
            # Without its header nothing in the file can be read: one error, for line 1.
            if start.offset == 0:
                yield head
            return
        yield from rows.csv_rows(f, header, limit, start if start.offset else rows.Position(
            head.end, head.last_line + 1))

    async def _flush(self, key: uuid.UUID, who: Principal, content_hash: str,
                     fmt: rows.Format, batch: list[rows.RawRow], at: int) -> int:
        """One transaction: the batch's cases, its rows' errors and the import's progress.
        Returns the offset reached."""
        if not batch:
            return at
        now = self._clock.now()
        cases: list[NewCase] = []
        bad: list[tuple[int, FieldError]] = []
        for raw in batch:
            try:
                cases.append(rows.parse_row(fmt, raw, content_hash=content_hash, who=who,
                                            now=now, vocab=self._vocab,
                                            earliest=self._settings.earliest_day))
            except SubmissionInvalid as exc:
                bad.extend((raw.line, e) for e in exc.errors)
        rejected = len(batch) - len(cases)
        async with self._pool.acquire() as conn, conn.transaction():
            where = await conn.fetchval(
                f"SELECT bytes_done FROM imports WHERE import_id = $1 AND {_UNFINISHED} "
                "FOR UPDATE", key)
            if where != at:
                raise ImportMoved(str(key))
            outcomes = await self._registrar.register_in(conn, cases, actor=who.as_actor())
            created = sum(1 for o in outcomes if o.created)
            if bad:
                await conn.executemany(
                    "INSERT INTO import_errors (import_id, line, field, message) "
                    "VALUES ($1, $2, $3, $4)",
                    [(key, line, e.field, e.message) for line, e in bad])
            await conn.execute(
                "UPDATE imports SET total = total + $2, accepted = accepted + $3, "
                "duplicates = duplicates + $4, rejected = rejected + $5, lines_done = $6, "
                "bytes_done = $7 WHERE import_id = $1",
                key, len(batch), created, len(cases) - created, rejected, batch[-1].last_line,
                batch[-1].end)
        faults.point("import.after_batch")  # the fault suite's kill between two batches
        IMPORT_ROWS.labels("accepted").inc(created)
        IMPORT_ROWS.labels("duplicate_request").inc(len(cases) - created)
        IMPORT_ROWS.labels("rejected").inc(rejected)
        return batch[-1].end


def _paused(import_id: str) -> Callable[[RetryCallState], None]:
    def note(state: RetryCallState) -> None:
        IMPORT_PAUSES.inc()
        failure = state.outcome.exception() if state.outcome else None
        log.warning("import_paused", import_id=import_id, error=type(failure).__name__,
                    retry_in=round(state.upcoming_sleep, 2))
    return note

