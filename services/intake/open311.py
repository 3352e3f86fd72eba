"""Open311 GeoReport v2 under ``/open311/v2/``: categories as services, cases as requests.

Requests are answered without personal data or content: a petition is confidential, so the
listing shows what the tracking page shows (status, service, responsible unit, dates).
Errors use Open311's own format: ``[{"code": <status>, "description": "..."}]``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from services.intake.metrics import CASES_RECEIVED
from services.intake.registrar import Registrar
from services.intake.validation import SubmissionInvalid, validate_submission
from shared.domain.vocab import Vocabulary
from shared.platform.auth import Principal
from shared.platform.clock import Clock, iso
from shared.platform.web import TOKENS_KEY, caller, json_response

PREFIX = "/open311/v2"
# Our field → the Open311 parameter a client sent, for error messages in its own terms.
_PARAM_OF = {"category": "service_code", "content": "description", "jurisdiction":
             "jurisdiction_id", "petitioner.address": "address_string",
             "petitioner.name": "first_name", "petitioner.phone": "phone"}
CLOSED_STATUSES = frozenset({"closed", "feedback_given", "rated", "review_requested",
                             "reviewed", "rereview_requested", "final", "declined",
                             "transferred_out"})
MAX_LIST = 1000


def open311_error(status: int, description: str) -> web.Response:
    return json_response([{"code": status, "description": description}], status=status)


class Open311Api:
    def __init__(self, pool: asyncpg.Pool, registrar: Registrar, clock: Clock,
                 vocab: Vocabulary) -> None:
        self._pool = pool
        self._registrar = registrar
        self._clock = clock
        self._vocab = vocab

    def install(self, app: web.Application) -> None:
        app.router.add_get(f"{PREFIX}/services.json", self.services)
        app.router.add_post(f"{PREFIX}/requests.json", self.create)
        app.router.add_get(f"{PREFIX}/requests.json", self.list)
        app.router.add_get(f"{PREFIX}/requests/{{request_id}}.json", self.one)

    async def services(self, _: web.Request) -> web.Response:
        cats = self._vocab.categories
        return json_response([
            {"service_code": code, "service_name": cats.label(code),
             "description": cats.label(code), "metadata": False, "type": "realtime",
             "keywords": code.replace("_", ","), "group": "education"}
            for code in cats.codes
        ])

    def _caller(self, request: web.Request, form: Any) -> Principal | None:
        return caller(request) or request.app[TOKENS_KEY].authenticate_token(
            form.get("api_key") if form else None)

    async def create(self, request: web.Request) -> web.Response:
        if request.content_type not in ("application/x-www-form-urlencoded",
                                        "multipart/form-data"):
            return open311_error(415, "requests.json takes a form-encoded body")
        form = await request.post()
        who = self._caller(request, form)
        if who is None:
            return open311_error(401, "missing or unknown api_key")
        channel = who.channel or "online"
        first, last = str(form.get("first_name", "")).strip(), str(form.get("last_name", ""))
        name = (last.strip() + first) or None  # Chinese order: family name first
        description = str(form.get("description", ""))
        body: dict[str, Any] = {
            "channel": channel,
            "category": str(form.get("service_code", "")),
            "jurisdiction": str(form.get("jurisdiction_id", "")),
            "title": str(form.get("title") or description.strip()[:40]),
            "content": description,
            "petitioner": {k: v for k, v in {
                "name": name, "phone": str(form.get("phone", "")).strip() or None,
                "address": str(form.get("address_string", "")).strip() or None,
                "anonymous": name is None,
            }.items() if v is not None},
        }
        if form.get("external_id"):
            body["external_id"] = str(form["external_id"])
        try:
            case = validate_submission(body, now=self._clock.now(), vocab=self._vocab)
        except SubmissionInvalid as exc:
            CASES_RECEIVED.labels(channel, "rejected").inc()
            e = exc.errors[0]
            more = f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
            return open311_error(400, f"{_PARAM_OF.get(e.field, e.field)}: {e.message}{more}")
        if not who.may_submit_on(case.channel) and not who.is_staff:
            return open311_error(403, f"this api_key may not submit on channel {channel}")
        outcome = await self._registrar.submit(case, actor=who.as_actor())
        CASES_RECEIVED.labels(case.channel,
                              "accepted" if outcome.created else "duplicate_request").inc()
        return json_response([{
            "service_request_id": outcome.body["tracking_no"],
            "service_notice": "已登记。请凭查询码查询办理进度。query code: "
                              + outcome.body["query_code"],
            "account_id": None,
        }], status=201 if outcome.created else 200)

    async def list(self, request: web.Request) -> web.Response:
        who = self._caller(request, request.query)
        if who is None:
            return open311_error(401, "missing or unknown api_key")
        q = request.query
        where: list[str] = ["TRUE"]
        args: list[Any] = []
        if not who.is_staff:
            where.append(f"channel = ${len(args) + 1}")
            args.append(who.channel or "")
        if q.get("service_request_id"):
            where.append(f"tracking_no = ANY(${len(args) + 1}::text[])")
            args.append([s.strip() for s in q["service_request_id"].split(",")])
        if q.get("service_code"):
            where.append(f"category = ANY(${len(args) + 1}::text[])")
            args.append([s.strip() for s in q["service_code"].split(",")])
        for param, op in (("start_date", ">="), ("end_date", "<=")):
            if q.get(param):
                try:
                    moment = datetime.fromisoformat(q[param])
                except ValueError:
                    return open311_error(400, f"{param} must be a W3C datetime")
                if moment.tzinfo is None:
                    return open311_error(400, f"{param} must carry a UTC offset")
                args.append(moment)
                where.append(f"received_at {op} ${len(args)}")
        status = q.get("status")
        if status not in (None, "open", "closed"):
            return open311_error(400, "status must be open or closed")
        if status:
            where.append(f"({'' if status == 'closed' else 'NOT '}status = ANY(${len(args) + 1}))")
            args.append(list(CLOSED_STATUSES))
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT * FROM cases WHERE {' AND '.join(where)} "
                f"ORDER BY received_at DESC LIMIT {MAX_LIST}", *args)
        return json_response([self._render(r) for r in rows])

    async def one(self, request: web.Request) -> web.Response:
        who = self._caller(request, request.query)
        if who is None:
            return open311_error(401, "missing or unknown api_key")
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM cases WHERE tracking_no = $1",
                                      request.match_info["request_id"])
        if row is None or not (who.is_staff or who.channel == row["channel"]):
            return open311_error(404, "no such service request")
        return json_response([self._render(row)])

    def _render(self, row: asyncpg.Record) -> dict[str, Any]:
        closed = row["status"] in CLOSED_STATUSES
        return {
            "service_request_id": row["tracking_no"],
            "status": "closed" if closed else "open",
            "status_notes": row["status"],
            "service_name": self._vocab.categories.label(row["category"]),
            "service_code": row["category"],
            "agency_responsible": row["assigned_unit"],
            "requested_datetime": iso(row["received_at"]),
            "updated_datetime": iso(row["last_action_at"]),
            "expected_datetime": None,
        }
