"""Public self-service (docs/domain.md §7): the petitioner, with the receipt's query code instead
of a token, rates the handling once after feedback and requests a review (复查) within the
window. The same lifecycle decides as for every other action; the step names the petitioner
as its actor, never by name: the public has no account and gives no personal data here.

A wrong code answers exactly as public tracking does (404), and both endpoints spend the same
rate-limit allowances as tracking, so they are no extra way to guess a code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import asyncpg
from aiohttp import web

from services.intake import steps, store
from services.intake.api import NOT_FOUND, TrackLimits
from services.intake.fields import FieldError
from services.intake.lifecycle import (
    MAX_REASON,
    Action,
    ActionCommand,
    ActionInvalid,
    CaseState,
    IllegalTransition,
    Rating,
    decide,
)
from services.intake.metrics import ACTIONS
from services.intake.registrar import Registrar
from shared.domain.limits import CountingMode, local_date
from shared.domain.scrub import mask_personal_data
from shared.platform import openapi as oa
from shared.platform.auth import Actor
from shared.platform.calendar_versions import CalendarView
from shared.platform.clock import Clock, iso
from shared.platform.logging import get_logger
from shared.platform.ratelimit import client_address, enforce
from shared.platform.web import error, field_errors, json_response, read_json

log = get_logger(__name__)
PETITIONER = Actor("public:petitioner", "信访人", "petitioner")
MAX_CODE = 64
RATINGS = frozenset(r.value for r in Rating)
# What the public may do on their own case, by the path that does it.
PUBLIC_ACTIONS = {"rating": Action.RATE, "review-request": Action.REQUEST_REVIEW}
_RULES = {
    Action.RATE: "a case is rated once, after feedback was given",
    Action.REQUEST_REVIEW: "a review may be requested once the case is closed, once, within "
                           "30 days of the written answer (Art. 35)",
}


def parse(action: Action, body: Any) -> tuple[str, ActionCommand]:
    """The query code and the command of a public body; every bad field named (422)."""
    if not isinstance(body, dict):
        raise ActionInvalid([FieldError("body", "the body must be a JSON object")])
    wanted = {"code", "rating" if action is Action.RATE else "reason"}
    errors = [FieldError(k, f"unknown field {k!r}") for k in body if k not in wanted]
    code = body.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > MAX_CODE:
        errors.append(FieldError("code", "code is required: the query code on the receipt"))
    rating: str | None = None
    reason: str | None = None
    if action is Action.RATE:
        value = body.get("rating")
        if not isinstance(value, str) or value not in RATINGS:
            errors.append(FieldError("rating", "rating is required: one of "
                                     + ", ".join(Rating)))
        rating = str(value)
    else:
        value = body.get("reason")
        if not isinstance(value, str) or not value.strip():
            errors.append(FieldError("reason", "reason is required to request a review"))
        elif len(value.strip()) > MAX_REASON:
            errors.append(FieldError("reason",
                                     f"reason must be at most {MAX_REASON} characters"))
        else:
            # The petitioner's own words may carry an ID or a mobile number: masked like a
            # petition's text, since units read the note.
            reason = mask_personal_data(value.strip()).text
    if errors:
        raise ActionInvalid(errors)
    return str(code).strip(), ActionCommand(action=action, rating=rating, reason=reason)


class SelfServiceApi:
    def __init__(self, pool: asyncpg.Pool, registrar: Registrar, clock: Clock,
                 calendar: CalendarView, mode: CountingMode, topic_prefix: str,
                 limits: TrackLimits) -> None:
        self._pool = pool
        self._registrar = registrar
        self._clock = clock
        self._calendar = calendar
        self._mode = mode
        self._topic_prefix = topic_prefix
        self._limits = limits

    def install(self, app: web.Application) -> None:
        for path in PUBLIC_ACTIONS:
            app.router.add_post(f"/v1/track/{{tracking_no}}/{path}", self.act)

    async def act(self, request: web.Request) -> web.Response:
        number = request.match_info["tracking_no"]
        enforce(self._limits.per_address, client_address(request), "from this address")
        enforce(self._limits.per_number, number, "for this tracking number")
        action = PUBLIC_ACTIONS[request.path.rsplit("/", 1)[1]]
        body = await read_json(request)
        try:
            code, command = parse(action, body)
        except ActionInvalid as exc:
            return field_errors([e.as_dict() for e in exc.errors])
        async with self._pool.acquire() as conn:
            row = await store.get_by_tracking_no(conn, number)
            if row is None or not self._registrar.query_code_matches(row, code):
                raise error(404, NOT_FOUND)
            now = self._clock.now()
            state = steps.state_of(row, await self._calendar.current(conn), self._mode)
            try:
                decision = decide(state, command, now=now)
            except IllegalTransition as exc:
                ACTIONS.labels(action.value, "illegal").inc()
                raise self._refused(row["status"], _RULES[action]) from exc
            except ActionInvalid as exc:
                # The only detail the public cannot get wrong by typing is the time: the
                # window has ended. That is the case's state, not a field of the body.
                ACTIONS.labels(action.value, "invalid").inc()
                raise self._refused(row["status"], exc.errors[0].message) from exc
            async with conn.transaction():
                version = await steps.persist(conn, row, decision, actor=PETITIONER,
                                              topic_prefix=self._topic_prefix,
                                              unit=row["assigned_unit"])
            if version is None:
                ACTIONS.labels(action.value, "conflict").inc()
                raise error(409, "the case changed meanwhile; look it up again and retry",
                            status=row["status"], allowed_actions=[])
        ACTIONS.labels(action.value, "done").inc()
        log.info("public_action", case_id=str(row["case_id"]), action=action.value)
        return json_response({"tracking_no": row["tracking_no"], "action": action.value,
                              "previous_status": decision.previous_status.value,
                              "status": decision.status.value, "at": iso(decision.at),
                              "allowed_actions": public_allowed(decision.status.value,
                                                                review_due(decision.state),
                                                                local_date(now))})

    @staticmethod
    def _refused(status: str, why: str) -> web.HTTPException:
        return error(409, f"not possible while the case is {status}: {why}", status=status,
                     allowed_actions=[])


def review_due(state: CaseState) -> date | None:
    """The last day of the review-request window (from the reply; None before a reply)."""
    return state.review_request_due


def tracking_options(calendar: CalendarView, mode: CountingMode, clock: Clock
                     ) -> Callable[[asyncpg.Record], dict[str, Any]]:
    """What public tracking adds about self-service: the steps open to the petitioner now and
    the review window's last day, so that the page offers exactly those forms."""
    def options(row: asyncpg.Record) -> dict[str, Any]:
        due = review_due(steps.state_of(row, calendar.latest, mode))
        return {"self_service": {
            "actions": public_allowed(row["status"], due, local_date(clock.now())),
            "review_request_due": due.isoformat() if due else None,
            "rating": row["rating"]}}
    return options


def public_allowed(status: str, review_due: date | None, today: date) -> list[str]:
    """What the petitioner may still do after this step (the tracking page's forms)."""
    allowed = []
    if status == "feedback_given":
        allowed.append("rate")
    if status in ("closed", "feedback_given", "rated") and (review_due is None
                                                             or today <= review_due):
        allowed.append("request_review")
    return allowed


OPTIONS_SCHEMA = {
    "type": "object", "required": ["actions", "review_request_due", "rating"],
    "description": "what the petitioner may do now with the query code",
    "properties": {"actions": {"type": "array", "items": {"enum": ["rate", "request_review"]}},
                   "review_request_due": {"type": ["string", "null"], "format": "date"},
                   "rating": {"type": ["string", "null"],
                              "description": "the petitioner's own rating, once given"}}}


def openapi_paths() -> dict[str, Any]:
    number = oa.path_param("tracking_no")
    code = {"type": "string", "minLength": 1, "maxLength": MAX_CODE,
            "description": "the query code on the receipt"}
    done = {"type": "object", "required": ["tracking_no", "action", "previous_status",
                                           "status", "at", "allowed_actions"], "properties": {
        "tracking_no": {"type": "string"}, "action": {"type": "string"},
        "previous_status": {"type": "string"}, "status": {"type": "string"},
        "at": oa.DATE_TIME, "allowed_actions": {"type": "array", "items": {"type": "string"}}}}

    def post(summary: str, field: str, schema: dict[str, Any]) -> dict[str, Any]:
        body = {"type": "object", "additionalProperties": False, "required": ["code", field],
                "properties": {"code": code, field: schema}}
        return {"post": oa.operation(
            summary, {200: oa.json_body(done, "the new status")},
            refusals=(400, 404, 409, 413, 415, 429), public=True, parameters=[number],
            body=oa.json_request(body))}

    return {
        "/v1/track/{tracking_no}/rating": post(
            "The petitioner rates the handling, once, after feedback (query code, no token)",
            "rating", {"enum": [r.value for r in Rating]}),
        "/v1/track/{tracking_no}/review-request": post(
            "The petitioner requests a review within 30 days of the answer (query code)",
            "reason", {"type": "string", "minLength": 1, "maxLength": MAX_REASON}),
    }
