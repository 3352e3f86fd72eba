"""Hand-off notices to the body that assigned a case (交办): the receipt notice when the case is
accepted or declined (受理告知) and the closing report when it is closed (办结报告).

Intake publishes both, in the transaction of the step itself (outbox), because it holds every
fact they report: the assigning body and its reference, the decision, the written answer and
the closure. Whether the case was on time is judged on the same calendar intake counts its
windows on (``shared.domain.timeliness``), and the report document says the same as the event.
Neither event carries free text: a decline's reason and the answer's text may name people.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from services.intake.lifecycle import Action, Decision
from services.intake.registration import SOURCE
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import CountingMode, local_date
from shared.domain.schemas import HandoffClosed, HandoffReceived
from shared.domain.timeliness import acceptance_due, handling_due, is_handoff, kept
from shared.platform import outbox
from shared.platform.auth import Actor
from shared.platform.events import Envelope, envelope_for
from shared.platform.topics import HANDOFF_EVENTS

_NAMESPACE = uuid.UUID("3b0f6f2e-4a8e-4c71-9a51-6d3f1f0c2b7a")
ANSWERED = "answered"  # handled and answered in writing (办结并书面答复)
DECIDED = {Action.ACCEPT: "accepted", Action.DECLINE: "declined"}


@dataclass(frozen=True)
class Closing:
    """What a closing report states, from the case row and its timeline."""

    accepted_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime
    extension_days: int
    handling_due: date | None
    on_time: bool
    answer_text: str | None  # the written answer as the petitioner was told it (document only)


def closing_of(row: asyncpg.Record, steps: list[asyncpg.Record], closed_at: datetime,
               calendar: WorkingCalendar, mode: CountingMode) -> Closing:
    accept = next((s for s in steps if s["action"] == "accept"), None)
    reply = next((s for s in reversed(steps) if s["action"] == "reply"), None)
    accepted_at = accept["at"] if accept else None
    answered_at = reply["at"] if reply else row["replied_at"]
    extension = row["extended_days"] or 0
    due = handling_due(accepted_at, extension, calendar, mode) if accepted_at else None
    return Closing(accepted_at, answered_at, closed_at, extension, due, kept(due, answered_at),
                   reply["public_note"] if reply else None)


def _id(case_id: str, kind: str) -> str:
    # One notice of each kind per case: a case is accepted or declined once and closed once.
    return str(uuid.uuid5(_NAMESPACE, f"{case_id}|{kind}"))


def received_notice(row: asyncpg.Record, decision: Decision, actor: Actor,
                    calendar: WorkingCalendar, mode: CountingMode) -> Envelope:
    case_id = str(row["case_id"])
    due = acceptance_due(row["received_at"], calendar, mode)
    data = HandoffReceived(
        case_id=case_id, tracking_no=row["tracking_no"], channel=row["channel"],
        assigned_by=row["assigned_by"], assigned_ref=row["assigned_ref"],
        decision=DECIDED[decision.action], received_at=row["received_at"],
        decided_at=decision.at, acceptance_due=due, on_time=kept(due, decision.at),
        unit=row["assigned_unit"], actor_id=actor.id, actor_name=actor.name)
    return envelope_for(data, subject=case_id, source=SOURCE, time=decision.at,
                        event_id=_id(case_id, "received"))


def closed_report(row: asyncpg.Record, closing: Closing, actor: Actor) -> Envelope:
    case_id = str(row["case_id"])
    data = HandoffClosed(
        case_id=case_id, tracking_no=row["tracking_no"], channel=row["channel"],
        assigned_by=row["assigned_by"], assigned_ref=row["assigned_ref"], result=ANSWERED,
        received_at=row["received_at"], accepted_at=closing.accepted_at,
        answered_at=closing.answered_at,
        answer_date=local_date(closing.answered_at) if closing.answered_at else None,
        closed_at=closing.closed_at, extension_days=closing.extension_days,
        handling_due=closing.handling_due, on_time=closing.on_time, unit=row["assigned_unit"],
        actor_id=actor.id, actor_name=actor.name)
    return envelope_for(data, subject=case_id, source=SOURCE, time=closing.closed_at,
                        event_id=_id(case_id, "closed"))


async def publish(conn: asyncpg.Connection, row: asyncpg.Record, decision: Decision,
                  actor: Actor, calendar: WorkingCalendar, mode: CountingMode,
                  topic_prefix: str) -> None:
    """The notice this step owes the assigning body, if any, into the caller's transaction."""
    if not is_handoff(row["channel"]):
        return
    if decision.action in DECIDED:
        envelope = received_notice(row, decision, actor, calendar, mode)
    elif decision.action is Action.CLOSE:
        steps = await conn.fetch(
            "SELECT action, at, public_note FROM case_timeline WHERE case_id = $1 "
            "AND action IN ('accept', 'reply') ORDER BY seq", row["case_id"])
        envelope = closed_report(row, closing_of(row, list(steps), decision.at, calendar, mode),
                                 actor)
    else:
        return
    await outbox.add(conn, HANDOFF_EVENTS.name(topic_prefix), [envelope])
