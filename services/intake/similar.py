"""``POST /v1/cases/similar``: before a clerk saves a registration, the open cases of the same
petitioner, found by the pseudonymous petitioner key computed exactly as registration does (by
resident ID, else by phone). The clerk has the petitioner's identity in hand already; the
answer gives back none of it and no text of the other cases, only what tells "this matter is
already being handled" (number, status, category, jurisdiction, unit, received) — so that a
repeat is linked, not registered as a new matter by mistake (Art. 19).

A POST, not a GET: the resident ID must not sit in an address or an access log."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from services.intake.caselist import OPEN
from services.intake.crypto import petitioner_key
from services.intake.normalise import normalise_phone, normalise_resident_id
from services.intake.registration import Keys
from shared.domain.limits import local_date
from shared.domain.vocab import Vocabulary
from shared.platform import openapi as oa
from shared.platform.clock import Clock, iso
from shared.platform.web import error, field_errors, json_response, principal, read_json

MAX_SHOWN = 20
ROLES = ("clerk", "staff", "admin")


def parse(body: Any, clock: Clock) -> tuple[str | None, str | None, list[dict[str, str]]]:
    """(resident ID, phone) normalised as registration does, or the field errors."""
    if not isinstance(body, dict) or not isinstance(body.get("petitioner"), dict):
        return None, None, [{"field": "petitioner", "message":
                             "an object {id_number?, phone?} is required"}]
    p = body["petitioner"]
    errors = [{"field": f"petitioner.{k}", "message": f"unknown field {k!r}"}
              for k in p if k not in ("id_number", "phone")]
    errors += [{"field": k, "message": f"unknown field {k!r}"} for k in body
               if k != "petitioner"]
    out: dict[str, str | None] = {"id_number": None, "phone": None}
    today = local_date(clock.now())  # birth dates are Chinese calendar dates
    for key, check in (("id_number", lambda s: normalise_resident_id(s, today=today)),
                       ("phone", normalise_phone)):
        value = p.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or len(value) > 100:
            errors.append({"field": f"petitioner.{key}", "message": "must be a short string"})
            continue
        try:
            out[key] = check(value)
        except ValueError as exc:
            errors.append({"field": f"petitioner.{key}", "message": str(exc)})
    if not errors and not (out["id_number"] or out["phone"]):
        errors.append({"field": "petitioner.id_number",
                       "message": "give the resident ID or the phone to look for"})
    return out["id_number"], out["phone"], errors


class SimilarApi:
    def __init__(self, pool: asyncpg.Pool, keys: Keys, clock: Clock, vocab: Vocabulary) -> None:
        self._pool = pool
        self._keys = keys
        self._clock = clock
        self._vocab = vocab

    def install(self, app: web.Application) -> None:
        app.router.add_post("/v1/cases/similar", self.similar)

    async def similar(self, request: web.Request) -> web.Response:
        who = principal(request)
        if who.role not in ROLES:
            raise error(403, "only those who register cases (clerks, staff, admin) may look")
        id_number, phone, errors = parse(await read_json(request), self._clock)
        if errors:
            return field_errors(errors)
        key = petitioner_key(self._keys.pseudonym_key, id_number=id_number, phone=phone)
        rows = await self._pool.fetch(
            """SELECT tracking_no, status, category, jurisdiction, assigned_unit, received_at,
                      count(*) OVER () AS total
               FROM cases WHERE petitioner_key = $1 AND status = ANY($2::text[])
               ORDER BY received_at DESC LIMIT $3""",
            key, [s.value for s in OPEN], MAX_SHOWN)
        v = self._vocab
        return json_response({
            "total": rows[0]["total"] if rows else 0,
            "items": [{"tracking_no": r["tracking_no"], "status": r["status"],
                       "category": v.categories.render(r["category"]),
                       "jurisdiction": v.jurisdictions.render(r["jurisdiction"]),
                       "assigned_unit": r["assigned_unit"],
                       "received_at": iso(r["received_at"])} for r in rows]})


def openapi_paths() -> dict[str, Any]:
    body = {"type": "object", "additionalProperties": False, "required": ["petitioner"],
            "properties": {"petitioner": {
                "type": "object", "additionalProperties": False,
                "properties": {"id_number": {"type": "string"}, "phone": {"type": "string"}}}}}
    found = {"type": "object", "required": ["total", "items"], "properties": {
        "total": {"type": "integer"}, "items": {"type": "array", "items": {
            "type": "object", "required": ["tracking_no", "status", "received_at"],
            "properties": {"tracking_no": {"type": "string"}, "status": {"type": "string"},
                           "category": oa.TERM, "jurisdiction": oa.TERM,
                           "assigned_unit": oa.NULLABLE_STRING,
                           "received_at": oa.DATE_TIME}}}}}
    return {"/v1/cases/similar": {"post": oa.operation(
        "Open cases of the same petitioner (by resident ID, else phone), before registering; "
        "no personal data and no text in the answer",
        {200: oa.json_body(found, "the petitioner's open cases, newest first")},
        refusals=(400, 403, 413, 415, 429), body=oa.json_request(body))}}
