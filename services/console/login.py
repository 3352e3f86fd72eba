"""Signing in with a username and password, with a lockout after repeated failures.

The answer never tells an unknown username from a wrong password or a disabled account (all
are "invalid", after the same Argon2 work). Failures are counted per username in the database
(so every console instance sees them): ``failures`` within ``window`` lock the username for
``lockout``, during which even the right password is answered "locked" (429). A success
clears the count.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from services.console import accounts
from services.console.signing import Issuer
from shared.platform.clock import Clock


@dataclass(frozen=True)
class Throttle:
    failures: int
    window: timedelta
    lockout: timedelta

    def after_failure(self, count: int, first_at: datetime | None, now: datetime
                      ) -> tuple[int, datetime, datetime | None]:
        """(failures, first failure of the window, locked until) after one more failure."""
        if first_at is None or now - first_at > self.window:
            count, first_at = 0, now
        count += 1
        return count, first_at, (now + self.lockout if count >= self.failures else None)


async def forget_old_failures(pool: asyncpg.Pool, throttle: Throttle, now: datetime) -> int:
    """Drop counts whose window and lockout are both over (unknown usernames tried once would
    otherwise pile up); how many went."""
    status = await pool.execute(
        "DELETE FROM login_failures WHERE (first_failure_at IS NULL OR first_failure_at < $1) "
        "AND (locked_until IS NULL OR locked_until < $2)", now - throttle.window, now)
    return int(status.split()[-1])


@dataclass(frozen=True)
class Granted:
    token: str
    account: asyncpg.Record


@dataclass(frozen=True)
class Refused:
    locked_for: timedelta | None = None  # None: invalid credentials (401); else 429


async def sign_in(pool: asyncpg.Pool, issuer: Issuer, throttle: Throttle, clock: Clock,
                  username: str, password: str) -> Granted | Refused:
    username = username.strip().lower()
    loop = asyncio.get_running_loop()
    async with pool.acquire() as conn, conn.transaction():
        # One attempt at a time per username: the row lock serialises them, so a burst of
        # guesses cannot slip past the count.
        await conn.execute("INSERT INTO login_failures (username) VALUES ($1) "
                           "ON CONFLICT (username) DO NOTHING", username)
        state = await conn.fetchrow("SELECT * FROM login_failures WHERE username = $1 "
                                    "FOR UPDATE", username)
        assert state is not None  # inserted just above, locked until the transaction ends
        now = clock.now()
        if state["locked_until"] is not None and state["locked_until"] > now:
            return Refused(locked_for=state["locked_until"] - now)
        account = await accounts.by_username(conn, username)
        stored = (account["password_hash"]
                  if account is not None and not account["disabled"] else None)
        # Argon2 takes tens of milliseconds of CPU: off the event loop (it releases the GIL).
        ok = await loop.run_in_executor(None, accounts.check_password, stored, password)
        if ok and account is not None:
            await conn.execute("DELETE FROM login_failures WHERE username = $1", username)
            if accounts.needs_rehash(account["password_hash"]):
                new_hash = await loop.run_in_executor(None, accounts.hash_password, password)
                await conn.execute("UPDATE accounts SET password_hash = $2 WHERE username = $1",
                                   username, new_hash)
            await conn.execute("UPDATE accounts SET last_login_at = $2 WHERE username = $1",
                               username, now)
            return Granted(issuer.access_token(dict(account), now), account)
        count, first_at, locked = throttle.after_failure(
            state["failures"], state["first_failure_at"], now)
        await conn.execute(
            "UPDATE login_failures SET failures = $2, first_failure_at = $3, locked_until = $4 "
            "WHERE username = $1", username, count, first_at, locked)
        return Refused(locked_for=locked - now if locked is not None else None)
