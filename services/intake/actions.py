"""``POST /v1/cases/{case_id}/actions``: a handling unit, staff or admin moves a case along
its lifecycle (docs/domain.md §3). Refusals change nothing: 403 wrong unit, 409 illegal transition
or a
concurrent change, 422 bad details."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg
from aiohttp import web

from services.intake import handoff, steps, store
from services.intake.fields import FieldError
from services.intake.lifecycle import (
    Action,
    ActionCommand,
    ActionInvalid,
    IllegalTransition,
    decide,
)
from services.intake.metrics import ACTIONS
from services.intake.normalise import out_of_range, parse_rfc3339
from services.intake.permissions import HEAD_ACTIONS, OFFICE_ACTIONS, allowed_for, may
from shared.domain.limits import CountingMode
from shared.platform.auth import Principal
from shared.platform.boundary import EARLIEST_DAY
from shared.platform.calendar_versions import CalendarView
from shared.platform.clock import Clock, iso
from shared.platform.logging import get_logger
from shared.platform.web import error, field_errors, json_response, principal, read_json

log = get_logger(__name__)
_FIELDS = {"action", "at", "reason", "days", "rating", "transfer_to", "note", "respond_by"}


def parse_command(body: Any, *, now: datetime, earliest: date = EARLIEST_DAY) -> ActionCommand:
    """The JSON body as a command; type errors and impossible dates named by field (422)."""
    if not isinstance(body, dict):
        raise ActionInvalid([FieldError("body", "the body must be a JSON object")])
    errors = [FieldError(k, f"unknown field {k!r}") for k in body if k not in _FIELDS]
    action = body.get("action")
    if not isinstance(action, str):
        errors.append(FieldError("action", "action is required: one of "
                                 + ", ".join(allowed_actions_all())))
    at = None
    if body.get("at") is not None:
        try:
            at = parse_rfc3339(str(body["at"]))
        except ValueError as exc:
            errors.append(FieldError("at", f"at {exc}"))
        else:
            why = out_of_range(at, earliest=earliest, now=now)
            if why:
                errors.append(FieldError("at", f"at {why}"))
    for name in ("reason", "rating", "transfer_to", "note"):
        if body.get(name) is not None and not isinstance(body[name], str):
            errors.append(FieldError(name, f"{name} must be a string"))
    if body.get("note") is not None and body.get("reason") is not None:
        errors.append(FieldError("note", "give the text once: note or reason"))
    respond_by = None
    if body.get("respond_by") is not None:
        try:
            respond_by = date.fromisoformat(str(body["respond_by"]))
            if len(str(body["respond_by"])) != 10:
                raise ValueError
        except ValueError:
            errors.append(FieldError("respond_by", "respond_by must be a date, YYYY-MM-DD"))
        else:
            if not earliest <= respond_by <= now.date().replace(year=now.year + 1):
                errors.append(FieldError("respond_by", "respond_by must lie within a year"))
    if errors:
        raise ActionInvalid(errors)
    # ``note`` (an urge's or an instruction's text) and ``reason`` are one text to the lifecycle.
    text = body.get("reason") if body.get("reason") is not None else body.get("note")
    return ActionCommand(action=str(action), at=at, reason=text,
                         days=body.get("days"), rating=body.get("rating"),
                         transfer_to=body.get("transfer_to"), respond_by=respond_by)


def refusal(who: Principal, action: Action) -> str:
    """Why ``who`` may not take ``action``: which role may."""
    if action in HEAD_ACTIONS:
        return f"only the head of the assigned unit (unit_head) may {action.value} (Art. 34)"
    if action in OFFICE_ACTIONS:
        return f"only the petition office (staff) may {action.value}"
    if action is Action.INSTRUCT:
        return "only the leader responsible for this key case may instruct on it"
    return "this case is not assigned to your unit"


def allowed_actions_all() -> list[str]:
    return [a.value for a in Action if a is not Action.ASSIGN]


class ActionApi:
    def __init__(self, pool: asyncpg.Pool, clock: Clock, calendar: CalendarView,
                 mode: CountingMode, topic_prefix: str, earliest: date = EARLIEST_DAY) -> None:
        self._pool = pool
        self._earliest = earliest
        self._clock = clock
        self._calendar = calendar
        self._mode = mode
        self._topic_prefix = topic_prefix

    def install(self, app: web.Application) -> None:
        app.router.add_post("/v1/cases/{case_id}/actions", self.act)

    async def act(self, request: web.Request) -> web.Response:
        who = principal(request)
        if not (who.is_staff or who.role in ("unit", "leader")):
            raise error(403, "only the assigned unit, staff, admin or a case's leader may act "
                        "on a case")
        body = await read_json(request)
        try:
            command = parse_command(body, now=self._clock.now(), earliest=self._earliest)
        except ActionInvalid as exc:
            return field_errors([e.as_dict() for e in exc.errors])
        async with self._pool.acquire() as conn:
            row = await store.get_case(conn, request.match_info["case_id"])
            if row is None:
                raise error(404, "no such case")
            if command.action in Action.__members__.values() and not may(
                    who, Action(command.action), row):
                raise error(403, refusal(who, Action(command.action)))
            # The latest calendar version folded here: a change deadlines published moves
            # the objection and review windows from the next request on.
            calendar = await self._calendar.current(conn)
            state = steps.state_of(row, calendar, self._mode)
            try:
                decision = decide(state, command, now=self._clock.now())
            except IllegalTransition as exc:
                ACTIONS.labels(str(command.action), "illegal").inc()
                raise error(409, str(exc), status=exc.current_status,
                            allowed_actions=allowed_for(who, state, row)) from exc
            except ActionInvalid as exc:
                ACTIONS.labels(str(command.action), "invalid").inc()
                return field_errors([e.as_dict() for e in exc.errors])
            unit = None if decision.action is Action.OBJECT else row["assigned_unit"]
            async with conn.transaction():
                version = await steps.persist(conn, row, decision, actor=who.as_actor(),
                                              topic_prefix=self._topic_prefix, unit=unit)
                if version is not None:
                    await handoff.publish(conn, row, decision, who.as_actor(), calendar,
                                          self._mode, self._topic_prefix)
            if version is None:
                current = await store.get_case(conn, str(row["case_id"]))
                assert current is not None
                ACTIONS.labels(decision.action.value, "conflict").inc()
                raise error(409, "the case changed while this action was being decided; "
                            "reload it and try again", status=current["status"],
                            allowed_actions=allowed_for(who, steps.state_of(current), current))
        ACTIONS.labels(decision.action.value, "done").inc()
        log.info("case_action", case_id=str(row["case_id"]), action=decision.action.value,
                 status=decision.status.value)
        return json_response({
            "case_id": str(row["case_id"]), "action": decision.action.value,
            "previous_status": decision.previous_status.value,
            "status": decision.status.value, "at": iso(decision.at), "version": version,
            "allowed_actions": allowed_for(who, decision.state, {
                **dict(row), "assigned_unit": unit, "key_case": decision.state.key_case}),
        })
