"""Registering cases from any entry point (API, Open311, import) with one code path."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.intake import store
from services.intake.crypto import associated_data as associated
from services.intake.registration import (
    Keys,
    Registration,
    register,
    tracking_no,
    tracking_year,
)
from services.intake.validation import NewCase
from shared.platform.auth import Actor
from shared.platform.clock import Clock, iso


@dataclass(frozen=True)
class Outcome:
    created: bool
    body: dict[str, Any]


class Registrar:
    def __init__(self, pool: asyncpg.Pool, keys: Keys, clock: Clock, *, topic_prefix: str,
                 tracking_prefix: str) -> None:
        self._pool = pool
        self._keys = keys
        self._clock = clock
        self._topic_prefix = topic_prefix
        self._tracking_prefix = tracking_prefix
        self._numbers = store.TrackingNumbers()

    async def submit(self, case: NewCase, actor: Actor) -> Outcome:
        return (await self.submit_many([case], actor))[0]

    async def submit_many(self, cases: Sequence[NewCase], actor: Actor) -> list[Outcome]:
        """Register a batch in one transaction; a known (channel, external_id) is answered with
        the original registration and creates nothing (also when two requests race)."""
        async with self._pool.acquire() as conn:
            return await self.register_in(conn, cases, actor)

    async def register_in(self, conn: asyncpg.Connection, cases: Sequence[NewCase],
                          actor: Actor) -> list[Outcome]:
        """As :meth:`submit_many`, on ``conn``: inside the caller's transaction, if it has
        one, so that what the caller records with it commits or vanishes with the cases."""
        numbers = await self._tracking_numbers(conn, cases)
        now = self._clock.now()
        regs = [
            register(case, tracking=num, now=now, keys=self._keys)
            for case, num in zip(cases, numbers, strict=True)
        ]
        inserted = await store.insert_registrations(conn, regs, self._topic_prefix, actor)
        return [
            Outcome(True, reg.response()) if reg.case_id in inserted
            else await self._existing(conn, reg, cases[i])
            for i, reg in enumerate(regs)
        ]

    async def _tracking_numbers(self, conn: asyncpg.Connection, cases: Sequence[NewCase]
                                ) -> list[str]:
        by_year: dict[int, list[int]] = defaultdict(list)
        for i, case in enumerate(cases):
            by_year[tracking_year(case.received_at)].append(i)
        out = [""] * len(cases)
        for year, idxs in by_year.items():
            for i, n in zip(idxs, await self._numbers.take(conn, year, len(idxs)),
                            strict=True):
                out[i] = tracking_no(self._tracking_prefix, year, n)
        return out

    async def _existing(self, conn: asyncpg.Connection, reg: Registration, case: NewCase
                        ) -> Outcome:
        assert case.external_id is not None  # only an external id can conflict
        row = await store.find_by_external_id(conn, case.channel, case.external_id)
        assert row is not None
        case_id = str(row["case_id"])
        code = self._keys.cipher.decrypt(bytes(row["query_code_enc"]),
                                         associated=associated(case_id, "query_code"))
        return Outcome(False, {
            "case_id": case_id, "tracking_no": row["tracking_no"], "query_code": code,
            "status": "registered", "received_at": iso(row["received_at"]),
        })

    def query_code_matches(self, row: asyncpg.Record, code: str) -> bool:
        import hmac

        case_id = str(row["case_id"])
        real = self._keys.cipher.decrypt(bytes(row["query_code_enc"]),
                                         associated=associated(case_id, "query_code"))
        return hmac.compare_digest(real.encode(), code.encode())
