"""Re-encrypting the stored personal data under the writing key (``xf keys rotate``).

Runs beside the live service: cases are read in batches in case-id order without locks, and
each case is rewritten by one UPDATE of its own that only applies if its ciphertexts are still
the ones read (they never change after registration, so this only guards against a second
rotation running at once). One row lock at a time cannot deadlock with the service's
transactions, which lock several cases. Only the ciphertext columns change, and only those not
already under the writing key. Interrupted, it simply starts again: finished rows are skipped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from services.intake.crypto import associated_data
from services.intake.keyring import KeyRing
from services.intake.registration import ENC_COLUMN, FREE_TEXT, REPRESENTATIVES

# Every ciphertext column of ``cases`` and the field its associated data names.
COLUMNS = {**{column: field for field, column in ENC_COLUMN.items()},
           "query_code_enc": "query_code", "representatives_enc": REPRESENTATIVES,
           "free_text_enc": FREE_TEXT}


@dataclass
class Progress:
    cases: int = 0
    rewritten: int = 0


async def rotate_batch(conn: asyncpg.Connection, ring: KeyRing, after: uuid.UUID | None,
                       batch: int) -> tuple[uuid.UUID | None, Progress]:
    """One batch after ``after`` (None: from the start); the last case id seen (None: done)."""
    done = Progress()
    rows = await conn.fetch(
        f"SELECT case_id, {', '.join(COLUMNS)} FROM cases "
        "WHERE ($1::uuid IS NULL OR case_id > $1) ORDER BY case_id LIMIT $2", after, batch)
    for row in rows:
        done.cases += 1
        case_id = str(row["case_id"])
        changes: dict[str, tuple[bytes, bytes]] = {}
        for column, field in COLUMNS.items():
            blob = row[column]
            if blob is None or ring.is_current(bytes(blob)):
                continue
            ad = associated_data(case_id, field)
            changes[column] = (bytes(blob), ring.encrypt(ring.decrypt(bytes(blob), associated=ad),
                                                         associated=ad))
        if changes:
            columns = list(changes)
            sets = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(columns))
            same = " AND ".join(f"{c} = ${i + 2 + len(columns)}" for i, c in enumerate(columns))
            status = await conn.execute(
                f"UPDATE cases SET {sets} WHERE case_id = $1 AND {same}", row["case_id"],
                *(new for _, new in changes.values()), *(old for old, _ in changes.values()))
            done.rewritten += status == "UPDATE 1"
    return (rows[-1]["case_id"] if len(rows) == batch else None), done


async def rotate(pool: asyncpg.Pool, ring: KeyRing, batch: int = 500) -> Progress:
    total = Progress()
    after: uuid.UUID | None = None
    while True:
        async with pool.acquire() as conn:
            after, done = await rotate_batch(conn, ring, after, batch)
        total.cases += done.cases
        total.rewritten += done.rewritten
        if after is None:
            return total
