"""Intake's consumer: routing decisions (``case.assigned``, ``case.transferred_out``,
``case.linked``) applied to the case record, once per event (inbox in the same transaction)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.intake import assignments
from shared.consumer import BatchHandler, Delivered
from shared.inbox import claim
from shared.schemas import CaseAssigned


def routing_handler(pool: asyncpg.Pool) -> BatchHandler:
    async def handle(batch: Sequence[Delivered]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            fresh = await claim(conn, [d.inbox_row() for d in batch])
            for d in batch:
                if d.envelope.id not in fresh:
                    continue
                data = d.envelope.data
                if isinstance(data, CaseAssigned):
                    await assignments.apply_assignment(conn, data)

    return handle
