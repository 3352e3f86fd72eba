"""The intake API's OpenAPI 3.1 document, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shared.domain.vocab import Vocabulary
from shared.platform.web import json_response

_ERRORS = {
    "type": "object",
    "properties": {"errors": {"type": "array", "items": {
        "type": "object", "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}},
}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document(vocab: Vocabulary) -> dict[str, Any]:
    def term(terms: Any) -> dict[str, Any]:
        return {"type": "string", "description": "code or Chinese label",
                "enum": [*terms.codes, *terms.labels.values()]}

    submission = {
        "type": "object", "additionalProperties": False,
        "required": ["channel", "jurisdiction", "category", "title", "content", "petitioner"],
        "properties": {
            "channel": term(vocab.channels),
            "external_id": {"type": "string", "maxLength": 100,
                            "description": "idempotency key within the channel"},
            "received_at": {"type": "string", "format": "date-time",
                            "description": "RFC 3339 with an offset; not in the future"},
            "jurisdiction": term(vocab.jurisdictions),
            "category": term(vocab.categories),
            "title": {"type": "string", "minLength": 1, "maxLength": 200},
            "content": {"type": "string", "minLength": 1, "maxLength": 20000},
            "petitioner": {"type": "object", "additionalProperties": False, "properties": {
                "name": {"type": "string", "maxLength": 100},
                "id_number": {"type": "string", "description": "GB 11643 resident ID"},
                "phone": {"type": "string", "description": "mainland mobile or landline"},
                "address": {"type": "string", "maxLength": 500},
                "anonymous": {"type": "boolean"}}},
            "signers": {"type": "integer", "minimum": 1},
            "subject": {"type": "object", "additionalProperties": False, "properties": {
                "unit": {"type": "string"}, "person": {"type": "string"}}},
            "assigned_by": {"type": "string"},
        },
    }
    registered = {"type": "object", "required": ["case_id", "tracking_no", "query_code",
                                                 "status", "received_at"],
                  "properties": {"case_id": {"type": "string", "format": "uuid"},
                                 "tracking_no": {"type": "string"},
                                 "query_code": {"type": "string"},
                                 "status": {"type": "string"},
                                 "received_at": {"type": "string", "format": "date-time"}}}
    common = {"401": _json(_ERROR, "missing or unknown token"),
              "403": _json(_ERROR, "the token's role may not do this")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Xinfang intake", "version": "1",
                 "description": "Registering petitions and complaints (信访) from every channel."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"CaseSubmission": submission, "CaseRegistered": registered,
                        "FieldErrors": _ERRORS, "Error": _ERROR},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/cases": {"post": {
                "summary": "Register a case",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("CaseSubmission")}}},
                "responses": {
                    "201": _json(_ref("CaseRegistered"), "registered"),
                    "200": _json(_ref("CaseRegistered"),
                                 "already registered under this (channel, external_id)"),
                    "400": _json(_ref("Error"), "malformed JSON"),
                    "413": _json(_ref("Error"), "body over 1 MiB"),
                    "415": _json(_ref("Error"), "not application/json"),
                    "422": _json(_ref("FieldErrors"), "invalid fields"), **common}}},
            "/v1/cases/{case_id}": {"get": {
                "summary": "A case with its timeline (staff: with personal data, audited)",
                "parameters": [{"name": "case_id", "in": "path", "required": True,
                                "schema": {"type": "string", "format": "uuid"}}],
                "responses": {"200": {"description": "the case"},
                              "404": _json(_ERROR, "no such case"), **common}}},
            "/v1/cases/{case_id}/actions": {"post": {
                "summary": "A lifecycle action by the assigned unit, staff or admin",
                "responses": {"200": {"description": "the new status"},
                              "409": _json(_ERROR, "illegal transition"),
                              "422": _json(_ref("FieldErrors"), "invalid action"), **common}}},
            "/v1/track/{tracking_no}": {"get": {
                "summary": "Public progress of a case (no personal data)", "security": [],
                "parameters": [{"name": "tracking_no", "in": "path", "required": True,
                                "schema": {"type": "string"}},
                               {"name": "code", "in": "query", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "status and timeline"},
                              "404": _json(_ERROR, "unknown number or wrong code")}}},
            "/v1/imports": {"post": {
                "summary": "Batch import (CSV or JSON Lines), processed in the background",
                "requestBody": {"content": {"text/csv": {}, "application/x-ndjson": {}}},
                "responses": {"202": {"description": "{import_id}"},
                              "413": {"description": "larger than the import size limit"},
                              "429": {"description": "too many unfinished imports of this "
                                                     "client (Retry-After)"}, **common}}},
            "/v1/imports/{import_id}": {"get": {
                "summary": "Progress and row errors of an import",
                "responses": {"200": {"description": "{status, total, accepted, rejected, "
                                                     "errors: [{line, field, message}]}"}}}},
            "/open311/v2/services.json": {"get": {"summary": "Categories as Open311 services",
                                                  "security": []}},
            "/open311/v2/requests.json": {
                "post": {"summary": "Open311 service request (form-encoded; api_key)"},
                "get": {"summary": "Open311 requests (no personal data)"}},
            "/open311/v2/requests/{id}.json": {"get": {"summary": "One Open311 request"}},
        },
    }


def install(app: web.Application, vocab: Vocabulary) -> None:
    doc = document(vocab)

    async def serve(_: web.Request) -> web.Response:
        return json_response(doc)

    app.router.add_get("/openapi.json", serve)
