"""Applying case events to routing's state: new cases routed (or linked) in bulk, objections
re-routed, lifecycle steps folded into the petitions index, key cases escalated.

Everything here runs inside the caller's transaction and returns its effects (events for the
outbox, figures for the metrics); nothing is published or counted before the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from services.routing import decide, store
from services.routing.decide import CaseFacts, ReassignmentRefused, route
from services.routing.links import (
    OPEN_STATUSES,
    EarlierCase,
    PetitionFacts,
    classify_link,
    is_third_repeat_within_12_months,
)
from services.routing.outputs import Decided, Effects, derived_id, linked_envelope
from services.routing.rules import RuleSet
from shared.domain.calendar import WorkingCalendar
from shared.domain.limits import CountingMode, DeadlineKind, compute_due, local_date
from shared.domain.schemas import CaseRegistered, CaseStep, StepType
from shared.platform import calendar_versions
from shared.platform.auth import Actor
from shared.platform.calendar_versions import CalendarView
from shared.platform.clock import Clock
from shared.platform.events import Envelope
from shared.platform.logging import get_logger

log = get_logger(__name__)

THIRD_REPEAT = "third_repeat_12m"
FLAGGED = "flagged"
URGED_TWICE = "urged_twice"  # the petition office urged the case a second time (督办)
# Statuses in which a case may still be (re)assigned.
ASSIGNABLE = frozenset({"registered", "assigned", "accepted", "extended"})
# Reach of the earlier-case query beyond open and final cases: twelve months (the key-case
# count) with room to spare for month lengths and time zones.
KEY_WINDOW_DAYS = 370


class Router:
    def __init__(self, clock: Clock, calendar: CalendarView, mode: CountingMode) -> None:
        self._clock = clock
        self._view = calendar
        self._calendar = WorkingCalendar()
        self.mode = mode

    async def refresh(self, conn: asyncpg.Connection) -> None:
        """Count on the latest calendar version folded here; call holding the counting lock
        (a calendar change then cannot commit between this read and the batch's commit)."""
        await calendar_versions.counting_lock(conn)
        self._calendar = await self._view.current(conn)

    # -- new cases, in bulk ----------------------------------------------------------------

    async def route_new(self, conn: asyncpg.Connection, events: Sequence[Envelope],
                        rules: RuleSet, effects: Effects) -> None:
        """Route every ``case.registered`` of the batch. The caller holds the petitioners'
        locks (see :func:`store.lock_petitioners`)."""
        # A case routed before (registered twice under two event ids) is dropped when its row
        # is inserted: ON CONFLICT keeps the first decision, and nothing is emitted for it.
        regs = [(e, e.data) for e in events if isinstance(e.data, CaseRegistered)]
        earlier = await store.earlier_cases(
            conn, [r.petitioner_key for _, r in regs if r.petitioner_key and not r.anonymous],
            since=min((r.received_at for _, r in regs), default=self._clock.now())
            - timedelta(days=KEY_WINDOW_DAYS))
        now = self._clock.now()
        rows: list[store.NewPetition] = []
        decided: list[Decided] = []
        links: list[tuple[str, Envelope, str]] = []  # (case id, event, kind)
        # (original case id, input event id, the repeat's received_at)
        escalate: list[tuple[str, str, datetime]] = []
        for env, reg in regs:
            key = None if reg.anonymous else reg.petitioner_key
            mine = earlier.setdefault(key, []) if key else []
            new = PetitionFacts(reg.case_id, key, reg.channel, reg.jurisdiction, reg.category,
                                tuple(reg.content_signature), reg.received_at)
            # Most petitioners write once: nothing to compare with, nothing to link.
            link = classify_link(new, mine, now=reg.received_at) if mine else None
            third = is_third_repeat_within_12_months(new, mine) if mine else False
            key_reasons = tuple(r for r, on in ((FLAGGED, reg.flagged_key),
                                                (THIRD_REPEAT, third)) if on)
            status, outcome = "registered", "linked"
            if link is None:
                decision = route(CaseFacts(reg.jurisdiction, reg.category, reg.signers,
                                           reg.subject_unit, reg.subject_person, key_reasons),
                                 rules)
                key_reasons = decision.key_reasons
                outcome = "assigned" if decision.unit else "transferred"
                status = "assigned" if decision.unit else "transferred_out"
                decided.append(Decided(reg.case_id, 1, decision, "initial", now,
                                       derived_id(env.id, "decided"),
                                       case_at=reg.received_at))
            else:
                links.append((reg.case_id, linked_envelope(
                    reg.case_id, link.case_id, link.kind, reg.received_at,
                    derived_id(env.id, "linked")), link.kind))
                if third:
                    escalate.append((link.case_id, env.id, reg.received_at))
            rows.append(store.NewPetition(
                reg.case_id, key, reg.channel, reg.jurisdiction, reg.category, reg.signers,
                reg.subject_unit, reg.subject_person, new.signature, reg.received_at, status,
                key_reasons, outcome, link.case_id if link else None,
                link.kind if link else None, link.similarity if link else None, now))
            # Later petitions of the batch see this one as an earlier case.
            mine.append(EarlierCase(reg.case_id, key, reg.channel, reg.jurisdiction,
                                    reg.category, new.signature, reg.received_at, status,
                                    linked_as=link.kind if link else None))
        inserted = await store.insert_petitions(conn, rows)
        decided = [d for d in decided if d.case_id in inserted]
        await store.insert_decisions(conn, decided)
        times = {r.case_id: e.time for e, r in regs}
        for d in decided:
            effects.decided(d, latency=(now - times[d.case_id]).total_seconds())
        for case_id, envelope, kind in links:
            if case_id in inserted:
                effects.envelopes.append(envelope)
                effects.linked.append(kind)
                effects.latencies.append((now - times[case_id]).total_seconds())
        for original, event_id, received_at in escalate:
            await self.escalate(conn, original, event_id, rules, effects, at=received_at)

    async def escalate(self, conn: asyncpg.Connection, case_id: str, event_id: str,
                       rules: RuleSet, effects: Effects, reason: str = THIRD_REPEAT, *,
                       at: datetime | None = None) -> None:
        """The open case ``case_id`` becomes a key case and gets a responsible leader (a new
        assignment version): a third petition within twelve months was linked to it, staff
        flagged it, or it was urged twice. ``at``: the case's time of the step that caused it
        (the repeat's receipt, the flag, the urge), which the assignment carries."""
        row = await store.lock_petition(conn, case_id)
        if row is None or row["outcome"] != "assigned" or row["status"] not in OPEN_STATUSES:
            return
        current = await store.current_decision(conn, case_id)
        if current is None or current["key_case"] or current["unit"] is None:
            return
        try:
            decision = decide.reassign(store.facts_of(row, extra_key=(reason,)),
                                       current["unit"], rules, rule_id="key_case")
        except ReassignmentRefused:  # cannot happen for the unit it already has; stay safe
            return
        d = Decided(case_id, current["assignment_version"] + 1, decision, "escalation",
                    self._clock.now(), derived_id(event_id, f"escalate:{case_id}"), case_at=at)
        # (the derived id keeps a redelivered flag or urge from deciding twice)
        await store.insert_decisions(conn, [d])
        await store.set_outcome(conn, case_id, outcome="assigned",
                                key_reasons=decision.key_reasons,
                                objected=row["objected_units"], status=None)
        effects.decided(d)

    # -- lifecycle steps -------------------------------------------------------------------

    async def step(self, conn: asyncpg.Connection, env: Envelope, rules: RuleSet,
                   effects: Effects) -> None:
        data = env.data
        assert isinstance(data, CaseStep)
        accepted_on = due = extended = None
        if env.type == StepType.ACCEPTED:
            accepted_on = local_date(data.at)
            due = compute_due(DeadlineKind.handling, accepted_on, self._calendar,
                              self.mode).due_date
        elif env.type == StepType.EXTENDED and data.days:
            row = await conn.fetchrow("SELECT accepted_on FROM petitions WHERE case_id = $1",
                                      uuid.UUID(data.case_id))
            if row is not None and row["accepted_on"] is not None:
                extended = data.days
                due = compute_due(DeadlineKind.handling, row["accepted_on"], self._calendar,
                                  self.mode, extension_days=data.days).due_date
        await store.apply_status(conn, data.case_id, status=data.status,
                                 sequence=data.sequence, accepted_on=accepted_on,
                                 extended_days=extended, handling_due=due)
        if env.type == StepType.OBJECTED:
            await self._objected(conn, env, data, rules, effects)
        elif env.type == StepType.KEY_FLAGGED:
            await self.escalate(conn, data.case_id, env.id, rules, effects, reason=FLAGGED,
                                at=data.at)
        elif env.type == StepType.URGED and (data.urge_count or 0) >= 2:
            await self.escalate(conn, data.case_id, env.id, rules, effects,
                                reason=URGED_TWICE, at=data.at)

    async def _objected(self, conn: asyncpg.Connection, env: Envelope, data: CaseStep,
                        rules: RuleSet, effects: Effects) -> None:
        """Art. 23: the assigned unit says the matter is not its remit. Route again, never to
        a unit that has objected on this case."""
        row = await store.lock_petition(conn, data.case_id)
        current = await store.current_decision(conn, data.case_id) if row else None
        if row is None or current is None or row["outcome"] != "assigned":
            log.warning("objection_ignored", case_id=data.case_id, reason="not assigned")
            return
        unit = data.unit or current["unit"]
        objected = tuple(dict.fromkeys([*row["objected_units"], unit]))
        if current["unit"] not in objected:  # an objection to an assignment already replaced
            await store.set_outcome(conn, data.case_id, outcome="assigned",
                                    key_reasons=row["key_reasons"], objected=objected,
                                    status=None)
            return
        decision = route(store.facts_of(row, objected=objected), rules)
        d = Decided(data.case_id, current["assignment_version"] + 1, decision, "objection",
                    self._clock.now(), derived_id(env.id, "decided"), case_at=data.at)
        await store.insert_decisions(conn, [d])
        # Intake puts the case back to "registered" and applies this decision next: an
        # assignment, or a transfer out (its own step event then reports that status).
        await store.set_outcome(conn, data.case_id,
                                outcome="assigned" if decision.unit else "transferred",
                                key_reasons=decision.key_reasons, objected=objected,
                                status="assigned" if decision.unit else None)
        effects.decided(d, latency=(self._clock.now() - env.time).total_seconds())

    # -- reassignment by staff ---------------------------------------------------------------

    async def reassign(self, conn: asyncpg.Connection, case_id: str, unit: str, note: str,
                       actor: Actor, rules: RuleSet, event_id: str) -> Decided:
        """LookupError: unknown case; ValueError: not assignable now (the message says why);
        ReassignmentRefused: the unit may not have it."""
        row = await store.lock_petition(conn, case_id)
        if row is None:
            raise LookupError(case_id)
        if row["outcome"] == "linked":
            raise ValueError(f"the case is linked to {row['linked_to']} as a {row['link_kind']}"
                             "; it is not assigned on its own")
        if row["status"] not in ASSIGNABLE:
            raise ValueError(f"a case in status {row['status']!r} cannot be reassigned")
        current = await store.current_decision(conn, case_id)
        decision = decide.reassign(store.facts_of(row), unit, rules)
        if current is not None and current["unit"] == decision.unit:
            raise ReassignmentRefused("same_unit", f"the case is already with {decision.unit!r}")
        version = (current["assignment_version"] if current else 0) + 1
        d = Decided(case_id, version, decision, "reassign", self._clock.now(), event_id,
                    actor=actor, note=note)
        await store.insert_decisions(conn, [d])
        await store.set_outcome(conn, case_id, outcome="assigned",
                                key_reasons=decision.key_reasons,
                                objected=row["objected_units"], status=None)
        return d


def petitioners_of(events: Sequence[Envelope]) -> list[str]:
    """The petitioner keys whose lock routing these events needs (anonymous: none)."""
    return [e.data.petitioner_key for e in events
            if isinstance(e.data, CaseRegistered) and e.data.petitioner_key
            and not e.data.anonymous]
