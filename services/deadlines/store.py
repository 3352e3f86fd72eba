"""PostgreSQL adapter of the timers: facts in, timers and their history out.

Every function runs in the caller's transaction. Writes are batched (one statement per kind
of write per batch of events), because the consumer applies up to hundreds of events at once.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from services.deadlines.plan import Fact
from services.deadlines.reconcile import DueChange, Timer
from shared.domain.limits import CountingMode, DeadlineKind

# Advisory lock class of "one case at a time": two instances may hold the same case's
# case.events and routing.events partitions, and must not reconcile it at once.
CASE_LOCK_CLASS = 0x5844  # "XD"

TIMER_COLUMNS = (
    "case_id", "kind", "round", "is_window", "start_event_id", "start_type", "start_at",
    "start_date", "mode", "day_unit", "length_days", "extension_days", "rule", "article",
    "due_date", "provisional", "status", "outcome", "warned", "fired_days", "overdue_at",
    "next_fire_at", "ended_at", "ended_by", "ended_by_type", "paused_days", "paused_since",
)
_SELECT_TIMER = "id, " + ", ".join(TIMER_COLUMNS)


async def lock_cases(conn: asyncpg.Connection, case_ids: Iterable[str]) -> None:
    """Take each case's transaction lock, in one global order so two batches never deadlock."""
    await conn.execute(
        """
        SELECT count(pg_advisory_xact_lock($1, k)) FROM
          (SELECT DISTINCT hashtext(c) AS k FROM unnest($2::text[]) AS c ORDER BY 1) keys
        """,
        CASE_LOCK_CLASS, sorted(set(case_ids)),
    )


async def insert_facts(conn: asyncpg.Connection, facts: Sequence[Fact]) -> None:
    if not facts:
        return
    await conn.execute(
        """
        INSERT INTO case_facts (event_id, case_id, type, at, sequence, days, unit)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[],
                             $5::bigint[], $6::int[], $7::text[])
        ON CONFLICT (event_id) DO NOTHING
        """,
        [f.event_id for f in facts], [f.case_id for f in facts], [f.type for f in facts],
        [f.at for f in facts], [f.sequence for f in facts], [f.days for f in facts],
        [f.unit for f in facts],
    )


async def load_facts(conn: asyncpg.Connection, case_ids: Sequence[str]
                     ) -> dict[str, list[Fact]]:
    rows = await conn.fetch(
        "SELECT event_id::text, case_id, type, at, sequence, days, unit FROM case_facts "
        "WHERE case_id = ANY($1::text[])", list(case_ids))
    out: dict[str, list[Fact]] = defaultdict(list)
    for r in rows:
        out[r["case_id"]].append(Fact(r["event_id"], r["case_id"], r["type"], r["at"],
                                      r["sequence"], r["days"], r["unit"]))
    return out


async def save_cases(conn: asyncpg.Connection,
                     rows: Sequence[tuple[str, Any, str | None, str | None]]) -> None:
    """(case_id, received_at, jurisdiction, unit): what the case is known by; None keeps."""
    if not rows:
        return
    await conn.execute(
        """
        INSERT INTO cases (case_id, received_at, jurisdiction, unit)
        SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[])
        ON CONFLICT (case_id) DO UPDATE SET
            received_at = coalesce(EXCLUDED.received_at, cases.received_at),
            jurisdiction = coalesce(EXCLUDED.jurisdiction, cases.jurisdiction),
            unit = coalesce(EXCLUDED.unit, cases.unit),
            updated_at = now()
        """,
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
    )


def timer_of(r: asyncpg.Record) -> Timer:
    return Timer(
        id=r["id"], case_id=r["case_id"], kind=DeadlineKind(r["kind"]), round=r["round"],
        is_window=r["is_window"], start_event_id=str(r["start_event_id"]),
        start_type=r["start_type"], start_at=r["start_at"], start_date=r["start_date"],
        mode=CountingMode(r["mode"]), day_unit=r["day_unit"], length_days=r["length_days"],
        extension_days=r["extension_days"], rule=r["rule"], article=r["article"],
        due_date=r["due_date"], provisional=r["provisional"], status=r["status"],
        outcome=r["outcome"], warned=tuple(r["warned"]), fired_days=r["fired_days"],
        overdue_at=r["overdue_at"], next_fire_at=r["next_fire_at"], ended_at=r["ended_at"],
        ended_by=str(r["ended_by"]) if r["ended_by"] else None,
        ended_by_type=r["ended_by_type"], paused_days=r["paused_days"],
        paused_since=r["paused_since"],
    )


async def load_timers(conn: asyncpg.Connection, case_ids: Sequence[str]
                      ) -> dict[str, list[Timer]]:
    """The cases' timers, locked until the transaction ends (the sweep skips locked rows)."""
    rows = await conn.fetch(
        f"SELECT {_SELECT_TIMER} FROM timers WHERE case_id = ANY($1::text[]) "
        "ORDER BY id FOR UPDATE", list(case_ids))
    out: dict[str, list[Timer]] = defaultdict(list)
    for r in rows:
        out[r["case_id"]].append(timer_of(r))
    return out


def _values(t: Timer) -> tuple[Any, ...]:
    return (
        t.case_id, t.kind.value, t.round, t.is_window, uuid.UUID(t.start_event_id),
        t.start_type, t.start_at, t.start_date, t.mode.value, t.day_unit, t.length_days,
        t.extension_days, t.rule, t.article, t.due_date, t.provisional, t.status, t.outcome,
        list(t.warned), t.fired_days, t.overdue_at, t.next_fire_at, t.ended_at,
        uuid.UUID(t.ended_by) if t.ended_by else None, t.ended_by_type, t.paused_days,
        t.paused_since,
    )


_PLACEHOLDERS = ", ".join(f"${i}" for i in range(1, len(TIMER_COLUMNS) + 1))


async def insert_timers(conn: asyncpg.Connection, timers: Sequence[Timer]) -> None:
    if timers:
        await conn.executemany(
            f"INSERT INTO timers ({', '.join(TIMER_COLUMNS)}) VALUES ({_PLACEHOLDERS})",
            [_values(t) for t in timers])


async def update_timers(conn: asyncpg.Connection, timers: Sequence[Timer]) -> None:
    if not timers:
        return
    n = len(TIMER_COLUMNS)
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(TIMER_COLUMNS, 1) if c != "case_id")
    await conn.executemany(
        f"UPDATE timers SET {sets}, updated_at = now() WHERE id = ${n + 1} AND case_id = $1",
        [(*_values(t), t.id) for t in timers])


async def record_moves(conn: asyncpg.Connection, moves: Sequence[DueChange]) -> None:
    if moves:
        await conn.executemany(
            """
            INSERT INTO timer_history (timer_id, changed_at, old_due_date, new_due_date,
                                       old_provisional, new_provisional, reason, cause)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """,
            [(m.timer.id, m.at, m.old_due_date, m.timer.due_date, m.old_provisional,
              m.timer.provisional, m.reason, m.cause) for m in moves])


async def stamp_calendar(conn: asyncpg.Connection, timers: Sequence[Timer], revision: int
                         ) -> None:
    """Record the calendar revision the due dates of ``timers`` were just counted on."""
    if timers:
        await conn.execute(
            """UPDATE timers t SET calendar_version = $4
               FROM unnest($1::text[], $2::text[], $3::int[]) AS k(case_id, kind, round)
               WHERE t.case_id = k.case_id AND t.kind = k.kind AND t.round = k.round""",
            [t.case_id for t in timers], [t.kind.value for t in timers],
            [t.round for t in timers], revision)
