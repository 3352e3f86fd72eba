"""Routing's consumer policy for ``xinfang.case.events``: the decisions' events go to the
outbox, metrics are counted after the commit (the platform's pipeline owns the transaction)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.routing import calendar_change, metrics, store
from services.routing.outputs import Effects
from services.routing.router import Router, petitioners_of
from services.routing.ruleset_store import RuleStore
from shared.domain.schemas import CalendarChanged, CaseRegistered, CaseStep
from shared.platform.events import Envelope
from shared.platform.pipeline import Applied, Delivered, Policy


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


def case_events_policy(router: Router, rules: RuleStore, routing_topic: str) -> Policy:
    async def apply(conn: asyncpg.Connection, fresh: Sequence[Delivered]) -> Applied:
        effects = Effects()
        # Calendar versions first: the batch's cases are then counted on them.
        for d in fresh:
            if isinstance(d.envelope.data, CalendarChanged):
                await calendar_change.apply(conn, d.envelope.id, d.envelope.data, router.mode)
        events = [d.envelope for d in fresh if not isinstance(d.envelope.data, CalendarChanged)]
        # Every petitioner lock of the batch first, in one order, before any row lock:
        # batches on two instances then never wait on each other in a cycle.
        await store.lock_petitioners(conn, petitioners_of(events))
        await router.refresh(conn)
        active = await rules.active(conn)
        metrics.RULES_VERSION.set(active.version)
        for segment in segments(events):
            if isinstance(segment[0].data, CaseRegistered):
                await router.route_new(conn, segment, active, effects)
            elif isinstance(segment[0].data, CaseStep):
                await router.step(conn, segment[0], active, effects)
            # anything else on the topic is not routing's business
        return Applied(outbox=[(routing_topic, effects.envelopes)],
                       after_commit=lambda: metrics.observe(effects))

    return apply
