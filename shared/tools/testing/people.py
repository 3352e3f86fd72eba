"""Persons for integration tests: a fresh console account of a given role, signed in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from shared.tools.testing.tokens import ADMIN, bearer

PASSWORD = "integration-test-passphrase"


@dataclass(frozen=True)
class Person:
    account: dict[str, Any]
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


async def add_account(http: aiohttp.ClientSession, console: str, role: str, *,
                      unit: str | None = None, channels: list[str] | None = None,
                      name: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"username": f"t.{role}.{uuid.uuid4().hex[:10]}",
                            "display_name": name or f"测试{role}", "role": role,
                            "password": PASSWORD}
    if unit:
        body["unit"] = unit
    if channels:
        body["channels"] = channels
    async with http.post(f"{console}/v1/accounts", json=body, headers=bearer(ADMIN)) as r:
        created = await r.json()
        assert r.status == 201, created
    return dict(created)


async def sign_in(http: aiohttp.ClientSession, console: str, username: str,
                  password: str = PASSWORD) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{console}/v1/auth/token",
                         json={"username": username, "password": password}) as r:
        return r.status, await r.json()


async def person(http: aiohttp.ClientSession, console: str, role: str, **kw: Any) -> Person:
    account = await add_account(http, console, role, **kw)
    status, body = await sign_in(http, console, account["username"])
    assert status == 200, body
    return Person(account, body["access_token"])
