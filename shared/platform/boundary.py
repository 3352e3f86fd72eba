"""The input boundary of every service: text and numbers a client sends are checked before any
handler sees them.

Every string from the path, the query, a header or a JSON or form body must be valid UTF-8,
free of NUL and other control characters (tabs and line breaks are allowed inside body text),
and of a bounded length; every JSON number must fit a 32-bit integer column. A refusal names the
field (``{"errors": [{"field", "message"}]}``, 422) and changes nothing: PostgreSQL cannot store
NUL in text, and an overflowing integer parameter fails inside the database, so without this a
careless client gets a 500 and the log a traceback.

Rules that depend on the field's meaning (which dates are plausible, which integers a parameter
takes) stay with the handler; :func:`int_param` and :data:`EARLIEST_DAY` are the shared pieces.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import date
from functools import cache
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from aiohttp import web

# The oldest day a client may date anything with (a case's receipt, an action): older dates are
# typing mistakes or attempts to make a case overdue at once. A setting overrides it.
EARLIEST_DAY = date(1990, 1, 1)
INT32_MAX = 2**31 - 1
MAX_PATH_PARAM = 200
MAX_QUERY_NAME = 100
MAX_QUERY_VALUE = 2_000
MAX_QUERY_PARAMS = 100
MAX_HEADER_VALUE = 8_190
MAX_BODY_STRING = 50_000  # above every field's own limit: those give the precise message
MAX_ERRORS = 20
BODY_LIMIT = 1024 * 1024
TEXT_WHITESPACE = "\t\n\r"  # allowed inside free text of a body, nowhere else

FieldErrors = list[dict[str, str]]
Refusal = Callable[[FieldErrors], web.Response]
REFUSALS = web.AppKey("boundary_refusals", dict[str, Refusal])
_FORM = "application/x-www-form-urlencoded"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def refusal_response(errors: FieldErrors, status: int = 422) -> web.Response:
    return web.Response(body=orjson.dumps({"errors": errors}), status=status,
                        content_type="application/json")


def refuse_with(app: web.Application, prefix: str, render: Refusal) -> None:
    """Refusals under ``prefix`` use ``render`` (e.g. Open311's own error format)."""
    app.setdefault(REFUSALS, {})[prefix] = render


@cache
def _forbidden(allowed: str) -> re.Pattern[str]:
    """Control characters (C0, DEL, C1), lone surrogates and U+FFFE/U+FFFF, minus ``allowed``."""
    ranges = "".join(f"\\x{c:02x}" for c in range(0x20) if chr(c) not in allowed)
    return re.compile(f"[{ranges}\\x7f-\\x9f\\ud800-\\udfff\\ufffe\\uffff]")


def text_problem(value: str, *, limit: int, allowed: str = "") -> str | None:
    """Why ``value`` cannot pass the boundary, or None when it can."""
    if len(value) > limit:
        return f"must be at most {limit} characters, got {len(value)}"
    found = _forbidden(allowed).search(value)
    if found is None:
        return None
    code = ord(found.group())
    if code == 0:
        return "must not contain NUL characters"
    if 0xD800 <= code <= 0xDFFF:
        return "is not valid UTF-8 text (a lone surrogate)"
    if code in (0xFFFE, 0xFFFF):
        return f"must not contain the non-character U+{code:04X}"
    return f"must not contain control characters (found U+{code:04X})"


def number_problem(value: int | float) -> str | None:
    if isinstance(value, float) and value != value:  # NaN: orjson refuses it, belt and braces
        return "must be a number"
    if not -INT32_MAX - 1 <= value <= INT32_MAX:
        return f"must be between {-INT32_MAX - 1} and {INT32_MAX}"
    return None


def json_problems(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field, message) for every string or number in a JSON document that fails the rules;
    fields are dotted paths like the API's (``petitioner.name``, ``holidays[2]``)."""
    if isinstance(value, str):
        why = text_problem(value, limit=MAX_BODY_STRING, allowed=TEXT_WHITESPACE)
        if why:
            yield path or "body", why
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        why = number_problem(value)
        if why:
            yield path or "body", why
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            why = text_problem(str(key), limit=MAX_QUERY_NAME)
            if why:
                yield (path or "body"), f"has a field name that {why}"
                continue
            yield from json_problems(item, child)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from json_problems(item, f"{path}[{i}]")


def pair_problems(raw: str, *, where: str) -> Iterator[tuple[str, str]]:
    """Problems of a URL-encoded ``a=1&b=2`` string (a query or a form body), decoded strictly:
    aiohttp would turn bytes that are not UTF-8 into U+FFFD and let them through."""
    pairs = [p for p in raw.split("&") if p]
    if len(pairs) > MAX_QUERY_PARAMS:
        yield where, f"has {len(pairs)} parameters; at most {MAX_QUERY_PARAMS}"
        return
    for pair in pairs:
        raw_name, _, raw_value = pair.partition("=")
        try:
            name = unquote_to_bytes(raw_name.replace("+", " ")).decode("utf-8")
        except UnicodeDecodeError:
            yield where, "has a parameter name that is not valid UTF-8"
            continue
        why = text_problem(name, limit=MAX_QUERY_NAME)
        if why:
            yield where, f"has a parameter name that {why}"
            continue
        try:
            value = unquote_to_bytes(raw_value.replace("+", " ")).decode("utf-8")
        except UnicodeDecodeError:
            yield name, "is not valid UTF-8 (percent-encode UTF-8 bytes)"
            continue
        why = text_problem(value, limit=MAX_QUERY_VALUE,
                           allowed=TEXT_WHITESPACE if where == "body" else "")
        if why:
            yield name, why


def _path_problems(request: web.Request) -> Iterator[tuple[str, str]]:
    raw_path = request.raw_path.split("?", 1)[0]
    try:
        unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError:
        yield "path", "is not valid UTF-8 (percent-encode UTF-8 bytes)"
        return
    for name, value in request.match_info.items():
        why = text_problem(value, limit=MAX_PATH_PARAM)
        if why:
            yield name, why


def _header_problems(request: web.Request) -> Iterator[tuple[str, str]]:
    for name, value in request.headers.items():
        why = text_problem(value, limit=MAX_HEADER_VALUE, allowed="\t")  # legal whitespace
        if why:
            yield name, why


async def _body_problems(request: web.Request) -> list[tuple[str, str]] | None:
    """Problems of a JSON or form body; None when it is not one this boundary reads (or is
    broken JSON, which the handler refuses with its own 400)."""
    kind = request.content_type
    if not request.body_exists or kind not in ("application/json", _FORM):
        return None
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        return None  # the handler answers 413 without reading
    raw = await request.read()  # cached: the handler's read gets the same bytes
    if kind == _FORM:
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return [("body", "a form body must be percent-encoded UTF-8")]
        return list(pair_problems(text, where="body"))
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return list(json_problems(doc))


async def problems(request: web.Request) -> FieldErrors:
    found: list[tuple[str, str]] = [*_path_problems(request), *_header_problems(request),
                                    *pair_problems(request.query_string, where="query")]
    if not found:
        found.extend(await _body_problems(request) or ())
    return [{"field": f, "message": f"{f} {why}"} for f, why in found[:MAX_ERRORS]]


@web.middleware
async def boundary(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None:
        return await handler(request)  # no such route: the router's own 404/405
    try:
        errors = await problems(request)
    except web.HTTPRequestEntityTooLarge:
        return web.Response(body=orjson.dumps({"error": f"body larger than {BODY_LIMIT} bytes"}),
                            status=413, content_type="application/json")
    if not errors:
        return await handler(request)
    for prefix, render in request.app.get(REFUSALS, {}).items():
        if request.path.startswith(prefix):
            return render(errors)
    return refusal_response(errors)


class ParamInvalid(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def int_param(text: str, name: str, *, minimum: int, maximum: int = INT32_MAX) -> int:
    """A whole number in ``[minimum, maximum]`` from a path or query parameter (ASCII digits:
    ``str.isdigit`` also accepts ``²`` and other digits ``int`` refuses)."""
    digits = text.strip()
    if not digits.isascii() or not digits.lstrip("-").isdigit() or len(digits) > 12:
        raise ParamInvalid(name, f"{name} must be a whole number from {minimum} to {maximum}")
    value = int(digits)
    if not minimum <= value <= maximum:
        raise ParamInvalid(name, f"{name} must be a whole number from {minimum} to {maximum}")
    return value
