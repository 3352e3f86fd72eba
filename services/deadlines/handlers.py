"""The consumer of case and routing events: each batch, in one transaction, records the facts
the events carry and brings the timers of the cases they touch in line with those facts.

Idempotent (the inbox drops an event seen before) and order-tolerant (timers are derived from
all of a case's facts, whatever order they came in; see plan.py). Times come from the events
(`received_at`, `assigned_at`, `at`), never from when they arrived: a case loaded from history
keeps its historical deadlines.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.deadlines import calendars, metrics, outputs, store, withdrawals
from services.deadlines.plan import (
    ASSIGNED,
    LINKED,
    REGISTERED,
    RELEVANT_TYPES,
    TRANSFER_DECIDED,
    Fact,
    case_unit,
    plan,
)
from services.deadlines.reconcile import Policy as TimerPolicy
from services.deadlines.reconcile import reconcile
from services.deadlines.report_back import ReportBackLimits
from shared.domain.limits import CONFIGURED_LENGTH_KINDS
from shared.domain.schemas import (
    CaseAssigned,
    CaseLinked,
    CaseRegistered,
    CaseStep,
    CaseTransferDecided,
)
from shared.domain.vocab import Vocabulary
from shared.platform.clock import Clock
from shared.platform.events import Envelope
from shared.platform.pipeline import Applied, Delivered, Policy


def fact_of(envelope: Envelope, limits: ReportBackLimits | None = None) -> Fact | None:
    """What this service keeps of an event, or None if no timer depends on it. A registration
    keeps the report-back limit the case owes its assigning body, as configured when it came."""
    data = envelope.data
    if envelope.type not in RELEVANT_TYPES:
        return None
    if isinstance(data, CaseRegistered):
        days = limits.days_for(data.channel, data.assigned_by) if limits else None
        return Fact(envelope.id, data.case_id, REGISTERED, data.received_at, days=days)
    if isinstance(data, CaseAssigned):
        return Fact(envelope.id, data.case_id, ASSIGNED, data.assigned_at,
                    data.assignment_version, unit=data.unit)
    if isinstance(data, CaseTransferDecided):
        return Fact(envelope.id, data.case_id, TRANSFER_DECIDED, data.at)
    if isinstance(data, CaseLinked):
        return Fact(envelope.id, data.case_id, LINKED, data.at)
    if isinstance(data, CaseStep):
        return Fact(envelope.id, data.case_id, envelope.type, data.at, data.sequence,
                    data.days, data.unit)
    return None


def events_policy(cals: calendars.Calendars, policy: TimerPolicy, clock: Clock,
                  vocab: Vocabulary, topic: str,
                  limits: ReportBackLimits | None = None) -> Policy:
    """The consumer's policy; each timer it counts records the calendar revision it used."""
    async def apply(conn: asyncpg.Connection, fresh: Sequence[Delivered]) -> Applied | None:
        applied = [(d.envelope, fact_of(d.envelope, limits)) for d in fresh]
        facts = [f for _, f in applied if f is not None]
        if not facts:
            return None
        await calendars.shared_lock(conn)
        calendar = await cals.current(conn)
        case_ids = sorted({f.case_id for f in facts})
        await store.lock_cases(conn, case_ids)
        await store.insert_facts(conn, facts)
        known = await store.load_facts(conn, case_ids)
        stored = await store.load_timers(conn, case_ids)
        now = clock.now()
        inserts, updates, moves, case_rows = [], [], [], []
        withdrawn: list[Envelope] = []
        registered = {e.data.case_id: e.data for e, _ in applied
                      if isinstance(e.data, CaseRegistered)}
        for case_id in case_ids:
            case_facts = known.get(case_id, [])
            changes = reconcile(case_id, plan(case_facts), stored.get(case_id, []),
                                calendar, policy, now)
            inserts += changes.inserts
            updates += changes.updates
            moves += changes.moves
            before = {t.id: t for t in stored.get(case_id, [])}
            for t in changes.updates:
                withdrawn += withdrawals.of(before[t.id], t, now)
            reg = registered.get(case_id)
            case_rows.append((
                case_id, reg.received_at if reg else None,
                (vocab.jurisdictions.resolve(reg.jurisdiction) or reg.jurisdiction)
                if reg else None,
                case_unit(case_facts)))
        await store.save_cases(conn, case_rows)
        await store.insert_timers(conn, inserts)
        await store.update_timers(conn, updates)
        await store.record_moves(conn, moves)
        await store.stamp_calendar(conn, [*inserts, *(m.timer for m in moves)], cals.revision)

        def count() -> None:
            metrics.TIMERS_CREATED.inc(len(inserts))
            metrics.RESCHEDULED.labels("events").inc(len(moves))
            metrics.WITHDRAWN.inc(len(withdrawn))

        # A configured limit is announced when its timer starts: the readers (statistics'
        # report-back status) cannot count it themselves.
        scheduled = [outputs.scheduled(t) for t in inserts if t.kind in CONFIGURED_LENGTH_KINDS]
        return Applied(outbox=[(topic, [*scheduled, *(outputs.rescheduled(m) for m in moves),
                                        *withdrawn])],
                       after_commit=count)

    return apply
