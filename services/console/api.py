"""The console's HTTP API: sign-in (access tokens), the issuer's keys and discovery document,
and accounts (admin)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import asyncpg
from aiohttp import web

from services.console import accounts
from services.console.login import Granted, Throttle, sign_in
from services.console.metrics import LOGINS
from services.console.signing import Issuer
from shared.domain.vocab import Vocabulary
from shared.platform import audit
from shared.platform.auth import Principal
from shared.platform.clock import Clock
from shared.platform.logging import get_logger
from shared.platform.web import error, field_errors, json_response, principal, read_json

log = get_logger(__name__)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
INVALID_LOGIN = "unknown username or wrong password"


def require_admin(request: web.Request) -> Principal:
    who = principal(request)
    if who.role != "admin":
        raise error(403, "accounts are managed by an administrator")
    return who


class ConsoleApi:
    def __init__(self, pool: asyncpg.Pool, issuer: Issuer, throttle: Throttle, clock: Clock,
                 vocab: Vocabulary) -> None:
        self._pool = pool
        self._issuer = issuer
        self._throttle = throttle
        self._clock = clock
        self._vocab = vocab

    def install(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/v1/auth/token", self.token)
        r.add_get("/.well-known/jwks.json", self.jwks)
        r.add_get("/.well-known/openid-configuration", self.discovery)
        r.add_get("/v1/me", self.me)
        r.add_get("/v1/accounts", self.list_accounts)
        r.add_post("/v1/accounts", self.add_account)
        r.add_post("/v1/accounts/{username}/disable", self.disable)
        r.add_post("/v1/accounts/{username}/enable", self.enable)
        r.add_put("/v1/accounts/{username}/password", self.reset_password)

    async def token(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        errors = []
        if not isinstance(body, dict):
            return field_errors([{"field": "body", "message": "the body must be a JSON object"}])
        for name in ("username", "password"):
            if not isinstance(body.get(name), str) or not body[name]:
                errors.append({"field": name, "message": f"{name} is required (a string)"})
        if errors:
            return field_errors(errors)
        outcome = await sign_in(self._pool, self._issuer, self._throttle, self._clock,
                                body["username"], body["password"])
        if isinstance(outcome, Granted):
            LOGINS.labels("granted").inc()
            log.info("signed_in", account_id=str(outcome.account["account_id"]))
            return json_response({
                "access_token": outcome.token, "token_type": "Bearer",
                "expires_in": int(self._issuer.lifetime.total_seconds()),
            }, headers=NO_STORE)
        if outcome.locked_for is not None:
            LOGINS.labels("locked").inc()
            retry = max(1, math.ceil(outcome.locked_for.total_seconds()))
            return json_response(
                {"error": "too many failed sign-ins for this username; try again later",
                 "retry_after_seconds": retry},
                status=429, headers={"Retry-After": str(retry), **NO_STORE})
        LOGINS.labels("refused").inc()
        raise error(401, INVALID_LOGIN)

    async def jwks(self, _: web.Request) -> web.Response:
        # Short cache: verifiers pick up a newly published key within minutes anyway.
        return json_response(self._issuer.jwks(), headers={"Cache-Control": "max-age=60"})

    async def discovery(self, _: web.Request) -> web.Response:
        return json_response(self._issuer.discovery())

    async def me(self, request: web.Request) -> web.Response:
        who = principal(request)
        return json_response({
            "actor_id": who.actor_id, "name": who.name, "role": who.person_role or who.role,
            "unit": who.unit, "channels": list(who.channels), "person": who.is_person,
        })

    async def list_accounts(self, request: web.Request) -> web.Response:
        require_admin(request)
        rows = await self._pool.fetch("SELECT * FROM accounts ORDER BY username")
        return json_response({"items": [accounts.render(r) for r in rows]})

    async def add_account(self, request: web.Request) -> web.Response:
        who = require_admin(request)
        body = await read_json(request)
        try:
            new = accounts.validate_account(body, self._vocab)
        except accounts.AccountInvalid as exc:
            return field_errors([e.as_dict() for e in exc.errors])
        password_hash = await _in_thread(accounts.hash_password, new.password)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await accounts.insert(conn, new, password_hash, who.actor_id)
            if row is not None:
                await self._audit(conn, request, who, "account.add", row)
        if row is None:
            return field_errors([{"field": "username",
                                  "message": f"username {new.username!r} is taken"}], 409)
        log.info("account_added", account_id=str(row["account_id"]), role=new.role,
                 by=who.actor_id)
        return json_response(accounts.render(row), status=201)

    async def _audit(self, conn: asyncpg.Connection, request: web.Request, who: Principal,
                     action: str, row: asyncpg.Record) -> None:
        await audit.append(conn, audit.Entry(
            who.as_actor(), action,
            detail={"account_id": str(row["account_id"]), "username": row["username"],
                    "role": row["role"], "unit": row["unit"]},
            client_addr=audit.client_address(request.remote)), self._clock.now())

    async def disable(self, request: web.Request) -> web.Response:
        return await self._set_disabled(request, True)

    async def enable(self, request: web.Request) -> web.Response:
        return await self._set_disabled(request, False)

    async def _set_disabled(self, request: web.Request, disabled: bool) -> web.Response:
        who = require_admin(request)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await accounts.set_disabled(conn, request.match_info["username"], disabled,
                                              who.actor_id)
            if row is not None:
                await self._audit(conn, request, who,
                                  "account.disable" if disabled else "account.enable", row)
        if row is None:
            raise error(404, "no such account")
        log.info("account_disabled" if disabled else "account_enabled",
                 account_id=str(row["account_id"]), by=who.actor_id)
        return json_response(accounts.render(row))

    async def reset_password(self, request: web.Request) -> web.Response:
        who = require_admin(request)
        body = await read_json(request)
        password = body.get("password") if isinstance(body, dict) else None
        problems = accounts.password_errors(password)
        if problems:
            return field_errors([e.as_dict() for e in problems])
        password_hash = await _in_thread(accounts.hash_password, str(password))
        async with self._pool.acquire() as conn, conn.transaction():
            row = await accounts.set_password(conn, request.match_info["username"],
                                              password_hash, who.actor_id)
            if row is not None:
                await self._audit(conn, request, who, "account.reset_password", row)
        if row is None:
            raise error(404, "no such account")
        log.info("password_reset", account_id=str(row["account_id"]), by=who.actor_id)
        return json_response(accounts.render(row))


async def _in_thread(fn: Any, *args: Any) -> Any:
    """Argon2 hashing takes tens of milliseconds of CPU: never on the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
