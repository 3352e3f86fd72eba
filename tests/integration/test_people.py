"""Persons through the real stack: accounts and sign-in at the console, its tokens verified by
the other services, the lockout, and the refusal of development secrets in production."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.console.login import Throttle, forget_old_failures
from shared.tools.testing.helpers import eventually
from shared.tools.testing.instances import ServiceProcess
from shared.tools.testing.people import add_account, person, sign_in
from shared.tools.testing.tokens import ADMIN, STAFF, bearer

NO_CASE = "00000000-0000-0000-0000-000000000000"


async def test_discovery_and_key_set(stack) -> None:
    console = stack.url("console", "")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{console}/.well-known/openid-configuration") as r:
            discovery = await r.json()
        async with http.get(discovery["jwks_uri"]) as r:
            keys = (await r.json())["keys"]
    assert discovery["issuer"] == stack.layout.console_url
    assert discovery["token_endpoint"] == f"{console}/v1/auth/token"
    assert keys and all(k["kty"] == "OKP" and k["alg"] == "EdDSA" and k["kid"] for k in keys)
    assert all("d" not in k for k in keys), "the private part must never be published"


async def test_a_signed_in_person_is_accepted_by_every_service(stack) -> None:
    async with aiohttp.ClientSession() as http:
        staff = await person(http, stack.url("console", ""), "staff", name="王信访")
        claims = jwt.decode(staff.token, options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] <= 900
        assert {"iss", "sub", "aud", "name", "role", "jti"} <= set(claims)
        for service, path in (("intake", f"/v1/cases/{NO_CASE}"),
                              ("routing", "/v1/rules"),
                              ("deadlines", f"/v1/deadlines/{NO_CASE}"),
                              ("statistics", "/v1/stats/summary?from=2026-01-01&to=2026-01-31"),
                              ("console", "/v1/me")):
            async with http.get(stack.url(service, path), headers=staff.headers) as r:
                assert r.status in (200, 404), (service, r.status, await r.text())
        async with http.get(stack.url("console", "/v1/me"), headers=staff.headers) as r:
            me = await r.json()
        assert me["name"] == "王信访" and me["actor_id"] == f"account:{claims['sub']}"


async def test_forged_tampered_and_foreign_tokens_get_401(stack) -> None:
    console = stack.url("console", "")
    async with aiohttp.ClientSession() as http:
        staff = await person(http, console, "staff")
        head, body, sig = staff.token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(body + "=="))
        claims["role"] = "admin"
        tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        kid = jwt.get_unverified_header(staff.token)["kid"]
        now = int(time.time())
        forged = jwt.encode({**claims, "iat": now, "exp": now + 600},
                            Ed25519PrivateKey.generate(), algorithm="EdDSA",
                            headers={"kid": kid})
        unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": kid})
        for token in (f"{head}.{tampered}.{sig}", forged, unsigned, staff.token + "x"):
            async with http.get(stack.url("intake", f"/v1/cases/{NO_CASE}"),
                                headers=bearer(token)) as r:
                assert r.status == 401, await r.text()


async def test_sign_in_answers_alike_for_unknown_users_and_locks_out(stack) -> None:
    console = stack.url("console", "")
    async with aiohttp.ClientSession() as http:
        account = await add_account(http, console, "handler", unit="jizhou_bureau")
        unknown = await sign_in(http, console, f"nobody.{uuid.uuid4().hex[:8]}")
        wrong = await sign_in(http, console, account["username"], "wrong-passphrase-1")
        assert unknown == wrong == (401, {"error": "unknown username or wrong password"})
        statuses = [wrong[0]]
        for _ in range(5):
            statuses.append((await sign_in(http, console, account["username"], "guess-x1"))[0])
        assert statuses[:4] == [401] * 4 and statuses[4:] == [429, 429]
        # Locked: even the right password waits.
        status, body = await sign_in(http, console, account["username"])
        assert status == 429 and body["retry_after_seconds"] > 0


async def test_a_disabled_account_cannot_sign_in_until_enabled(stack) -> None:
    console = stack.url("console", "")
    async with aiohttp.ClientSession() as http:
        account = await add_account(http, console, "leader")
        url = f"{console}/v1/accounts/{account['username']}"
        async with http.post(f"{url}/disable", headers=bearer(ADMIN)) as r:
            assert r.status == 200 and (await r.json())["disabled"] is True
        assert (await sign_in(http, console, account["username"]))[0] == 401
        async with http.post(f"{url}/enable", headers=bearer(STAFF)) as r:
            assert r.status == 403  # accounts are the administrator's
        async with http.post(f"{url}/enable", headers=bearer(ADMIN)) as r:
            assert r.status == 200
        assert (await sign_in(http, console, account["username"]))[0] == 200


async def test_bad_account_input_is_422_by_field_and_creates_nothing(stack) -> None:
    console = stack.url("console", "")
    name = f"t.bad.{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{console}/v1/accounts", headers=bearer(ADMIN), json={
                "username": name, "display_name": "某", "role": "clerk",
                "password": "short"}) as r:
            body = await r.json()
        assert r.status == 422
        assert {e["field"] for e in body["errors"]} == {"channels", "password"}
        async with http.get(f"{console}/v1/accounts", headers=bearer(ADMIN)) as r:
            assert name not in {a["username"] for a in (await r.json())["items"]}


async def test_production_refuses_to_start_on_development_secrets(stack) -> None:
    """The local stack's configuration (tokens in clear inside the source tree) plus one key
    used twice, with XF_ENV=production: intake exits naming each thing to set."""
    proc = ServiceProcess(stack.layout, "intake", port=stack.layout.extra_port(8191),
                          name="intake-production-refusal", env={"XF_ENV": "production"})
    proc.env["XF_PSEUDONYM_KEY"] = proc.env["XF_PII_KEY"]
    start = proc.log.stat().st_size if proc.log.exists() else 0
    await proc.start()
    code = await eventually(lambda: _exit_code(proc), within=60,
                            what="intake to refuse to start")
    log = proc.log.read_text(encoding="utf-8")[start:]
    assert code != 0
    for says in ("XF_ENV='production'", "XF_TOKENS_FILE points into the source tree",
                 "tokens in clear", "XF_PII_KEY and XF_PSEUDONYM_KEY are the same key"):
        assert says in log, log[-2000:]
    assert "service_started" not in log


async def _exit_code(proc: ServiceProcess) -> int | None:
    assert proc.proc is not None
    return proc.proc.returncode


async def test_old_failure_counts_are_forgotten_and_live_ones_kept(stack) -> None:
    rule = Throttle(failures=5, window=timedelta(minutes=15), lockout=timedelta(minutes=15))
    now = datetime.now(UTC)
    names = {f"t.old.{uuid.uuid4().hex[:8]}": (now - timedelta(hours=1), None),
             f"t.recent.{uuid.uuid4().hex[:8]}": (now - timedelta(minutes=1), None),
             f"t.locked.{uuid.uuid4().hex[:8]}": (now - timedelta(hours=1),
                                                  now + timedelta(minutes=5))}
    pool = await asyncpg.create_pool(stack.dsns["console"], min_size=1, max_size=2)
    try:
        for name, (first, locked) in names.items():
            await pool.execute("INSERT INTO login_failures VALUES ($1, 1, $2, $3)",
                               name, first, locked)
        assert await forget_old_failures(pool, rule, now) >= 1
        left = {r["username"] for r in await pool.fetch(
            "SELECT username FROM login_failures WHERE username = ANY($1::text[])",
            list(names))}
    finally:
        await pool.close()
    assert left == {n for n in names if not n.startswith("t.old.")}
