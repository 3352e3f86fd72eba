"""Accounts: who may sign in, with which role, for which unit or channels.

Passwords are hashed with Argon2id (argon2-cffi's defaults, the low-memory profile of RFC 9106);
a hash made with weaker parameters is upgraded at the next successful login.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.domain.vocab import Vocabulary
from shared.platform.auth import PERSON_ROLES, UNIT_ROLES

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
UNIT = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
HASHER = PasswordHasher()
# Verified against when the username is unknown or disabled, so that such a login costs as
# long as a wrong password (nothing to learn from the answer's timing).
_DUMMY_HASH = HASHER.hash("not-a-password-of-anyone")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class AccountInvalid(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class NewAccount:
    username: str
    display_name: str
    role: str
    unit: str | None
    channels: tuple[str, ...]
    password: str


def password_errors(password: object, field: str = "password") -> list[FieldError]:
    if not isinstance(password, str):
        return [FieldError(field, "password is required (a string)")]
    if len(password) < MIN_PASSWORD:
        return [FieldError(field, f"password must be at least {MIN_PASSWORD} characters")]
    if len(password) > MAX_PASSWORD:
        return [FieldError(field, f"password must be at most {MAX_PASSWORD} characters")]
    if len(set(password)) < 4:
        return [FieldError(field, "password must use at least 4 different characters")]
    return []


def validate_account(body: Any, vocab: Vocabulary) -> NewAccount:
    """A new account's JSON body; every problem named by its field."""
    if not isinstance(body, dict):
        raise AccountInvalid([FieldError("body", "the body must be a JSON object")])
    known = {"username", "display_name", "role", "unit", "channels", "password"}
    errors = [FieldError(k, f"unknown field {k!r}") for k in body if k not in known]
    username = body.get("username")
    if not isinstance(username, str) or not USERNAME.match(username):
        errors.append(FieldError("username", "2–32 lowercase letters, digits, '.', '_' or '-', "
                                 "starting with a letter or digit"))
    name = body.get("display_name")
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        errors.append(FieldError("display_name", "the person's name, 1–64 characters"))
    role = body.get("role")
    if role not in PERSON_ROLES:
        errors.append(FieldError("role", f"one of {', '.join(PERSON_ROLES)}"))
    unit = body.get("unit")
    if role in UNIT_ROLES:
        if not isinstance(unit, str) or not UNIT.match(unit):
            errors.append(FieldError("unit", f"a {role} needs the code of their unit "
                                     "(e.g. jizhou_bureau)"))
    elif unit is not None and role in PERSON_ROLES:
        errors.append(FieldError("unit", "only a handler or a unit head belongs to a unit"))
    channels = body.get("channels")
    resolved: list[str] = []
    if role == "clerk":
        if not isinstance(channels, list) or not channels:
            errors.append(FieldError("channels", "a clerk needs the channels they register"))
        else:
            for i, ch in enumerate(channels):
                code = vocab.channels.resolve(ch) if isinstance(ch, str) else None
                if code is None:
                    errors.append(FieldError(f"channels[{i}]", f"unknown channel {ch!r}"))
                elif code not in resolved:
                    resolved.append(code)
    elif channels:
        errors.append(FieldError("channels", "only a clerk registers cases on channels"))
    errors.extend(password_errors(body.get("password")))
    if errors:
        raise AccountInvalid(errors)
    return NewAccount(str(username), str(name).strip(), str(role),
                      unit if role in UNIT_ROLES else None, tuple(resolved),
                      str(body["password"]))


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """Runs Argon2 whether or not the account exists (see ``_DUMMY_HASH``)."""
    try:
        return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)


def render(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "account_id": str(row["account_id"]), "username": row["username"],
        "display_name": row["display_name"], "role": row["role"], "unit": row["unit"],
        "channels": list(row["channels"]), "disabled": row["disabled"],
        "created_at": row["created_at"].isoformat(), "created_by": row["created_by"],
    }


async def insert(conn: asyncpg.Connection, new: NewAccount, password_hash: str,
                 created_by: str) -> asyncpg.Record | None:
    """The new account, or None when the username is taken."""
    return await conn.fetchrow(
        """INSERT INTO accounts (account_id, username, display_name, role, unit, channels,
                                 password_hash, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (username) DO NOTHING RETURNING *""",
        uuid.uuid4(), new.username, new.display_name, new.role, new.unit,
        list(new.channels), password_hash, created_by)


async def by_username(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM accounts WHERE username = $1", username)


async def set_disabled(conn: asyncpg.Connection, username: str, disabled: bool, by: str
                       ) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "UPDATE accounts SET disabled = $2, updated_at = now(), updated_by = $3 "
        "WHERE username = $1 RETURNING *", username, disabled, by)


async def set_password(conn: asyncpg.Connection, username: str, password_hash: str,
                       by: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "UPDATE accounts SET password_hash = $2, updated_at = now(), updated_by = $3 "
        "WHERE username = $1 RETURNING *", username, password_hash, by)
