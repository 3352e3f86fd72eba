"""Intake's consumer policy: routing's decisions applied to the case record, and the calendar's
versions folded (the platform's pipeline runs it inside the transaction that claims the events
in the inbox). A batch folds its calendar versions first, so decisions after them in the batch
count on them."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.intake.assignments import RoutingDecisions
from shared.domain.schemas import CalendarChanged, CaseAssigned, CaseLinked, CaseTransferDecided
from shared.platform import calendar_versions
from shared.platform.pipeline import Applied, Delivered, Policy


def routing_policy(decisions: RoutingDecisions) -> Policy:
    async def apply(conn: asyncpg.Connection, fresh: Sequence[Delivered]) -> Applied | None:
        for d in fresh:
            if isinstance(d.envelope.data, CalendarChanged):
                await calendar_versions.fold(conn, d.envelope.id, d.envelope.data)
        await decisions.refresh(conn)
        for d in fresh:
            data = d.envelope.data
            if isinstance(data, CaseAssigned):
                await decisions.assigned(conn, data)
            elif isinstance(data, CaseTransferDecided):
                await decisions.transfer_decided(conn, data)
            elif isinstance(data, CaseLinked):
                await decisions.linked(conn, data)
        return None

    return apply
