"""Pieces every service's OpenAPI 3.1 document is built from, and the route serving it.

A service describes its own paths with :func:`operation`; :func:`document` adds what every
service shares: the error shapes, the security schemes and the operational endpoints
(``/healthz``, ``/readyz``, ``/openapi.json``; ``/metrics`` has a listener of
its own). Tests compare each document with
the routes of the service's aiohttp app, both ways.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from shared.platform.boundary import INT32_MAX

Schema = dict[str, Any]

ERROR: Schema = {"type": "object", "required": ["error"],
                 "properties": {"error": {"type": "string"}}}
FIELD_ERRORS: Schema = {
    "type": "object", "required": ["errors"],
    "properties": {"errors": {"type": "array", "items": {
        "type": "object", "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}},
}
TOO_MANY: Schema = {"type": "object", "required": ["error", "retry_after"],
                    "properties": {"error": {"type": "string"},
                                   "retry_after": {"type": "integer", "minimum": 1}}}
BEARER: dict[str, list[str]] = {"bearer": []}
DATE = {"type": "string", "format": "date"}
DATE_TIME = {"type": "string", "format": "date-time"}
NULLABLE_STRING = {"type": ["string", "null"]}
INT32 = {"type": "integer", "minimum": 1, "maximum": INT32_MAX}
TERM = {"type": "object", "required": ["key", "label"],
        "properties": {"key": {"type": "string"}, "label": {"type": "string"}}}

DESCRIPTIONS = {
    400: "malformed body", 401: "missing or unknown credentials",
    403: "the credential's role may not do this", 404: "not found", 409: "conflict",
    413: "body too large", 415: "unsupported content type",
    422: "invalid input; every problem names its field", 429: "rate limited",
    503: "not ready",
}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: Schema, description: str, headers: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = headers
    return out


def problem(status: int, description: str | None = None) -> dict[str, Any]:
    """The documented response of a refusal (the shape each status has in every service)."""
    text = description or DESCRIPTIONS[status]
    if status == 422:
        return json_body(ref("FieldErrors"), text)
    if status == 429:
        return json_body(ref("TooManyRequests"), text, headers={
            "Retry-After": {"schema": {"type": "integer", "minimum": 1},
                            "description": "seconds until a request may pass"}})
    return json_body(ref("Error"), text)


def path_param(name: str, schema: Schema | None = None, description: str = "") -> Schema:
    return {"name": name, "in": "path", "required": True,
            "schema": schema or {"type": "string"}, "description": description}


def query(name: str, schema: Schema | None = None, *, required: bool = False,
          description: str = "") -> Schema:
    return {"name": name, "in": "query", "required": required,
            "schema": schema or {"type": "string"}, "description": description}


def operation(summary: str, responses: dict[int, dict[str, Any]], *,
              refusals: tuple[int, ...] = (), parameters: list[Schema] | None = None,
              body: dict[str, Any] | None = None, public: bool = False,
              security: list[dict[str, list[str]]] | None = None) -> dict[str, Any]:
    """One operation. ``refusals`` lists the error statuses it answers besides 401 (implied
    unless ``public``) and 422 (implied when it takes parameters or a body)."""
    codes = set(refusals)
    if not public:
        codes.add(401)
    if parameters or body:
        codes.add(422)
    out: dict[str, Any] = {"summary": summary, "responses": {
        **{str(k): v for k, v in sorted(responses.items())},
        **{str(c): problem(c) for c in sorted(codes)}}}
    if parameters:
        out["parameters"] = parameters
    if body:
        out["requestBody"] = body
    if public:
        out["security"] = []
    elif security is not None:
        out["security"] = security
    return out


def json_request(schema: Schema) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _operational() -> dict[str, Any]:
    checks = {"type": "object", "additionalProperties": {"type": "boolean"}}
    alive = {"type": "object", "required": ["status"], "properties": {
        "status": {"enum": ["ok", "failing"]}, "checks": checks}}
    ready = {"type": "object", "required": ["ready", "checks"], "properties": {
        "ready": {"type": "boolean"}, "checks": checks}}
    return {
        "/healthz": {"get": operation("Liveness: false only for what a restart mends", {
            200: json_body(alive, "alive"), 503: json_body(alive, "failing: restart it")},
            public=True)},
        "/readyz": {"get": operation("Its database, broker and background tasks are ready", {
            200: json_body(ready, "ready"), 503: json_body(ready, "not ready")}, public=True)},
        "/openapi.json": {"get": operation("This document", {200: json_body(
            {"type": "object", "required": ["openapi", "paths"]}, "OpenAPI 3.1")},
            public=True)},
    }


def audit_paths() -> dict[str, Any]:
    """The tamper-evident audit (``shared.platform.audit``), where a service installs it."""
    entry = {"type": "object"}
    return {"/v1/audit": {"get": operation(
        "The audit: personal-data reads and administrative changes (admin)",
        {200: json_body({"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": entry}}}, "audit rows, oldest first")},
        refusals=(403, 422), parameters=[query("since", DATE_TIME), query("actor"),
                                         query("case_id")])}}


def reconcile_paths() -> dict[str, Any]:
    """The service's own counts per received day (``shared.platform.reconcile``)."""
    day = {"type": "string", "format": "date"}
    return {"/v1/reconcile": {"get": operation(
        "Counts per received day, for xf reconcile (staff or admin)",
        {200: json_body({"type": "object"}, "counts per received day")},
        refusals=(403, 422), parameters=[query("from", day), query("to", day)])}}


def document(title: str, description: str, paths: dict[str, Any],
             schemas: dict[str, Schema] | None = None, *, api_key: bool = False
             ) -> dict[str, Any]:
    schemes: dict[str, Any] = {"bearer": {
        "type": "http", "scheme": "bearer",
        "description": "a machine token (deploy/local/tokens.yaml locally) or an access token"}}
    if api_key:
        schemes["api_key"] = {"type": "apiKey", "in": "query", "name": "api_key",
                              "description": "Open311's api_key: the same tokens"}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1", "description": description},
        "components": {"securitySchemes": schemes, "schemas": {
            "Error": ERROR, "FieldErrors": FIELD_ERRORS, "TooManyRequests": TOO_MANY,
            **(schemas or {})}},
        "security": [BEARER],
        "paths": {**paths, **_operational()},
    }


def install(app: web.Application, doc: dict[str, Any]) -> None:
    body = orjson.dumps(doc)  # rendered once

    async def serve(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app.router.add_get("/openapi.json", serve)


def documented_routes(doc: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation in ``doc``."""
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item}


def app_routes(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route of ``app`` (HEAD comes with GET: left out)."""
    out = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path")
        if path and route.method != "HEAD":
            out.add((route.method, path))
    return out
