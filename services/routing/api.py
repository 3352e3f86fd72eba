"""Routing's HTTP API: the rules (read; replace as admin) and each case's assignments (read;
reassign as staff)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp import web

from services.routing import metrics, store
from services.routing.decide import ReassignmentRefused
from services.routing.outputs import Decided
from services.routing.router import Router
from services.routing.rules import RuleSet, RuleSetInvalid
from services.routing.ruleset_store import RuleStore
from shared.platform import audit, outbox
from shared.platform.clock import Clock, iso
from shared.platform.events import new_event_id
from shared.platform.logging import get_logger
from shared.platform.web import (
    MAX_BODY_BYTES,
    error,
    field_errors,
    json_response,
    principal,
    read_json,
    require_staff,
)

log = get_logger(__name__)

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml",
                        "text/plain"})
MAX_REASON = 500


class RoutingApi:
    def __init__(self, pool: asyncpg.Pool, rules: RuleStore, router: Router,
                 routing_topic: str, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock
        self._rules = rules
        self._router = router
        self._topic = routing_topic

    def install(self, app: web.Application) -> None:
        app.router.add_get("/v1/rules", self.get_rules)
        app.router.add_put("/v1/rules", self.put_rules)
        app.router.add_get("/v1/assignments/{case_id}", self.get_assignments)
        app.router.add_post("/v1/assignments/{case_id}/reassign", self.post_reassign)

    # -- rules -----------------------------------------------------------------------------

    async def get_rules(self, request: web.Request) -> web.Response:
        """The active rule set, or ``?version=N`` (any stored version: old decisions name
        theirs). Internal configuration: any authenticated caller."""
        principal(request)
        version: int | None = None
        if "version" in request.query:
            try:
                version = int(request.query["version"])
            except ValueError:
                return field_errors([{"field": "version", "message": "must be an integer"}])
        async with self._pool.acquire() as conn:
            stored = await self._rules.stored(conn, version)
        if stored is None:
            raise error(404, f"no rule set version {version}")
        return json_response(stored.describe())

    async def put_rules(self, request: web.Request) -> web.Response:
        """A new rule set (YAML body): validated whole, stored and activated atomically."""
        who = principal(request)
        if who.role != "admin":
            raise error(403, "replacing the routing rules needs an admin token")
        if request.content_type not in YAML_TYPES:
            raise error(415, "send the rule set as application/yaml (or text/yaml)")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise error(413, f"body larger than {MAX_BODY_BYTES} bytes")
        raw = await request.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            metrics.RULE_CHANGES.labels("refused").inc()
            return json_response({"errors": [{"line": line, "message": "not UTF-8"}]}, 422)
        try:
            stored, changed = await self._rules.activate(
                self._pool, text, who.as_actor(), self._clock.now(),
                audit.client_address(request.remote))
        except RuleSetInvalid as exc:
            metrics.RULE_CHANGES.labels("refused").inc()
            return json_response(
                {"errors": [{"line": e.line, "message": e.message} for e in exc.errors]}, 422)
        metrics.RULE_CHANGES.labels("activated" if changed else "unchanged").inc()
        metrics.RULES_VERSION.set(stored.rules.version)
        return json_response(stored.describe(), status=201 if changed else 200)

    # -- assignments -----------------------------------------------------------------------

    async def get_assignments(self, request: web.Request) -> web.Response:
        """Every decision on a case, oldest first, with the link if it was linked instead.
        Staff see every case; a unit sees the cases it has been assigned."""
        who = principal(request)
        case_id = _case_id(request)
        async with self._pool.acquire() as conn:
            petition, rows = await store.history(conn, case_id)
            if petition is None:
                raise error(404, "routing has no such case")
            if not who.is_staff and not any(r["unit"] == who.unit and who.unit for r in rows):
                raise error(403, "this case was never assigned to your unit")
            versions = {r["rule_version"] for r in rows}
            rule_sets = {v: await self._rules.version(conn, v) for v in versions}
        history = [_decision(r, rule_sets[r["rule_version"]]) for r in rows]
        link = None
        if petition["linked_to"] is not None:
            link = {"kind": petition["link_kind"], "linked_to": str(petition["linked_to"]),
                    "similarity": petition["link_similarity"],
                    "at": iso(petition["decided_at"])}
        return json_response({
            "case_id": str(case_id), "outcome": petition["outcome"],
            "status": petition["status"], "key_reasons": list(petition["key_reasons"]),
            "objected_units": list(petition["objected_units"]),
            "current": history[-1] if history else None, "history": history, "link": link,
        })

    async def post_reassign(self, request: web.Request) -> web.Response:
        """Staff send a case to another unit: a new ``case.assigned`` with a higher version."""
        who = require_staff(request)
        case_id = _case_id(request)
        body = await read_json(request)
        unit, note, errors = _reassign_body(body)
        if errors:
            return field_errors(errors)
        assert unit is not None and note is not None
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                rules = await self._rules.active(conn)
                decided = await self._router.reassign(
                    conn, str(case_id), unit, note, who.as_actor(), rules, new_event_id())
                await outbox.add(conn, self._topic, [decided.envelope()])
                await audit.append(conn, audit.Entry(
                    who.as_actor(), "assignment.reassign", str(case_id),
                    {"unit": decided.decision.unit, "reason": note,
                     "assignment_version": decided.version},
                    client_addr=audit.client_address(request.remote)), self._clock.now())
        except LookupError as exc:
            raise error(404, "routing has no such case") from exc
        except ReassignmentRefused as exc:
            return field_errors([{"field": "unit", "message": str(exc)}])
        except ValueError as exc:
            raise error(409, str(exc)) from exc
        assert decided.decision.unit is not None
        metrics.ASSIGNMENTS.labels(decided.decision.unit, "reassign").inc()
        log.info("case_reassigned", case_id=str(case_id), unit=decided.decision.unit,
                 version=decided.version, actor=who.actor_id)
        return json_response(_decided(decided, rules), status=201)


def _case_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["case_id"])
    except ValueError as exc:
        raise error(404, "routing has no such case") from exc


def _reassign_body(body: Any) -> tuple[str | None, str | None, list[dict[str, str]]]:
    if not isinstance(body, dict):
        return None, None, [{"field": "", "message": "expected a JSON object {unit, reason}"}]
    errors: list[dict[str, str]] = []
    unit, note = body.get("unit"), body.get("reason")
    if not isinstance(unit, str) or not unit.strip():
        errors.append({"field": "unit", "message": "required: a unit code or name"})
    if not isinstance(note, str) or not note.strip():
        errors.append({"field": "reason", "message": "required: why the case moves"})
    elif len(note) > MAX_REASON:
        errors.append({"field": "reason", "message": f"at most {MAX_REASON} characters"})
    if errors:
        return None, None, errors
    assert isinstance(unit, str) and isinstance(note, str)
    return unit.strip(), note.strip(), []


def _unit(rules: RuleSet, code: str | None) -> dict[str, str] | None:
    if code is None:
        return None
    unit = rules.units.get(code)
    return {"key": code, "label": unit.name if unit else code}


def _decision(row: asyncpg.Record, rules: RuleSet) -> dict[str, Any]:
    leader = None
    if row["leader"] is not None:
        leader = {"name": row["leader"], "title": row["leader_title"],
                  "unit": _unit(rules, row["leader_unit"])}
    return {
        "assignment_version": row["assignment_version"], "unit": _unit(rules, row["unit"]),
        "transfer_to": row["transfer_body"], "leader": leader, "key_case": row["key_case"],
        "rule_id": row["rule_id"], "rule_version": row["rule_version"],
        "reasons": list(row["reasons"]), "cause": row["cause"], "note": row["note"],
        "actor": row["actor"], "event_id": str(row["event_id"]), "at": iso(row["decided_at"]),
    }


def _decided(d: Decided, rules: RuleSet) -> dict[str, Any]:
    x = d.decision
    leader = ({"name": x.leader.name, "title": x.leader.title, "unit": _unit(rules, x.leader.unit)}
              if x.leader else None)
    return {
        "case_id": d.case_id, "assignment_version": d.version, "unit": _unit(rules, x.unit),
        "transfer_to": x.transfer_out, "leader": leader, "key_case": x.key_case,
        "rule_id": x.rule_id, "rule_version": x.rule_version,
        "reasons": [*x.reasons, *(f"key:{r}" for r in x.key_reasons)], "cause": d.cause,
        "note": d.note, "actor": d.recorded_actor, "event_id": d.event_id, "at": iso(d.at),
    }
