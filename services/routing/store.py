"""PostgreSQL adapter: the petitions index and the history of decisions (bulk where the consumer
needs speed, one row at a time where a case is locked and changed)."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
import orjson

from services.routing.decide import CaseFacts
from services.routing.links import FINAL_STATUS, OPEN_STATUSES, EarlierCase
from services.routing.outputs import Decided

# Advisory lock class of the per-petitioner lock (the id is hashtext(petitioner_key)).
_PETITIONER_LOCK = 0x5850  # "XP"
# Lists of codes travel to PostgreSQL as one text each, split there (string_to_array): cheaper
# than a JSON array per row. Codes never contain this byte.
_SEP = "\x1f"


def _codes(values: Iterable[str]) -> str:
    return _SEP.join(values)


def pack_signature(signature: Sequence[int]) -> bytes:
    """A sketch as bytes (8 per 63-bit hash): an eighth of the space of its JSON digits."""
    return struct.pack(f">{len(signature)}q", *signature)


def unpack_signature(raw: bytes) -> tuple[int, ...]:
    return struct.unpack(f">{len(raw) // 8}q", raw)


@dataclass(frozen=True)
class NewPetition:
    case_id: str
    petitioner_key: str | None
    channel: str
    jurisdiction: str
    category: str
    signers: int
    subject_unit: str | None
    subject_person: str | None
    signature: tuple[int, ...]
    received_at: datetime
    status: str
    key_reasons: tuple[str, ...]
    outcome: str  # assigned | transferred | linked
    linked_to: str | None
    link_kind: str | None
    link_similarity: float | None
    decided_at: datetime


async def lock_petitioners(conn: asyncpg.Connection, keys: Iterable[str]) -> None:
    """Serialise, until the transaction ends, every transaction that routes a case of these
    petitioners: two instances must not both see "no earlier case". Locks are taken in one
    order (sorted hashes), so two batches sharing petitioners cannot deadlock on them."""
    distinct = sorted(set(keys))
    if distinct:
        await conn.execute(
            """SELECT count(pg_advisory_xact_lock($1, h))
               FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k
                     ORDER BY 1) AS hashes""",
            _PETITIONER_LOCK, distinct)


_EARLIER_COLUMNS = """case_id::text, petitioner_key, channel, jurisdiction, category, signature,
                      received_at, status, handling_due, link_kind"""


def _earlier(row: asyncpg.Record) -> EarlierCase:
    return EarlierCase(
        case_id=row["case_id"], petitioner_key=row["petitioner_key"], channel=row["channel"],
        jurisdiction=row["jurisdiction"], category=row["category"],
        signature=unpack_signature(row["signature"]), received_at=row["received_at"],
        status=row["status"], handling_due=row["handling_due"], linked_as=row["link_kind"])


# Statuses in which an earlier case can be linked to, whatever its age.
_LINKABLE = sorted(OPEN_STATUSES | {FINAL_STATUS})


async def earlier_cases(conn: asyncpg.Connection, keys: Iterable[str], since: datetime
                        ) -> dict[str, list[EarlierCase]]:
    """The cases of these petitioners that can still matter, by petitioner key: those open or
    final (link targets), and any received after ``since`` (the twelve-month count). A
    petitioner who writes every week must not make each new petition read years of cases."""
    out: dict[str, list[EarlierCase]] = {}
    distinct = list(set(keys))
    if not distinct:
        return out
    rows = await conn.fetch(
        f"""SELECT {_EARLIER_COLUMNS} FROM petitions
            WHERE petitioner_key = ANY($1::text[])
              AND (status = ANY($2::text[]) OR received_at > $3)""",
        distinct, _LINKABLE, since)
    for row in rows:
        out.setdefault(row["petitioner_key"], []).append(_earlier(row))
    return out


async def insert_petitions(conn: asyncpg.Connection, rows: Sequence[NewPetition]) -> set[str]:
    """Insert new petitions; the case ids actually inserted (another transaction may have
    registered one of them since we looked: that case is theirs to route).

    The rows travel as one JSON document: encoding hundreds of rows as a dozen parameter
    arrays costs the consumer more CPU than the database spends inserting them."""
    if not rows:
        return set()
    doc = orjson.dumps([{
        "c": r.case_id, "pk": r.petitioner_key, "ch": r.channel, "j": r.jurisdiction,
        "cat": r.category, "sg": r.signers, "su": r.subject_unit, "sp": r.subject_person,
        "sig": pack_signature(r.signature).hex(), "ra": r.received_at, "st": r.status,
        "kr": _codes(r.key_reasons), "o": r.outcome, "lt": r.linked_to, "lk": r.link_kind,
        "ls": r.link_similarity, "da": r.decided_at,
    } for r in rows]).decode()
    inserted = await conn.fetch(
        """
        INSERT INTO petitions (case_id, petitioner_key, channel, jurisdiction, category, signers,
                               subject_unit, subject_person, signature, received_at, status,
                               status_seq, key_reasons, outcome, linked_to, link_kind,
                               link_similarity, decided_at)
        SELECT c, pk, ch, j, cat, sg, su, sp, decode(sig, 'hex'), ra, st, 1,
               string_to_array(kr, $2), o, lt, lk, ls, da
        FROM jsonb_to_recordset($1::jsonb) AS t(
            c uuid, pk text, ch text, j text, cat text, sg int, su text, sp text, sig text,
            ra timestamptz, st text, kr text, o text, lt uuid, lk text, ls float8,
            da timestamptz)
        ON CONFLICT (case_id) DO NOTHING
        RETURNING case_id::text
        """,
        doc, _SEP,
    )
    return {r["case_id"] for r in inserted}


async def insert_decisions(conn: asyncpg.Connection, decided: Sequence[Decided]) -> None:
    if not decided:
        return
    doc = orjson.dumps([{
        "c": x.case_id, "v": x.version, "u": d.unit, "tb": d.transfer_out,
        "l": d.leader.name if d.leader else None,
        "lt": d.leader.title if d.leader else None,
        "lu": d.leader.unit if d.leader else None, "ri": d.rule_id, "rv": d.rule_version,
        "rs": _codes([*d.reasons, *(f"key:{r}" for r in d.key_reasons)]),
        "k": d.key_case, "ca": x.cause, "n": x.note, "a": x.recorded_actor, "e": x.event_id,
        "da": x.at,
    } for x in decided for d in (x.decision,)]).decode()
    await conn.execute(
        """
        INSERT INTO assignments (case_id, assignment_version, unit, transfer_body, leader,
                                 leader_title, leader_unit, rule_id, rule_version, reasons,
                                 key_case, cause, note, actor, event_id, decided_at)
        SELECT c, v, u, tb, l, lt, lu, ri, rv, string_to_array(rs, $2), k, ca, n, a, e, da
        FROM jsonb_to_recordset($1::jsonb) AS t(
            c uuid, v int, u text, tb text, l text, lt text, lu text, ri text, rv int,
            rs text, k bool, ca text, n text, a text, e uuid, da timestamptz)
        """,
        doc, _SEP,
    )


# -- one case at a time (objections, steps, reassignment, escalation) --------------------------


async def lock_petition(conn: asyncpg.Connection, case_id: str) -> asyncpg.Record | None:
    """The case's row, locked until the transaction ends: every change to one case's
    assignments goes through this lock, so versions never collide."""
    return await conn.fetchrow("SELECT * FROM petitions WHERE case_id = $1 FOR UPDATE",
                               uuid.UUID(case_id))


async def current_decision(conn: asyncpg.Connection, case_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT * FROM assignments WHERE case_id = $1
           ORDER BY assignment_version DESC LIMIT 1""", uuid.UUID(case_id))


def facts_of(row: asyncpg.Record, *, extra_key: tuple[str, ...] = (),
             objected: tuple[str, ...] | None = None) -> CaseFacts:
    return CaseFacts(
        jurisdiction=row["jurisdiction"], category=row["category"], signers=row["signers"],
        subject_unit=row["subject_unit"], subject_person=row["subject_person"],
        flagged_key=tuple(dict.fromkeys([*row["key_reasons"], *extra_key])),
        objected_units=tuple(row["objected_units"]) if objected is None else objected)


async def set_outcome(conn: asyncpg.Connection, case_id: str, *, outcome: str,
                      key_reasons: Sequence[str], objected: Sequence[str], status: str | None
                      ) -> None:
    await conn.execute(
        """UPDATE petitions SET outcome = $2, key_reasons = $3, objected_units = $4,
                  status = coalesce($5, status)
           WHERE case_id = $1""",
        uuid.UUID(case_id), outcome, list(key_reasons), list(objected), status)


async def apply_status(conn: asyncpg.Connection, case_id: str, *, status: str, sequence: int,
                       accepted_on: date | None = None, extended_days: int | None = None,
                       handling_due: date | None = None) -> bool:
    """A lifecycle step reported by intake; an older step arriving late changes nothing."""
    result = await conn.execute(
        """UPDATE petitions SET status = $2, status_seq = $3,
                  accepted_on = coalesce($4, accepted_on),
                  extended_days = coalesce($5, extended_days),
                  handling_due = coalesce($6, handling_due)
           WHERE case_id = $1 AND status_seq < $3""",
        uuid.UUID(case_id), status, sequence, accepted_on, extended_days, handling_due)
    return result.endswith(" 1")


async def history(conn: asyncpg.Connection, case_id: uuid.UUID
                  ) -> tuple[asyncpg.Record | None, list[asyncpg.Record]]:
    petition = await conn.fetchrow("SELECT * FROM petitions WHERE case_id = $1", case_id)
    rows = await conn.fetch(
        "SELECT * FROM assignments WHERE case_id = $1 ORDER BY assignment_version", case_id)
    return petition, list(rows)
