"""Rate limits: a token bucket per client, kept in this process.

Each bucket holds up to ``per_minute`` requests and refills at ``per_minute / 60`` a second, so
a client may burst to its limit and then goes at the steady rate. A refused request gets 429
with ``Retry-After`` (whole seconds until the next request would pass).

The state lives in one process: with N instances behind a balancer a client gets up to N times
the limit, and a restart forgets it. That bounds a scan or a flood by a constant factor, which
is the purpose here; a limit that must hold exactly across instances needs shared state (the
database or a proxy in front).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from aiohttp import web

MAX_KEYS = 100_000  # buckets kept; the least recently used one goes first beyond this
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """``per_minute`` requests per key; 0 turns the limit off."""

    def __init__(self, per_minute: int, *, monotonic: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        if per_minute < 0:
            raise ValueError("a rate limit cannot be negative")
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._now = monotonic
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def retry_after(self, key: str) -> int | None:
        """Take one request for ``key``: None if it may go ahead, else the seconds to wait."""
        if self.per_minute == 0:
            return None
        now = self._now()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(float(self.per_minute), now)
        else:
            bucket.tokens = min(float(self.per_minute),
                                bucket.tokens + (now - bucket.stamp) * self._rate)
            bucket.stamp = now
        self._buckets[key] = bucket  # most recently used last
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / self._rate))


def too_many(retry_after: int, what: str) -> web.HTTPTooManyRequests:
    return web.HTTPTooManyRequests(
        text=orjson.dumps({"error": f"too many requests {what}; retry in {retry_after} s",
                           "retry_after": retry_after}).decode(),
        content_type="application/json", headers={"Retry-After": str(retry_after)})


def enforce(limiter: RateLimiter, key: str, what: str) -> None:
    """Raise 429 when ``key`` is over its limit."""
    wait = limiter.retry_after(key)
    if wait is not None:
        raise too_many(wait, what)


def client_address(request: web.Request) -> str:
    """The peer's address. Behind a reverse proxy this is the proxy: configure the proxy to
    limit, or extend this to trust its forwarding header."""
    return request.remote or "unknown"


def write_client(request: web.Request) -> str:
    """Who is writing: the credential when one is sent (each token or account has its own
    allowance), else the address. Only a digest is kept: no secret lives in the table."""
    credential = request.headers.get("Authorization")
    if credential:
        return "credential:" + hashlib.sha256(credential.encode()).hexdigest()[:32]
    return "address:" + client_address(request)


WRITE_LIMITER = web.AppKey("write_limiter", RateLimiter)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def limit_writes(app: web.Application, per_minute: int) -> None:
    """Limit every write endpoint of ``app`` to ``per_minute`` requests per client."""
    app[WRITE_LIMITER] = RateLimiter(per_minute)


@web.middleware
async def write_limits(request: web.Request, handler: Handler) -> web.StreamResponse:
    limiter = request.app.get(WRITE_LIMITER)
    if limiter is not None and request.method in WRITE_METHODS:
        enforce(limiter, write_client(request), "from this client")
    return await handler(request)
