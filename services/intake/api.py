"""Intake's HTTP API (docs/domain.md §6): submit a case, read it (staff), track it (public)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import orjson
from aiohttp import web

from services.intake import store
from services.intake.crypto import associated_data as associated
from services.intake.metrics import CASES_RECEIVED, PERSONAL_DATA_READS
from services.intake.permissions import allowed_for, may_read
from services.intake.registrar import Registrar
from services.intake.registration import (
    ENC_COLUMN,
    FREE_TEXT,
    PERSONAL_FIELDS,
    REPRESENTATIVES,
    Keys,
)
from services.intake.steps import state_of
from services.intake.validation import SubmissionInvalid, validate_submission
from shared.domain.vocab import Vocabulary
from shared.platform import audit
from shared.platform.auth import Principal
from shared.platform.boundary import EARLIEST_DAY
from shared.platform.clock import Clock, iso
from shared.platform.logging import get_logger
from shared.platform.ratelimit import RateLimiter, client_address, enforce
from shared.platform.web import error, field_errors, json_response, principal, read_json

log = get_logger(__name__)
NOT_FOUND = "no case with this tracking number and query code"
HANDLER_FIELDS = ("name", "phone", "address")
MAX_PURPOSE = 500
WITHHELD = ("withheld: add ?purpose=<why you need it> to read the petitioner's identity; "
            "every such read is audited with its purpose")


@dataclass(frozen=True)
class TrackLimits:
    per_address: RateLimiter
    per_number: RateLimiter


class CaseApi:
    def __init__(self, pool: asyncpg.Pool, registrar: Registrar, keys: Keys, clock: Clock,
                 vocab: Vocabulary, earliest: date = EARLIEST_DAY,
                 track_limits: TrackLimits | None = None, *,
                 public_options: Callable[[asyncpg.Record], dict[str, Any]] | None = None
                 ) -> None:
        self._earliest = earliest
        self._public_options = public_options
        self._track_limits = track_limits or TrackLimits(RateLimiter(0), RateLimiter(0))
        self._pool = pool
        self._registrar = registrar
        self._keys = keys
        self._clock = clock
        self._vocab = vocab

    def install(self, app: web.Application) -> None:
        app.router.add_post("/v1/cases", self.submit)
        app.router.add_get("/v1/cases/{case_id}", self.read)
        app.router.add_get("/v1/track/{tracking_no}", self.track)

    async def submit(self, request: web.Request) -> web.Response:
        who = principal(request)
        body = await read_json(request)
        channel_hint = body.get("channel") if isinstance(body, dict) else None
        try:
            case = validate_submission(body, now=self._clock.now(), vocab=self._vocab,
                                       earliest=self._earliest)
        except SubmissionInvalid as exc:
            channel = self._vocab.channels.resolve(str(channel_hint or "")) or "unknown"
            CASES_RECEIVED.labels(channel, "rejected").inc()
            return field_errors([e.as_dict() for e in exc.errors])
        if not who.may_submit_on(case.channel):
            raise error(403, f"this token may not submit cases on channel {case.channel!r}")
        outcome = await self._registrar.submit(case, actor=who.as_actor())
        CASES_RECEIVED.labels(case.channel,
                              "accepted" if outcome.created else "duplicate_request").inc()
        log.info("case_submitted", case_id=outcome.body["case_id"], channel=case.channel,
                 created=outcome.created)
        return json_response(outcome.body, status=201 if outcome.created else 200)

    async def read(self, request: web.Request) -> web.Response:
        who = principal(request)
        async with self._pool.acquire() as conn:
            row = await store.get_case(conn, request.match_info["case_id"])
            if row is None:
                raise error(404, "no such case")
            steps = await store.timeline(conn, row["case_id"])
            # A clerk reads the cases they registered (without the petitioner's identity).
            registered_it = who.role == "clerk" and bool(steps) and (
                steps[0]["actor_id"] == who.actor_id)
            if not (registered_it or may_read(who, row)):
                raise error(403, "only staff, admin, the assigned unit, the clerk who "
                            "registered it or its responsible leader may read this case")
            record = self.render_case(row, steps, internal=True)
            # What this caller may do now, so that a page offers only those actions.
            record["allowed_actions"] = allowed_for(who, state_of(row), row)
            fields = [f for f in identity_fields(who, row) if row[ENC_COLUMN[f]]]
            # A group visit's representatives are read on the same terms as the petitioner.
            group = bool(row["representatives_enc"]) and bool(identity_fields(who, row))
            purpose = request.query.get("purpose", "").strip()
            if (fields or group) and not purpose:
                record["petitioner"]["identity"] = WITHHELD
            elif fields or group:
                if len(purpose) > MAX_PURPOSE:
                    return field_errors([{"field": "purpose",
                                          "message": f"at most {MAX_PURPOSE} characters"}])
                actor = who.as_actor()
                async with conn.transaction():
                    record["petitioner"] = self._personal_data(row, record["petitioner"],
                                                               fields)
                    if who.is_staff and row["free_text_enc"]:
                        # The title and content as written, before IDs and phones were masked.
                        record["original_text"] = orjson.loads(self._keys.cipher.decrypt(
                            bytes(row["free_text_enc"]),
                            associated=associated(str(row["case_id"]), FREE_TEXT)))
                        fields.append(FREE_TEXT)
                    if group:
                        record["petitioner"]["representatives"] = self._representatives(
                            row, identity_fields(who, row))
                        fields.append(REPRESENTATIVES)
                    await store.audit_personal_data_read(
                        conn, row["case_id"], actor, who.person_role or who.role, fields)
                    await audit.append(conn, audit.Entry(
                        actor, "personal_data.read", str(row["case_id"]),
                        {"fields": fields, "role": who.person_role or who.role}, purpose,
                        audit.client_address(request.remote)), self._clock.now())
                PERSONAL_DATA_READS.labels(who.role).inc()
        return json_response(record)

    async def track(self, request: web.Request) -> web.Response:
        limits = self._track_limits
        enforce(limits.per_address, client_address(request), "from this address")
        enforce(limits.per_number, request.match_info["tracking_no"],
                "for this tracking number")
        code = request.query.get("code", "")
        async with self._pool.acquire() as conn:
            row = await store.get_by_tracking_no(conn, request.match_info["tracking_no"])
            # An unknown number and a wrong code answer alike: nothing to learn by probing.
            if row is None or not code or not self._registrar.query_code_matches(row, code):
                raise error(404, NOT_FOUND)
            steps = await store.timeline(conn, row["case_id"])
        record = self.render_case(row, steps, internal=False)
        # The petitioner's own words may name people: the public page shows none of them.
        for private in ("petitioner", "case_id", "subject", "external_id", "title", "content",
                        "assigned_by", "assigned_ref", "leader", "version", "key_case",
                        "urges", "extension_requested_days"):
            record.pop(private, None)
        if self._public_options is not None:
            record.update(self._public_options(row))
        return json_response(record)

    def render_case(self, row: asyncpg.Record, steps: list[asyncpg.Record], *,
                    internal: bool) -> dict[str, Any]:
        v = self._vocab
        return {
            "case_id": str(row["case_id"]),
            "tracking_no": row["tracking_no"],
            "status": row["status"],
            "version": row["version"],
            "channel": v.channels.render(row["channel"]),
            "jurisdiction": v.jurisdictions.render(row["jurisdiction"]),
            "category": v.categories.render(row["category"]),
            "title": row["title"],
            "content": row["content"],
            "external_id": row["external_id"],
            "received_at": iso(row["received_at"]),
            "signers": row["signers"],
            "assigned_unit": row["assigned_unit"],
            "leader": row["leader"],
            "key_case": row["key_case"],
            "urges": row["urges"],
            "extension_requested_days": row["extension_requested_days"],
            "hearing_open": row["hearing_open"],
            "representatives": row["representatives"],
            "subject": {"unit": row["subject_unit"], "person": row["subject_person"]},
            "assigned_by": row["assigned_by"],
            "assigned_ref": row["assigned_ref"],
            "petitioner": {"anonymous": row["anonymous"]},
            "timeline": [render_step(s, internal=internal) for s in steps],
        }

    def _representatives(self, row: asyncpg.Record, allowed: tuple[str, ...]
                         ) -> list[dict[str, Any]]:
        people = orjson.loads(self._keys.cipher.decrypt(
            bytes(row["representatives_enc"]),
            associated=associated(str(row["case_id"]), REPRESENTATIVES)))
        return [{k: v for k, v in p.items() if k in allowed} for p in people]

    def _personal_data(self, row: asyncpg.Record, base: dict[str, Any],
                       fields: list[str]) -> dict[str, Any]:
        case_id = str(row["case_id"])
        out = dict(base)
        for f in fields:
            blob = row[ENC_COLUMN[f]]
            out[f] = (self._keys.cipher.decrypt(bytes(blob), associated=associated(case_id, f))
                      if blob else None)
        return out


def identity_fields(who: Principal, row: asyncpg.Record) -> tuple[str, ...]:
    """What of the petitioner's identity ``who`` may read on this case: staff and admin all of
    it; a handler or unit head of the assigned unit the name, phone and address (to verify the
    facts and deliver the answer), never the resident ID; anyone else nothing."""
    if who.is_staff:
        return PERSONAL_FIELDS
    if who.is_person and who.role == "unit" and who.may_act_for(row["assigned_unit"]):
        return HANDLER_FIELDS
    return ()


def render_step(step: asyncpg.Record, *, internal: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "seq": step["seq"], "action": step["action"], "status": step["status"],
        "at": iso(step["at"]), "actor": step["actor"], "note": step["public_note"],
    }
    if internal:
        # Who did it: the person's account and name, or the machine client (staff only; the
        # public tracking page shows the unit alone).
        out["actor_id"] = step["actor_id"]
        out["actor_name"] = step["actor_name"]
        out["internal_note"] = step["internal_note"]
        out["details"] = store.details(step)
    return out
