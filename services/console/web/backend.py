"""The other services' public APIs, called as the signed-in person (their bearer token): the
console reads no other service's database."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def field_errors(self) -> list[dict[str, str]]:
        if self.status == 422 and isinstance(self.body, dict):
            return list(self.body.get("errors") or [])
        return []


class Backend:
    def __init__(self, urls: dict[str, str]) -> None:
        self._urls = urls
        self._http: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._http

    async def call(self, service: str, method: str, path: str, token: str | None, *,
                   json: Any = None, params: dict[str, str] | None = None) -> Answer:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self._request(service, method, path, headers, json=json, params=params)

    async def send(self, service: str, method: str, path: str, token: str, *, data: bytes,
                   content_type: str) -> Answer:
        """A body that is not JSON (a YAML rule set), answered in JSON."""
        headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
        return await self._request(service, method, path, headers, data=data)

    async def _request(self, service: str, method: str, path: str, headers: dict[str, str],
                       **body: Any) -> Answer:
        try:
            async with self._session().request(method, self._urls[service] + path,
                                               headers=headers, **body) as r:
                try:
                    answer: Any = await r.json(content_type=None)
                except ValueError:
                    answer = None
                return Answer(r.status, answer, dict(r.headers))
        except (aiohttp.ClientError, TimeoutError):
            # A service that is down is the page's "try again later", not a 500.
            return Answer(503, {"error": f"{service} unavailable"}, {})

    async def raw(self, service: str, path: str, token: str, *,
                  params: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        """A file (a report): its bytes, as the service sent them."""
        try:
            async with self._session().get(self._urls[service] + path, params=params,
                                           headers={"Authorization": f"Bearer {token}"}) as r:
                return r.status, await r.read(), dict(r.headers)
        except (aiohttp.ClientError, TimeoutError):
            return 503, b"", {}


class UnitNames:
    """Unit code → name (吉州区教育局), from routing's active rules, read with a signed-in
    person's token and kept for a few minutes. Unit names are public: the tracking page uses
    what a signed-in request last read, else the code."""

    TTL = 300.0

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._names: dict[str, str] = {}
        self._read_at = float("-inf")

    async def refresh(self, token: str) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._read_at < self.TTL:
            return
        self._read_at = now  # also after a failure: retry later, not on every request
        answer = await self._backend.call("routing", "GET", "/v1/rules", token)
        if answer.ok and isinstance(answer.body, dict):
            self._names = {str(u["code"]): str(u["name"])
                           for u in answer.body.get("units", []) if "code" in u}

    def all(self) -> list[tuple[str, str]]:
        """Every unit the rules know, by name: the choices of a reassignment."""
        return sorted(self._names.items(), key=lambda kv: kv[1])

    def name(self, code: str | None) -> str:
        if not code:
            return ""
        return self._names.get(code, code)
