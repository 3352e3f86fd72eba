"""Applying routing's decisions to the case record: an assignment (first, after an objection,
or a reassignment), a transfer out of the bureau, or a link to an earlier case."""

from __future__ import annotations

import uuid

import asyncpg

from services.intake import steps
from services.intake.lifecycle import (
    ActionCommand,
    ActionInvalid,
    CaseStatus,
    IllegalTransition,
    decide,
)
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import CountingMode, DeadlineKind, compute_due, local_date
from shared.domain.schemas import CaseAssigned, CaseLinked, CaseTransferDecided
from shared.platform.auth import Actor
from shared.platform.calendar_versions import CalendarView
from shared.platform.clock import Clock
from shared.platform.logging import get_logger

log = get_logger(__name__)
ROUTING_ACTOR = Actor("service:routing", "routing", "routing")


def reassigned_by(event: CaseAssigned) -> Actor:
    """The staff member (or client) who moved the case, as routing's event names them."""
    if event.actor_id and event.actor_name:
        return Actor(event.actor_id, event.actor_name, "staff")
    return ROUTING_ACTOR


class RoutingDecisions:
    """Applies routing's decisions; windows are counted on ``calendar``, the latest version of
    the calendar this service folded (read inside the consumer's transaction)."""

    def __init__(self, calendar: CalendarView, mode: CountingMode, clock: Clock,
                 topic_prefix: str) -> None:
        self._view = calendar
        self._calendar = WorkingCalendar()
        self._mode = mode
        self._clock = clock
        self._prefix = topic_prefix

    async def refresh(self, conn: asyncpg.Connection) -> None:
        """Count on the latest calendar version for the rest of the transaction."""
        self._calendar = await self._view.current(conn)

    async def assigned(self, conn: asyncpg.Connection, event: CaseAssigned) -> None:
        row = await _locked(conn, event.case_id)
        if row is None or event.assignment_version <= row["assignment_version"]:
            return  # unknown case, or an older decision arriving late: nothing to do
        await conn.execute(
            "UPDATE cases SET assignment_version = $2, leader = $3, "
            "key_case = key_case OR $4 WHERE case_id = $1",
            row["case_id"], event.assignment_version, event.leader, event.key_case)
        row = await _locked(conn, event.case_id)
        assert row is not None
        if row["status"] == CaseStatus.REGISTERED:
            # The window is counted again on every read (steps.state_of) from the day it
            # starts, so a later calendar change moves it; objection_due keeps the first count.
            start = local_date(event.assigned_at)
            await conn.execute("UPDATE cases SET objection_from = $2 WHERE case_id = $1",
                               row["case_id"], start)
            objection_due = compute_due(DeadlineKind.objection, start, self._calendar,
                                        self._mode).due_date
            # Stamped at the case's own clock, not routing's: a clerk loading paper history
            # must still be able to enter the unit's acceptance at its real, earlier date.
            at = max(row["received_at"], row["last_action_at"])
            decision = decide(steps.state_of(row, self._calendar, self._mode),
                              ActionCommand("assign", at=at, objection_due=objection_due,
                                            from_routing=True),
                              now=max(self._clock.now(), at))
            await steps.persist(conn, row, decision, actor=ROUTING_ACTOR,
                                topic_prefix=self._prefix, unit=event.unit, publish=False)
            return
        # A reassignment by staff while the case is being handled: the unit changes, the
        # status does not.
        version = await conn.fetchval(
            "UPDATE cases SET assigned_unit = $2, version = version + 1 WHERE case_id = $1 "
            "RETURNING version", row["case_id"], event.unit)
        await steps.add_timeline(conn, row["case_id"], version, "reassign", row["status"],
                                 event.assigned_at, reassigned_by(event),
                                 details={"unit": event.unit})

    async def transfer_decided(self, conn: asyncpg.Connection, event: CaseTransferDecided
                               ) -> None:
        row = await _locked(conn, event.case_id)
        if row is None or row["status"] != CaseStatus.REGISTERED:
            return
        at = max(event.at, row["last_action_at"])
        try:
            decision = decide(steps.state_of(row, self._calendar, self._mode),
                              ActionCommand("transfer_out", at=at,
                                            reason=f"routing rule {event.rule_id}",
                                            transfer_to=event.body),
                              now=max(self._clock.now(), at))
        except (IllegalTransition, ActionInvalid) as exc:
            log.warning("transfer_not_applied", case_id=event.case_id, error=str(exc))
            return
        await steps.persist(conn, row, decision, actor=ROUTING_ACTOR,
                            topic_prefix=self._prefix, unit=None)

    async def linked(self, conn: asyncpg.Connection, event: CaseLinked) -> None:
        row = await _locked(conn, event.case_id)
        if row is None or row["linked_to"] is not None:
            return
        version = await conn.fetchval(
            "UPDATE cases SET linked_to = $2, link_kind = $3, version = version + 1 "
            "WHERE case_id = $1 RETURNING version",
            row["case_id"], uuid.UUID(event.linked_to), event.kind)
        await steps.add_timeline(conn, row["case_id"], version, "link", row["status"],
                                 max(event.at, row["last_action_at"]), ROUTING_ACTOR,
                                 details={"kind": event.kind, "linked_to": event.linked_to})


async def _locked(conn: asyncpg.Connection, case_id: str) -> asyncpg.Record | None:
    """The case row, locked until the transaction ends (an API action may race with us)."""
    return await conn.fetchrow("SELECT * FROM cases WHERE case_id = $1 FOR UPDATE",
                               uuid.UUID(case_id))
