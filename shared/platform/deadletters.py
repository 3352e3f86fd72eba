"""Operators' view of a service's parked messages: list, show, replay (admin only).

``GET /v1/deadletters[?since=&until=&all=1]``, ``GET /v1/deadletters/{id}``,
``POST /v1/deadletters/replay`` ``{"ids": [...]} | {"since": ..., "until": ...}``. Replay decodes
each parked message again and runs it through the service's own unit of work (inbox, policy,
outbox), marking the row replayed in the same transaction: an event applied before is not
applied again, so replaying twice changes nothing. One that fails again stays parked with the
new error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from shared.platform import parking
from shared.platform.db import is_transient
from shared.platform.events import PoisonMessage, UnknownEvent, decode
from shared.platform.pipeline import Delivered, Pipeline
from shared.platform.web import error, json_response, principal, read_json

MAX_LIST = 1000


async def replay(pool: asyncpg.Pool, pipeline: Pipeline, ids: list[int] | None,
                 since: datetime | None, until: datetime | None) -> dict[str, int]:
    rows = await pool.fetch(
        """SELECT id, topic, partition, "offset", key, value FROM parked
           WHERE replayed_at IS NULL AND ($1::bigint[] IS NULL OR id = ANY($1))
             AND ($2::timestamptz IS NULL OR parked_at >= $2)
             AND ($3::timestamptz IS NULL OR parked_at < $3)
           ORDER BY id""", ids, since, until)
    counts = {"replayed": 0, "applied_before": 0, "failed": 0}
    for row in rows:
        try:
            envelope = decode(row["value"])
        except (PoisonMessage, UnknownEvent) as exc:
            await _failed(pool, row["id"], str(exc))
            counts["failed"] += 1
            continue
        d = Delivered(envelope, row["topic"], row["partition"], row["offset"], row["key"],
                      row["value"])

        async def mark(conn: asyncpg.Connection, _fresh: bool, parked_id: int = row["id"]
                       ) -> None:
            await conn.execute("UPDATE parked SET replayed_at = now(), replay_error = NULL "
                               "WHERE id = $1", parked_id)

        try:
            fresh = await pipeline.apply([d], [], also=mark)
        except Exception as exc:
            if is_transient(exc):
                raise
            await _failed(pool, row["id"], f"{type(exc).__name__}: {exc}")
            counts["failed"] += 1
            continue
        counts["replayed" if fresh else "applied_before"] += 1
    return counts


async def _failed(pool: asyncpg.Pool, parked_id: int, message: str) -> None:
    await pool.execute("UPDATE parked SET replay_error = $2 WHERE id = $1", parked_id,
                       message[:4000])


def _when(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _invalid(name, "an RFC 3339 time with an offset")
    return parsed


def _invalid(field: str, message: str) -> web.HTTPException:
    return error(422, "invalid request", errors=[{"field": field, "message": message}])


def _admin(request: web.Request) -> None:
    if principal(request).role != "admin":
        raise error(403, "dead letters need an admin token")


def install(app: web.Application, pool: asyncpg.Pool, pipeline: Pipeline) -> None:
    async def listing(request: web.Request) -> web.Response:
        _admin(request)
        q = request.query
        async with pool.acquire() as conn:
            rows = await parking.listing(conn, since=_when(q.get("since"), "since"),
                                         until=_when(q.get("until"), "until"),
                                         waiting_only=q.get("all") not in ("1", "true"),
                                         limit=MAX_LIST)
        return json_response({"items": rows})

    async def show(request: web.Request) -> web.Response:
        _admin(request)
        raw = request.match_info["parked_id"]
        if not raw.isdigit() or len(raw) > 18:
            raise error(404, "no such dead letter")
        async with pool.acquire() as conn:
            row = await parking.one(conn, int(raw))
        if row is None:
            raise error(404, "no such dead letter")
        return json_response(row)

    async def replay_route(request: web.Request) -> web.Response:
        _admin(request)
        body = await read_json(request)
        if not isinstance(body, dict):
            raise error(400, "body must be a JSON object")
        ids = body.get("ids")
        if ids is not None and (not isinstance(ids, list) or not all(
                isinstance(i, int) and 0 < i < 2**63 for i in ids)):
            raise _invalid("ids", "a list of dead-letter ids")
        counts = await replay(pool, pipeline, ids, _when(body.get("since"), "since"),
                              _when(body.get("until"), "until"))
        return json_response(counts)

    app.router.add_get("/v1/deadletters", listing)
    app.router.add_get("/v1/deadletters/{parked_id}", show)
    app.router.add_post("/v1/deadletters/replay", replay_route)
