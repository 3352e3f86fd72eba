"""The other services' public APIs, called as the signed-in person (their bearer token): the
console reads no other service's database."""

from __future__ import annotations

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
        async with self._session().request(method, self._urls[service] + path, json=json,
                                           params=params, headers=headers) as r:
            try:
                body: Any = await r.json(content_type=None)
            except ValueError:
                body = None
            return Answer(r.status, body, dict(r.headers))
