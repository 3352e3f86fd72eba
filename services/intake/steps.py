"""Persisting one lifecycle decision: the case row (guarded by its version), the timeline step
and the step's event in the outbox — all in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date

import asyncpg
import orjson

from services.intake.lifecycle import Action, CaseState, CaseStatus, Decision, Rating
from services.intake.registration import SOURCE
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import CountingMode, DeadlineKind, compute_due, local_date
from shared.domain.schemas import STEP_TYPES
from shared.platform import outbox
from shared.platform.auth import Actor
from shared.platform.events import envelope_for
from shared.platform.topics import CASE_EVENTS

# Reasons the petitioner must be told (不予受理 with its reason, Art. 23, and the written
# answer itself, 书面答复, Art. 34, which the tracking page shows); other reasons (an objection,
# a transfer's grounds, an urge, an instruction) stay internal. The reason for an extension
# (延期, Art. 34) is told once the unit head approved it: the approval step carries the
# request's reason as its public note, while a request that may yet be refused stays internal.
PUBLIC_REASONS = frozenset({Action.DECLINE, Action.REPLY})


def state_of(row: asyncpg.Record, calendar: WorkingCalendar | None = None,
             mode: CountingMode = CountingMode.calendar_roll_forward) -> CaseState:
    """The lifecycle's view of a case row, with its windows counted on the calendar: the latest
    version deadlines published, so a change of the calendar moves an open window at once
    (without one, the windows are left out: enough to tell what actions are allowed now)."""

    def window(kind: DeadlineKind, start: object) -> date | None:
        if start is None or calendar is None:
            return None
        return compute_due(kind, local_date(start), calendar, mode).due_date  # type: ignore[arg-type]

    objection_due = row["objection_due"]
    if calendar is not None and row["objection_from"] is not None \
            and row["status"] == CaseStatus.ASSIGNED:
        objection_due = compute_due(DeadlineKind.objection, row["objection_from"], calendar,
                                    mode).due_date

    return CaseState(
        case_id=str(row["case_id"]),
        status=CaseStatus(row["status"]),
        received_at=row["received_at"],
        last_action_at=row["last_action_at"],
        objection_due=objection_due,
        extension_days=row["extended_days"],
        replied_at=row["replied_at"],
        reviewed_at=row["reviewed_at"],
        review_request_due=window(DeadlineKind.review_request, row["replied_at"]),
        rereview_request_due=window(DeadlineKind.rereview_request, row["reviewed_at"]),
        rating=Rating(row["rating"]) if row["rating"] else None,
        extension_requested=row["extension_requested_days"],
        hearing_open=row["hearing_open"],
        key_case=row["key_case"],
        urges=row["urges"],
    )


async def persist(conn: asyncpg.Connection, row: asyncpg.Record, decision: Decision, *,
                  actor: Actor, topic_prefix: str, unit: str | None,
                  publish: bool = True) -> int | None:
    """Apply ``decision`` if the case is still at ``row``'s version; the new version, or None
    when another action got there first (the caller answers 409)."""
    s = decision.state
    action = decision.action
    new_version = await conn.fetchval(
        """
        UPDATE cases SET status = $3, version = version + 1, last_action_at = $4,
               objection_due = $5, extended_days = $6, replied_at = $7, reviewed_at = $8,
               rating = $9, assigned_unit = $10,
               transfer_to = coalesce($11, transfer_to), extension_requested_days = $12,
               hearing_open = $13, key_case = $14, urges = $15
        WHERE case_id = $1 AND version = $2
        RETURNING version
        """,
        row["case_id"], row["version"], s.status.value, s.last_action_at, s.objection_due,
        s.extension_days, s.replied_at, s.reviewed_at, s.rating.value if s.rating else None,
        unit, decision.event.transfer_to if decision.event else None, s.extension_requested,
        s.hearing_open, s.key_case, s.urges,
    )
    if new_version is None:
        return None
    event = decision.event
    details = {k: v for k, v in {
        "days": event.days if event else None,
        "rating": event.rating.value if event and event.rating else None,
        "transfer_to": event.transfer_to if event else None,
        "respond_by": event.respond_by.isoformat() if event and event.respond_by else None,
        "urge_count": event.urge_count if event else None,
    }.items() if v is not None}
    public = decision.reason if action in PUBLIC_REASONS else None
    internal = decision.reason if action not in PUBLIC_REASONS else None
    if action is Action.APPROVE_EXTENSION:
        public = await conn.fetchval(
            "SELECT internal_note FROM case_timeline WHERE case_id = $1 AND action = 'extend' "
            "ORDER BY seq DESC LIMIT 1", row["case_id"])
    await add_timeline(conn, row["case_id"], new_version, action.value, s.status.value,
                       decision.at, actor, public, internal, details)
    if publish and event is not None:
        model = STEP_TYPES[action.value]
        await outbox.add(conn, CASE_EVENTS.name(topic_prefix), [envelope_for(
            model(case_id=event.case_id, at=event.at, status=event.status.value,
                  previous_status=event.previous_status.value, sequence=new_version,
                  unit=row["assigned_unit"], days=event.days,
                  rating=event.rating.value if event.rating else None,
                  transfer_to=event.transfer_to, respond_by=event.respond_by,
                  urge_count=event.urge_count),
            subject=event.case_id, source=SOURCE, time=event.at,
        )])
    return int(new_version)


async def add_timeline(conn: asyncpg.Connection, case_id: uuid.UUID, seq: int, action: str,
                       status: str, at: object, actor: Actor, public_note: str | None = None,
                       internal_note: str | None = None,
                       details: Mapping[str, object] | None = None) -> None:
    await conn.execute(
        """INSERT INTO case_timeline (case_id, seq, action, status, at, actor, actor_id,
                                      actor_name, public_note, internal_note, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)""",
        case_id, seq, action, status, at, actor.face, actor.id, actor.name, public_note,
        internal_note,
        orjson.dumps(details or {}).decode(),
    )
