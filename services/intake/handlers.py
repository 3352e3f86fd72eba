"""Intake's consumer: routing's decisions applied to the case record, once per event (inbox in
the same transaction)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.intake.assignments import RoutingDecisions
from shared.domain.schemas import CaseAssigned, CaseLinked, CaseTransferDecided
from shared.platform.consumer import BatchHandler, Delivered
from shared.platform.inbox import claim


def routing_handler(pool: asyncpg.Pool, decisions: RoutingDecisions) -> BatchHandler:
    async def handle(batch: Sequence[Delivered]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            fresh = await claim(conn, [d.inbox_row() for d in batch])
            for d in batch:
                if d.envelope.id not in fresh:
                    continue
                data = d.envelope.data
                if isinstance(data, CaseAssigned):
                    await decisions.assigned(conn, data)
                elif isinstance(data, CaseTransferDecided):
                    await decisions.transfer_decided(conn, data)
                elif isinstance(data, CaseLinked):
                    await decisions.linked(conn, data)

    return handle
