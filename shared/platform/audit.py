"""The tamper-evident audit: reads of personal data and administrative changes.

Each service keeps its own chain in its own database (table ``audit_log``). A row holds who
(account or machine client, and the name shown), when (the injected clock), what was done or
read, which case, the stated purpose and the client's address, and the SHA-256 of the previous
row; its own hash covers all of it. Editing a row breaks its hash, removing one breaks the
sequence and the next row's link, swapping two breaks both — :func:`verify` finds each.

Append-only by privilege too: the migration takes UPDATE, DELETE and TRUNCATE away from the
service's own role and a trigger refuses them, so only a superuser can rewrite history, and
that is what the chain makes visible.
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from aiohttp import web

from shared.platform.auth import Actor
from shared.platform.clock import SHANGHAI
from shared.platform.web import error, field_errors, json_response, principal

AUDIT_DDL = """
CREATE TABLE audit_log (
    seq         bigint      PRIMARY KEY CHECK (seq > 0),
    at          timestamptz NOT NULL,
    actor_id    text        NOT NULL,
    actor_name  text        NOT NULL,
    action      text        NOT NULL,
    case_id     uuid,
    detail      jsonb       NOT NULL DEFAULT '{}',
    purpose     text,
    client_addr text,
    prev_hash   bytea       NOT NULL,
    hash        bytea       NOT NULL UNIQUE
);
CREATE INDEX audit_log_case ON audit_log (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC, CURRENT_USER;
"""
AUDIT_DROP = "DROP TABLE audit_log; DROP FUNCTION audit_log_append_only();"
GENESIS = bytes(32)
# One writer at a time per database: each row needs the hash of the one before.
_LOCK_KEY = 0x7866_6175_6469_74  # "xfaudit"


@dataclass(frozen=True)
class Entry:
    actor: Actor
    action: str
    case_id: str | None = None
    detail: dict[str, Any] | None = None
    purpose: str | None = None
    client_addr: str | None = None


def _canonical(seq: int, at: datetime, actor_id: str, actor_name: str, action: str,
               case_id: str | None, detail: dict[str, Any], purpose: str | None,
               client_addr: str | None, prev_hash: bytes) -> bytes:
    return orjson.dumps(
        [seq, at.astimezone(UTC).isoformat(timespec="microseconds"), actor_id, actor_name,
         action, case_id, detail, purpose, client_addr, prev_hash.hex()],
        option=orjson.OPT_SORT_KEYS)


def row_hash(row: asyncpg.Record | dict[str, Any]) -> bytes:
    return hashlib.sha256(_canonical(
        row["seq"], row["at"], row["actor_id"], row["actor_name"], row["action"],
        str(row["case_id"]) if row["case_id"] is not None else None, _detail(row["detail"]),
        row["purpose"], row["client_addr"], bytes(row["prev_hash"]))).digest()


def _detail(raw: Any) -> dict[str, Any]:
    return orjson.loads(raw) if isinstance(raw, str | bytes) else dict(raw or {})


def client_address(value: str | None) -> str | None:
    """An IP address as text, or None for anything else (a Unix socket, a test client)."""
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


async def append(conn: asyncpg.Connection, entry: Entry, at: datetime) -> int:
    """Add ``entry`` in the caller's transaction (so the audit row and the effect it records
    commit together); its sequence number."""
    if not conn.is_in_transaction():
        raise RuntimeError("audit.append needs the caller's transaction")
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
    last = await conn.fetchrow("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    seq = (last["seq"] if last else 0) + 1
    prev = bytes(last["hash"]) if last else GENESIS
    row = {"seq": seq, "at": at, "actor_id": entry.actor.id, "actor_name": entry.actor.name,
           "action": entry.action, "case_id": entry.case_id, "detail": entry.detail or {},
           "purpose": entry.purpose, "client_addr": entry.client_addr, "prev_hash": prev}
    await conn.execute(
        """INSERT INTO audit_log (seq, at, actor_id, actor_name, action, case_id, detail,
                                  purpose, client_addr, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11)""",
        seq, at, entry.actor.id, entry.actor.name, entry.action,
        uuid.UUID(entry.case_id) if entry.case_id else None,
        orjson.dumps(entry.detail or {}).decode(), entry.purpose, entry.client_addr, prev,
        row_hash(row))
    return seq


@dataclass(frozen=True)
class Finding:
    seq: int
    problem: str


async def verify(conn: asyncpg.Connection, batch: int = 5000) -> tuple[int, list[Finding]]:
    """Walk the whole chain: (rows checked, what is wrong). Nothing wrong: an empty list."""
    findings: list[Finding] = []
    expected_seq, prev, checked = 1, GENESIS, 0
    after = 0
    while True:
        rows = await conn.fetch("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                                after, batch)
        for row in rows:
            checked += 1
            seq = row["seq"]
            if seq != expected_seq:
                findings.append(Finding(seq, f"rows {expected_seq}–{seq - 1} are missing"))
            if bytes(row["prev_hash"]) != prev:
                findings.append(Finding(seq, "does not follow the row before it (a row was "
                                             "removed, inserted or moved)"))
            if row_hash(row) != bytes(row["hash"]):
                findings.append(Finding(seq, "its content does not match its hash (edited)"))
            expected_seq, prev, after = seq + 1, bytes(row["hash"]), seq
        if len(rows) < batch:
            return checked, findings


def render(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "seq": row["seq"], "at": row["at"].isoformat(),
        "actor": {"id": row["actor_id"], "name": row["actor_name"]}, "action": row["action"],
        "case_id": str(row["case_id"]) if row["case_id"] else None,
        "detail": _detail(row["detail"]), "purpose": row["purpose"],
        "client_addr": row["client_addr"], "hash": bytes(row["hash"]).hex(),
    }


def install(app: web.Application, pool: asyncpg.Pool) -> None:
    """``GET /v1/audit?since=&actor=&case_id=&after=&limit=`` (admin): oldest first."""

    async def listing(request: web.Request) -> web.Response:
        who = principal(request)
        if who.role != "admin":
            raise error(403, "the audit is read by an administrator")
        q = request.query
        errors: list[dict[str, str]] = []
        since = None
        if q.get("since"):
            try:
                since = datetime.fromisoformat(q["since"])
                if since.tzinfo is None:
                    since = since.replace(tzinfo=SHANGHAI)
            except ValueError:
                errors.append({"field": "since", "message": "an RFC 3339 time or YYYY-MM-DD"})
        case_id = q.get("case_id")
        if case_id:
            try:
                case_id = str(uuid.UUID(case_id))
            except ValueError:
                errors.append({"field": "case_id", "message": "a case id (UUID)"})
        after, limit = q.get("after", "0"), q.get("limit", "500")
        if not after.isdigit():
            errors.append({"field": "after", "message": "a sequence number"})
        if not limit.isdigit() or not 1 <= int(limit) <= 5000:
            errors.append({"field": "limit", "message": "1–5000"})
        if errors:
            return field_errors(errors)
        rows = await pool.fetch(
            """SELECT * FROM audit_log
               WHERE seq > $1 AND ($2::timestamptz IS NULL OR at >= $2)
                 AND ($3::text IS NULL OR actor_id = $3) AND ($4::uuid IS NULL OR case_id = $4)
               ORDER BY seq LIMIT $5""",
            int(after), since, q.get("actor") or None,
            uuid.UUID(case_id) if case_id else None, int(limit))
        items = [render(r) for r in rows]
        return json_response({"items": items,
                              "next_after": items[-1]["seq"] if len(items) == int(limit)
                              else None})

    app.router.add_get("/v1/audit", listing)
