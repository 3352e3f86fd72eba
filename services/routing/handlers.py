"""Routing's consumer of ``xinfang.case.events``: one transaction per batch, the inbox in it,
the decisions' events in the outbox, metrics counted after the commit."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.routing import metrics, store
from services.routing.outputs import Effects
from services.routing.router import Router, petitioners_of
from services.routing.ruleset_store import RuleStore
from shared.domain.schemas import CaseRegistered, CaseStep
from shared.platform import outbox
from shared.platform.consumer import BatchHandler, Delivered
from shared.platform.events import Envelope
from shared.platform.inbox import claim


def segments(events: Sequence[Envelope]) -> list[list[Envelope]]:
    """Consecutive registrations together (routed in bulk), every other event on its own, in
    stream order: a step that came before a registration is applied before it is routed."""
    out: list[list[Envelope]] = []
    for e in events:
        bulk = isinstance(e.data, CaseRegistered)
        if bulk and out and isinstance(out[-1][0].data, CaseRegistered):
            out[-1].append(e)
        else:
            out.append([e])
    return out


def case_events_handler(pool: asyncpg.Pool, router: Router, rules: RuleStore,
                        routing_topic: str) -> BatchHandler:
    async def handle(batch: Sequence[Delivered]) -> None:
        effects = Effects()
        async with pool.acquire() as conn, conn.transaction():
            fresh = await claim(conn, [d.inbox_row() for d in batch])
            events = [d.envelope for d in batch if d.envelope.id in fresh]
            if not events:
                return
            # Every petitioner lock of the batch first, in one order, before any row lock:
            # batches on two instances then never wait on each other in a cycle.
            await store.lock_petitioners(conn, petitioners_of(events))
            active = await rules.active(conn)
            metrics.RULES_VERSION.set(active.version)
            for segment in segments(events):
                if isinstance(segment[0].data, CaseRegistered):
                    await router.route_new(conn, segment, active, effects)
                elif isinstance(segment[0].data, CaseStep):
                    await router.step(conn, segment[0], active, effects)
                # anything else on the topic is not routing's business
            await outbox.add(conn, routing_topic, effects.envelopes)
        metrics.observe(effects)

    return handle
