"""The HTTP side every service shares: health, readiness, metrics, JSON errors, auth."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from shared.platform.auth import Principal, TokenBook
from shared.platform.metrics import HTTP_LATENCY, render

MAX_BODY_BYTES = 1024 * 1024
ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
TOKENS_KEY = web.AppKey("tokens", TokenBook)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status,
                        content_type="application/json", headers=headers)


def error(http_status: int, message: str, **extra: Any) -> web.HTTPException:
    """An HTTP error whose body is ``{"error": message, ...}``."""
    exc_class: type[web.HTTPException] = web.HTTPException
    classes: tuple[type[web.HTTPException], ...] = (
        web.HTTPBadRequest, web.HTTPUnauthorized, web.HTTPForbidden, web.HTTPNotFound,
        web.HTTPConflict, web.HTTPRequestEntityTooLarge, web.HTTPUnsupportedMediaType,
        web.HTTPUnprocessableEntity, web.HTTPServiceUnavailable)
    for cls in classes:
        if cls.status_code == http_status:
            exc_class = cls
    kwargs: dict[str, Any] = {"text": orjson.dumps({"error": message, **extra}).decode(),
                              "content_type": "application/json"}
    if exc_class is web.HTTPRequestEntityTooLarge:
        return web.HTTPRequestEntityTooLarge(MAX_BODY_BYTES, 0, **kwargs)
    if exc_class is web.HTTPUnauthorized:
        kwargs["headers"] = {"WWW-Authenticate": 'Bearer realm="xinfang"'}
    return exc_class(**kwargs)


def field_errors(errors: list[dict[str, str]], status: int = 422) -> web.Response:
    return json_response({"errors": errors}, status=status)


async def read_json(request: web.Request) -> Any:
    """The request's JSON body: 415 for another content type, 413 over 1 MiB, 400 if broken."""
    if request.content_type != "application/json":
        raise error(415, "Content-Type must be application/json")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise error(413, f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise error(413, f"body larger than {MAX_BODY_BYTES} bytes") from exc
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise error(400, f"malformed JSON: {exc}") from exc


def principal(request: web.Request) -> Principal:
    """The caller, or 401 for a missing or unknown token."""
    found = request.app[TOKENS_KEY].authenticate(request.headers.get("Authorization"))
    if found is None:
        raise error(401, "missing or unknown bearer token")
    return found


def require_staff(request: web.Request) -> Principal:
    who = principal(request)
    if not who.is_staff:
        raise error(403, "this needs a staff or admin token")
    return who


@web.middleware
async def _observe(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]
                   ) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        HTTP_LATENCY.labels(name, request.method, str(status)).observe(
            time.perf_counter() - started)


def create_web_app(tokens: TokenBook, readiness: ReadinessCheck,
                   liveness: Callable[[], dict[str, bool]] | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_observe])
    app[TOKENS_KEY] = tokens

    async def healthz(_: web.Request) -> web.Response:
        # Liveness: false only for what a restart mends (a halted consumer, a relay that has
        # not sent for long); an outage elsewhere shows in readiness, not here.
        checks = liveness() if liveness is not None else {}
        alive = all(checks.values())
        return json_response({"status": "ok" if alive else "failing", "checks": checks},
                             status=200 if alive else 503)

    async def readyz(_: web.Request) -> web.Response:
        checks = await readiness()
        ready = all(checks.values())
        return json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)

    async def metrics(_: web.Request) -> web.Response:
        body, content_type = render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app
