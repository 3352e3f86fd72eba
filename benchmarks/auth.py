"""What signing in and verifying tokens cost.

1. Verification in process, per request: a person's access token (EdDSA signature, claims,
   cached keys) and a machine token (SHA-256 and a table scan), N times each.
2. Through the real stack: a request to intake with a person's token vs a machine token
   (median latency of the same 404 answer), so the difference is the verification.
3. Sign-in at the real console (Argon2id verify + token), sequential, median and p95.

Needs the local stack (``xf stack up``).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.console.signing import Issuer, SigningKey
from shared.platform.auth import TokenBook, TokenFile
from shared.platform.issuers import PersonTokens, TrustedIssuer
from shared.tools.stack.layout import Layout
from shared.tools.testing.clock import ManualClock
from shared.tools.testing.people import PASSWORD, add_account, sign_in
from shared.tools.testing.tokens import STAFF, TOKENS_FILE, bearer

N_LOCAL = 20_000
N_HTTP = 400
N_LOGIN = 30
NO_CASE = "00000000-0000-0000-0000-000000000000"


async def in_process() -> tuple[float, float]:
    now = datetime.now(UTC)
    issuer = Issuer("https://bench", "xinfang", (SigningKey("k1", Ed25519PrivateKey.generate()),),
                    timedelta(minutes=15))

    async def jwks(_: str) -> dict[str, Any]:
        return issuer.jwks()

    book = TokenBook(TokenFile(TOKENS_FILE),
                     PersonTokens([TrustedIssuer(issuer="https://bench", jwks_url="x")],
                                  ManualClock(now), fetch=jwks))
    person = "Bearer " + issuer.access_token(
        {"account_id": "a1", "display_name": "王芳", "role": "staff", "unit": None,
         "channels": []}, now)
    machine = f"Bearer {STAFF}"
    assert await book.resolve(person) and await book.resolve(machine)
    out = []
    for header in (person, machine):
        started = time.perf_counter()
        for _ in range(N_LOCAL):
            await book.resolve(header)
        out.append((time.perf_counter() - started) / N_LOCAL * 1e6)
    return out[0], out[1]


async def _median_latency(http: aiohttp.ClientSession, url: str, token: str) -> float:
    times = []
    for _ in range(N_HTTP):
        started = time.perf_counter()
        async with http.get(url, headers=bearer(token)) as r:
            assert r.status == 404, r.status
            await r.read()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


async def through_the_stack() -> None:
    layout = Layout()
    console = f"http://127.0.0.1:{layout.service_port('console')}"
    intake = f"http://127.0.0.1:{layout.service_port('intake')}/v1/cases/{NO_CASE}"
    async with aiohttp.ClientSession() as http:
        account = await add_account(http, console, "staff")
        status, body = await sign_in(http, console, account["username"])
        assert status == 200, body
        person = body["access_token"]
        await _median_latency(http, intake, person)  # warm both paths
        with_person = await _median_latency(http, intake, person)
        with_machine = await _median_latency(http, intake, STAFF)
        print(f"intake GET (404), median of {N_HTTP}: person token {with_person:.2f} ms, "
              f"machine token {with_machine:.2f} ms, difference "
              f"{with_person - with_machine:+.2f} ms")
        logins = []
        for _ in range(N_LOGIN):
            started = time.perf_counter()
            status, _ = await sign_in(http, console, account["username"], PASSWORD)
            assert status == 200
            logins.append(time.perf_counter() - started)
        logins.sort()
        print(f"sign-in at the console, {N_LOGIN} in a row: median "
              f"{statistics.median(logins) * 1e3:.0f} ms, p95 "
              f"{logins[int(len(logins) * 0.95) - 1] * 1e3:.0f} ms")


def main() -> None:
    person_us, machine_us = asyncio.run(in_process())
    print(f"verification in process, {N_LOCAL} each: person token (EdDSA JWT) "
          f"{person_us:.1f} µs, machine token {machine_us:.1f} µs")
    asyncio.run(through_the_stack())


if __name__ == "__main__":
    main()
