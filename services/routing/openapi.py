"""The routing API's OpenAPI 3.1 document, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from services.routing.api import MAX_REASON, YAML_TYPES
from shared.platform import openapi as oa

_UNIT = {"oneOf": [oa.TERM, {"type": "null"}]}
_DECISION = {"type": "object", "required": ["unit", "rule_id", "rule_version", "reasons", "at"],
             "properties": {"assignment_version": {"type": ["integer", "null"]},
                            "unit": _UNIT, "transfer_to": oa.NULLABLE_STRING,
                            "key_case": {"type": "boolean"}, "rule_id": {"type": "string"},
                            "rule_version": {"type": "integer"},
                            "reasons": {"type": "array", "items": {"type": "string"}},
                            "cause": oa.NULLABLE_STRING, "note": oa.NULLABLE_STRING,
                            "actor": oa.NULLABLE_STRING, "event_id": {"type": "string"},
                            "at": oa.DATE_TIME}}
_RULES = {"type": "object", "required": ["version", "units", "digest", "active"], "properties": {
    "version": {"type": "integer"}, "units": {"type": "array"}, "digest": {"type": "string"},
    "active": {"type": "boolean"}, "stored_by": oa.NULLABLE_STRING, "stored_at": oa.DATE_TIME,
    "activated_at": {"type": ["string", "null"], "format": "date-time"}}}
_LINE_ERRORS = {"type": "object", "required": ["errors"], "properties": {"errors": {
    "type": "array", "items": {"type": "object", "required": ["line", "message"], "properties": {
        "line": {"type": "integer"}, "message": {"type": "string"}}}}}}
_HISTORY = {"type": "object", "required": ["case_id", "outcome", "status", "current", "history"],
            "properties": {"case_id": {"type": "string"}, "outcome": oa.NULLABLE_STRING,
                           "status": oa.NULLABLE_STRING,
                           "key_reasons": {"type": "array", "items": {"type": "string"}},
                           "objected_units": {"type": "array", "items": {"type": "string"}},
                           "current": {"oneOf": [oa.ref("Decision"), {"type": "null"}]},
                           "history": {"type": "array", "items": oa.ref("Decision")},
                           "link": {"type": ["object", "null"]}}}


def document() -> dict[str, Any]:
    case_id = oa.path_param("case_id", {"type": "string", "format": "uuid"})
    yaml = {"required": True, "content": {t: {"schema": {"type": "string"}}
                                          for t in sorted(YAML_TYPES)}}
    put = oa.operation("Replace the rule set (admin): validated whole, stored, activated",
                    {200: oa.json_body(oa.ref("Rules"), "unchanged: the same text is active"),
                     201: oa.json_body(oa.ref("Rules"), "stored and activated")},
                    refusals=(403, 413, 415, 429), body=yaml)
    put["responses"]["422"] = oa.json_body({"anyOf": [oa.ref("LineErrors"), oa.ref("FieldErrors")]},
                                        "the rule set is invalid (errors name their line)")
    reassign = {"type": "object", "required": ["unit", "reason"], "properties": {
        "unit": {"type": "string", "minLength": 1, "description": "a unit code or name"},
        "reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON}}}
    paths = {
        "/v1/rules": {
            "get": oa.operation("The active rule set, or a stored version",
                             {200: oa.json_body(oa.ref("Rules"), "the rule set")}, refusals=(404,),
                             parameters=[oa.query("version", oa.INT32)]),
            "put": put},
        "/v1/assignments/{case_id}": {"get": oa.operation(
            "Every routing decision on a case (staff; a unit: cases it was assigned)",
            {200: oa.json_body(oa.ref("Assignments"), "decisions, oldest first")},
            refusals=(403, 404), parameters=[case_id])},
        "/v1/assignments/{case_id}/reassign": {"post": oa.operation(
            "Send a case to another unit (staff)",
            {201: oa.json_body(oa.ref("Decision"), "the new assignment")},
            refusals=(400, 403, 404, 409, 413, 415, 429), parameters=[case_id],
            body=oa.json_request(reassign))},
    }
    return oa.document("Xinfang routing", "Rules, assignments, repeat and duplicate links.",
                       {**paths, **oa.audit_paths(), **oa.reconcile_paths()},
                       {"Rules": _RULES, "LineErrors": _LINE_ERRORS,
                               "Decision": _DECISION, "Assignments": _HISTORY})
