"""The intake API's OpenAPI 3.1 document, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.intake import representatives as reps
from services.intake import selfservice, similar
from services.intake.actions import allowed_actions_all
from services.intake.handoff_report import DOCX
from services.intake.validation import ROW_COLUMNS
from shared.domain.vocab import Vocabulary
from shared.platform import openapi as oa

_STEP = {"type": "object", "required": ["seq", "action", "status", "at", "actor", "note"],
         "properties": {"seq": {"type": "integer"}, "action": {"type": "string"},
                        "status": {"type": "string"}, "at": oa.DATE_TIME,
                        "actor": {"type": "string"}, "note": oa.NULLABLE_STRING,
                        "internal_note": oa.NULLABLE_STRING, "details": {"type": "object"}}}
_PUBLIC = ["tracking_no", "status", "channel", "jurisdiction", "category", "received_at",
           "signers", "assigned_unit", "timeline"]
_IMPORT_BODY = (
    "One case a row. JSON Lines: one POST /v1/cases body a line (representatives as its "
    "array). CSV: a header row naming the columns used, of "
    + ", ".join(ROW_COLUMNS) + "; a group visit's representatives (Art. 20, at most five) in "
    "numbered columns, one value a cell: representative_N_name, representative_N_id_number, "
    "representative_N_phone for N = 1 to 5 (" + ", ".join(reps.CSV_COLUMNS[:3]) + ", …). "
    "Every row is checked by the rules of POST /v1/cases; a bad row is that row's error "
    "{line, field, message} (a representative's error names its column, e.g. "
    "representative_2_phone) and the import goes on.")
_OPEN311_ERRORS = {"type": "array", "items": {
    "type": "object", "required": ["code", "description"],
    "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}}}
_OPEN311_REQUEST = {"type": "object", "required": ["service_request_id", "status"], "properties": {
    "service_request_id": {"type": "string"}, "status": {"enum": ["open", "closed"]},
    "status_notes": {"type": "string"}, "service_name": {"type": "string"},
    "service_code": {"type": "string"}, "agency_responsible": oa.NULLABLE_STRING,
    "requested_datetime": oa.DATE_TIME, "updated_datetime": oa.DATE_TIME,
    "expected_datetime": oa.NULLABLE_STRING}}


def _schemas(vocab: Vocabulary) -> dict[str, Any]:
    def term(terms: Any) -> dict[str, Any]:
        return {"type": "string", "description": "code or Chinese label",
                "enum": [*terms.codes, *terms.labels.values()]}

    text = {"type": "string", "minLength": 1}
    submission = {
        "type": "object", "additionalProperties": False,
        "required": ["channel", "jurisdiction", "category", "title", "content", "petitioner"],
        "properties": {
            "channel": term(vocab.channels),
            "external_id": {**text, "maxLength": 100,
                            "description": "idempotency key within the channel"},
            "received_at": {**oa.DATE_TIME, "description":
                            "RFC 3339 with an offset; not before the earliest day "
                            "(setting, default 1990-01-01), not in the future"},
            "jurisdiction": term(vocab.jurisdictions),
            "category": term(vocab.categories),
            "title": {**text, "maxLength": 200},
            "content": {**text, "maxLength": 20000},
            "petitioner": {"type": "object", "additionalProperties": False, "properties": {
                "name": {**text, "maxLength": 100},
                "id_number": {"type": "string", "description":
                              "GB 11643 resident ID; full-width digits are accepted"},
                "phone": {"type": "string", "description": "mainland mobile or landline"},
                "address": {**text, "maxLength": 500},
                "anonymous": {"type": "boolean"}}},
            "signers": {"type": "integer", "minimum": 1, "maximum": 100_000,
                        "description": "signers of a joint letter, or a group visit's head "
                                       "count (人次)"},
            "representatives": {
                "type": "array", "maxItems": 5, "description":
                "a group visit's representatives (Art. 20: at most five, no more than "
                "signers; only on channel visit or a case handed over through "
                "provincial_transfer, city_transfer or superior_assigned). Personal data: "
                "encrypted, read like the petitioner's, never on topics",
                "items": {"type": "object", "additionalProperties": False,
                          "required": ["name"], "properties": {
                              "name": {**text, "maxLength": 100},
                              "id_number": {"type": "string",
                                            "description": "GB 11643 resident ID"},
                              "phone": {"type": "string",
                                        "description": "mainland mobile or landline"}}}},
            "subject": {"type": "object", "additionalProperties": False, "properties": {
                "unit": {**text, "maxLength": 200}, "person": {**text, "maxLength": 100}}},
            "assigned_by": {**text, "maxLength": 200},
            "assigned_ref": {**text, "maxLength": 100, "description":
                             "the assigning body's reference number (交办文号); only on "
                             "provincial_transfer, city_transfer and superior_assigned"},
        },
    }
    registered = {"type": "object", "required": ["case_id", "tracking_no", "query_code",
                                                 "status", "received_at"],
                  "properties": {"case_id": {"type": "string", "format": "uuid"},
                                 "tracking_no": {"type": "string"},
                                 "query_code": {"type": "string"},
                                 "status": {"type": "string"}, "received_at": oa.DATE_TIME}}
    record = {"type": "object", "required": [*_PUBLIC, "case_id", "version", "title", "content",
                                             "petitioner"], "properties": {
        "case_id": {"type": "string", "format": "uuid"}, "tracking_no": {"type": "string"},
        "status": {"type": "string"}, "version": {"type": "integer"},
        "channel": oa.TERM, "jurisdiction": oa.TERM, "category": oa.TERM,
        "title": {"type": "string", "description": "IDs and mobiles typed in are masked"},
        "content": {"type": "string", "description": "IDs and mobiles typed in are masked"},
        "original_text": {"type": "object", "description": "staff only, audited: as written",
                          "properties": {"title": {"type": "string"},
                                         "content": {"type": "string"}}},
        "external_id": oa.NULLABLE_STRING, "received_at": oa.DATE_TIME,
        "signers": {"type": "integer"}, "assigned_unit": oa.NULLABLE_STRING,
        "key_case": {"type": "boolean"}, "urges": {"type": "integer"},
        "extension_requested_days": {"type": ["integer", "null"],
                                     "description": "an extension request awaiting the unit head"},
        "hearing_open": {"type": "boolean"},
        "representatives": {"type": "integer", "description": "how many a group visit named"},
        "allowed_actions": {"type": "array", "items": {"type": "string"},
                            "description": "what the caller's role may do on the case now"},
        "assigned_by": oa.NULLABLE_STRING, "assigned_ref": oa.NULLABLE_STRING,
        "petitioner": {"type": "object", "required": ["anonymous"],
                       "description": "identity fields for staff only (audited)"},
        "timeline": {"type": "array", "items": _STEP}}}
    tracking = {"type": "object", "required": _PUBLIC,
                "properties": {**{k: record["properties"][k] for k in _PUBLIC},  # type: ignore[index]
                               "self_service": selfservice.OPTIONS_SCHEMA}}
    action = {"type": "object", "required": ["action"], "additionalProperties": False,
              "properties": {"action": {"enum": allowed_actions_all()}, "at": oa.DATE_TIME,
                             "reason": {"type": "string", "maxLength": 2000},
                             "days": {"type": "integer", "minimum": 1, "maximum": 30},
                             "rating": {"enum": ["satisfied", "basically_satisfied",
                                                 "unsatisfied"]},
                             "transfer_to": {"type": "string", "maxLength": 200},
                             "note": {"type": "string", "maxLength": 2000,
                                      "description": "urge, instruct: the text (or reason)"},
                             "respond_by": {"type": "string", "format": "date",
                                            "description": "urge: the new response date"}}}
    acted = {"type": "object", "required": ["case_id", "action", "previous_status", "status",
                                            "at", "version", "allowed_actions"], "properties": {
        "case_id": {"type": "string"}, "action": {"type": "string"},
        "previous_status": {"type": "string"}, "status": {"type": "string"}, "at": oa.DATE_TIME,
        "version": {"type": "integer"},
        "allowed_actions": {"type": "array", "items": {"type": "string"}}}}
    progress = {"type": "object", "required": ["import_id", "status", "total", "accepted",
                                               "rejected", "errors"], "properties": {
        "import_id": {"type": "string"}, "status": {"type": "string"},
        "total": {"type": "integer"}, "accepted": {"type": "integer"},
        "duplicates": {"type": "integer"}, "rejected": {"type": "integer"},
        "error": oa.NULLABLE_STRING,
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "line": {"type": "integer"}, "field": {"type": "string"},
            "message": {"type": "string"}}}}}}
    return {"CaseSubmission": submission, "CaseRegistered": registered, "Case": record,
            "Tracking": tracking, "Action": action, "ActionDone": acted,
            "ImportProgress": progress, "Open311Errors": _OPEN311_ERRORS,
            "Open311Request": _OPEN311_REQUEST}


def _open311_paths() -> dict[str, Any]:
    requests = {"type": "array", "items": oa.ref("Open311Request")}
    key = oa.query("api_key", description="the token, when not sent as a bearer header")
    either: list[dict[str, list[str]]] = [oa.BEARER, {"api_key": []}]

    def errors(*codes: int) -> dict[int, dict[str, Any]]:
        return {c: oa.json_body(oa.ref("Open311Errors"), oa.DESCRIPTIONS[c]) for c in codes}

    form = {"type": "object", "required": ["service_code", "jurisdiction_id", "description"],
            "properties": {
                "api_key": {"type": "string"}, "service_code": {"type": "string"},
                "jurisdiction_id": {"type": "string"}, "description": {"type": "string"},
                "title": {"type": "string"}, "first_name": {"type": "string"},
                "last_name": {"type": "string"}, "phone": {"type": "string"},
                "address_string": {"type": "string"}, "email": {"type": "string"},
                "external_id": {"type": "string"}}}
    created = {"type": "array", "items": {"type": "object", "required": ["service_request_id"],
                                          "properties": {
                                              "service_request_id": {"type": "string"},
                                              "service_notice": {"type": "string"},
                                              "account_id": {"type": "null"}}}}
    # Open311 answers its errors in its own format ([{code, description}]), 400 for bad input.
    return {
        "/open311/v2/services.json": {"get": {
            "summary": "Categories as Open311 services", "security": [],
            "responses": {"200": oa.json_body({"type": "array", "items": {
                "type": "object", "required": ["service_code", "service_name"]}},
                "services")}}},
        "/open311/v2/requests.json": {
            "post": {"summary": "Register a service request (form-encoded); the same roles as "
                                "POST /v1/cases", "security": either,
                     "requestBody": {"required": True, "content": {
                         "application/x-www-form-urlencoded": {"schema": form}}},
                     "responses": {"201": oa.json_body(created, "registered"),
                                   "200": oa.json_body(created, "already registered"),
                                   **{str(k): v for k, v in errors(400, 401, 403, 415)
                                      .items()},
                                   "429": oa.problem(429)}},
            "get": {"summary": "Service requests (no personal data)", "security": either,
                    "parameters": [key, oa.query("service_request_id"),
                                   oa.query("service_code"),
                                   oa.query("start_date", oa.DATE_TIME),
                                   oa.query("end_date", oa.DATE_TIME),
                                   oa.query("status", {"enum": ["open", "closed"]})],
                    "responses": {"200": oa.json_body(requests, "requests"),
                                  **{str(k): v for k, v in errors(400, 401).items()}}}},
        "/open311/v2/requests/{request_id}.json": {"get": {
            "summary": "One service request", "security": either,
            "parameters": [oa.path_param("request_id", description="the tracking number"), key],
            "responses": {"200": oa.json_body(requests, "the request"),
                          **{str(k): v for k, v in errors(400, 401, 404).items()}}}},
    }


def document(vocab: Vocabulary) -> dict[str, Any]:
    case_id = oa.path_param("case_id", {"type": "string", "format": "uuid"})
    paths = {
        "/v1/cases": {"post": oa.operation(
            "Register a case", {201: oa.json_body(oa.ref("CaseRegistered"), "registered"),
                                200: oa.json_body(oa.ref("CaseRegistered"), "already registered "
                                               "under this (channel, external_id)")},
            refusals=(400, 403, 413, 415, 429), body=oa.json_request(oa.ref("CaseSubmission"))),
            "get": oa.operation(
                "Cases the caller may see (no personal data), nearest due date first; "
                "X-Total-Count gives the total",
                {200: oa.json_body({"type": "object", "required": ["items", "next_cursor"],
                                    "properties": {"items": {"type": "array"},
                                                   "next_cursor": {}}}, "one page")},
                refusals=(403, 422),
                parameters=[oa.query(n) for n in ("status", "unit", "channel", "category",
                                                  "jurisdiction", "q", "cursor")]
                + [oa.query("key", {"enum": ["true", "false"]}),
                   oa.query("sort", {"enum": ["due", "received"]}),
                   oa.query("limit", {"type": "integer", "minimum": 1, "maximum": 100})])},
        "/v1/cases/{case_id}": {"get": oa.operation(
            "A case with its timeline (staff: with personal data, audited)",
            {200: oa.json_body(oa.ref("Case"), "the case")}, refusals=(403, 404),
            parameters=[case_id])},
        "/v1/cases/{case_id}/actions": {"post": oa.operation(
            "A lifecycle action by the assigned unit, staff or admin; approve_extension and "
            "refuse_extension by the unit head, urge and flag_key by staff, instruct by the "
            "case's leader",
            {200: oa.json_body(oa.ref("ActionDone"), "the new status")},
            refusals=(400, 403, 404, 409, 413, 415, 429), parameters=[case_id],
            body=oa.json_request(oa.ref("Action")))},
        "/v1/cases/{case_id}/handoff-report": {"get": oa.operation(
            "The closing report (办结报告) of a handed-off case as a Word document (staff, "
            "audited)",
            {200: {"description": "the report", "content": {
                DOCX: {"schema": {"type": "string", "format": "binary"}}}}},
            refusals=(403, 404, 409), parameters=[case_id])},
        "/v1/track/{tracking_no}": {"get": oa.operation(
            "Public progress of a case (no personal data)",
            {200: oa.json_body(oa.ref("Tracking"), "status and timeline")},
            refusals=(404, 429), public=True,
            parameters=[oa.path_param("tracking_no"), oa.query("code", required=True)])},
        "/v1/imports": {"post": oa.operation(
            "Batch import (CSV or JSON Lines), processed in the background",
            {202: oa.json_body({"type": "object", "required": ["import_id"], "properties": {
                "import_id": {"type": "string", "format": "uuid"}}}, "queued")},
            refusals=(403, 413, 415, 429),
            body={"required": True, "description": _IMPORT_BODY,
                  "content": {"text/csv": {"schema": {"type": "string"}},
                              "application/x-ndjson": {"schema": {"type": "string"}}}})},
        "/v1/imports/{import_id}": {"get": oa.operation(
            "Progress and row errors of an import",
            {200: oa.json_body(oa.ref("ImportProgress"), "progress")}, refusals=(404,),
            parameters=[oa.path_param("import_id", {"type": "string", "format": "uuid"})])},
        **_open311_paths(),
        **selfservice.openapi_paths(),
        **similar.openapi_paths(),
    }
    return oa.document("Xinfang intake",
                       "Registering petitions and complaints (信访) from every channel.",
                       {**paths, **oa.audit_paths(), **oa.reconcile_paths()},
                       _schemas(vocab), api_key=True)


def install(app: web.Application, vocab: Vocabulary) -> None:
    oa.install(app, document(vocab))
