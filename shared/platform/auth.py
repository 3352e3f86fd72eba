"""Who is calling: a person signed in through a trusted identity provider, or a machine client.

A person carries a signed access token (a JWT from the console or a bureau's own identity
provider; verified in :mod:`shared.platform.issuers`). Integrations (the provincial platform,
the 12345 system) keep long-lived bearer tokens from a secrets file, each with a client name
that is recorded as the actor. Both become a :class:`Principal`.

The services check a principal's *service role*: ``channel`` (a machine that submits on one
channel), ``clerk`` (a person who registers cases on the channels of their account), ``unit``
(a handling unit: a unit's machine token, a handler or a unit head), ``leader``, ``staff``
and ``admin``. A person's own role (``handler``, ``unit_head`` …) stays in ``person_role``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

ServiceRole = Literal["channel", "clerk", "unit", "leader", "staff", "admin"]
PersonRole = Literal["clerk", "handler", "unit_head", "leader", "staff", "admin"]
PERSON_ROLES: tuple[str, ...] = get_args(PersonRole)
MACHINE_ROLES = ("channel", "unit", "staff", "admin")
# A person's role → what the services let that role do.
SERVICE_ROLE_OF: dict[str, ServiceRole] = {
    "clerk": "clerk", "handler": "unit", "unit_head": "unit", "leader": "leader",
    "staff": "staff", "admin": "admin",
}
UNIT_ROLES = frozenset({"handler", "unit_head"})
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class Principal:
    role: ServiceRole
    # A person's display name, or a machine client's name.
    name: str = ""
    unit: str | None = None
    channels: tuple[str, ...] = ()
    # The person's account (the token's ``sub``); None for a machine client.
    account_id: str | None = None
    person_role: PersonRole | None = None
    issuer: str | None = None

    def to_doc(self) -> dict[str, object]:
        """JSON-able form (an import remembers who submitted it, to resume after a restart)."""
        return {"role": self.role, "name": self.name, "unit": self.unit,
                "channels": list(self.channels), "account_id": self.account_id,
                "person_role": self.person_role, "issuer": self.issuer}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Principal:
        channels = doc.get("channels") or ([doc["channel"]] if doc.get("channel") else [])
        return cls(role=doc["role"], name=doc.get("name") or "", unit=doc.get("unit"),
                   channels=tuple(channels), account_id=doc.get("account_id"),
                   person_role=doc.get("person_role"), issuer=doc.get("issuer"))

    @property
    def is_person(self) -> bool:
        return self.account_id is not None

    @property
    def channel(self) -> str | None:
        """The one channel of a machine channel token."""
        return self.channels[0] if self.role == "channel" and self.channels else None

    @property
    def is_staff(self) -> bool:
        return self.role in ("staff", "admin")

    def may_submit_on(self, channel: str) -> bool:
        return self.role == "admin" or (self.role in ("channel", "clerk")
                                        and channel in self.channels)

    def may_act_for(self, unit: str | None) -> bool:
        return self.is_staff or (self.role == "unit" and unit is not None and self.unit == unit)

    @property
    def actor_id(self) -> str:
        """Stable identity of the actor: ``account:<id>`` for a person, ``client:<name>``."""
        return f"account:{self.account_id}" if self.is_person else f"client:{self.name}"

    @property
    def actor(self) -> str:
        """The public face of an action: a unit, a channel, or a role — never a person."""
        return self.unit or self.channel or self.role

    def as_actor(self) -> Actor:
        return Actor(self.actor_id, self.name or self.actor, self.actor)


@dataclass(frozen=True)
class Actor:
    """Who did something, as records keep it: a stable id (``account:<id>`` for a person,
    ``client:<name>`` for a machine, ``service:<name>`` for the pipeline itself), the name to
    show, and the public face of the action (a unit, a channel or a role, never a person)."""

    id: str
    name: str
    face: str

    @property
    def signature(self) -> str:
        """One text for tables with a single actor column: ``王芳 <account:…>``."""
        return f"{self.name} <{self.id}>"


class TokensInvalid(ValueError):
    pass


def token_digest(token: str) -> str:
    """How a machine token is stored: SHA-256 is enough for long random tokens
    (nothing to guess), and cheap enough to run on every request."""
    return hashlib.sha256(token.encode()).hexdigest()


def _machine(spec: object, where: str) -> Principal:
    if not isinstance(spec, dict):
        raise TokensInvalid(f"{where}: a token entry must be a mapping")
    role = spec.get("role")
    if role not in MACHINE_ROLES:
        raise TokensInvalid(f"{where}: unknown role {role!r} (one of {', '.join(MACHINE_ROLES)})")
    if role == "channel" and not spec.get("channel"):
        raise TokensInvalid(f"{where}: a channel token needs 'channel'")
    if role == "unit" and not spec.get("unit"):
        raise TokensInvalid(f"{where}: a unit token needs 'unit'")
    client = spec.get("client") or spec.get("name")
    if not client:
        raise TokensInvalid(f"{where}: every token needs a 'client' name (the actor)")
    channel = spec.get("channel")
    return Principal(role=role, name=str(client), unit=spec.get("unit"),
                     channels=(str(channel),) if channel else ())


@dataclass(frozen=True)
class MachineTokens:
    """Machine tokens by SHA-256 digest; ``plaintext`` says some entries came in clear
    (the development file's form, refused outside the local stack)."""

    entries: tuple[tuple[bytes, Principal], ...]
    plaintext: bool = False

    def find(self, token: str) -> Principal | None:
        digest = bytes.fromhex(token_digest(token))
        found = None
        for known, principal in self.entries:
            if hmac.compare_digest(known, digest):
                found = principal
        return found


def parse_tokens(doc: object) -> MachineTokens:
    """Two forms: ``tokens: [{sha256, client, role, …}]`` (hashed, for real deployments) and the
    development file's ``tokens: {<token>: {role, …}}``."""
    if not isinstance(doc, dict) or "tokens" not in doc:
        raise TokensInvalid("tokens file must be a mapping with a 'tokens' entry")
    entries: list[tuple[bytes, Principal]] = []
    raw = doc["tokens"]
    if isinstance(raw, list):
        for i, spec in enumerate(raw):
            where = f"tokens[{i}]"
            digest = spec.get("sha256") if isinstance(spec, dict) else None
            if not isinstance(digest, str) or len(digest) != 64:
                raise TokensInvalid(f"{where}: 'sha256' must be the token's 64-hex-digit digest")
            try:
                raw_digest = bytes.fromhex(digest)
            except ValueError as exc:
                raise TokensInvalid(f"{where}: 'sha256' is not hexadecimal") from exc
            entries.append((raw_digest, _machine(spec, where)))
        return MachineTokens(tuple(entries))
    if not isinstance(raw, dict):
        raise TokensInvalid("'tokens' must be a list of hashed entries or a mapping")
    for token, spec in raw.items():
        if len(str(token)) < MIN_TOKEN_LENGTH:
            raise TokensInvalid(f"tokens must be at least {MIN_TOKEN_LENGTH} characters")
        entries.append((bytes.fromhex(token_digest(str(token))),
                        _machine(spec, f"token of {spec.get('client', '?')}"
                                 if isinstance(spec, dict) else "token")))
    return MachineTokens(tuple(entries), plaintext=bool(entries))


class TokenFile:
    """The machine tokens of a secrets file, re-read when the file changes (checked at most
    once a second), so a token is added or revoked without a restart. A broken new version is
    ignored, keeping the last good one; a broken file at start-up stops the service."""

    def __init__(self, path: Path, *, check_every: float = 1.0,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.path = path
        self._check_every = check_every
        self._on_error = on_error
        self._stamp = self._stat()
        self.tokens = parse_tokens(yaml.safe_load(path.read_text(encoding="utf-8")))
        self._checked = time.monotonic()

    def _stat(self) -> tuple[int, int, int]:
        st = self.path.stat()
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> MachineTokens:
        now = time.monotonic()
        if now - self._checked >= self._check_every:
            self._checked = now
            self._reload_if_changed()
        return self.tokens

    def _reload_if_changed(self) -> None:
        try:
            stamp = self._stat()
            if stamp == self._stamp:
                return
            tokens = parse_tokens(yaml.safe_load(self.path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError, TokensInvalid) as exc:
            if self._on_error is not None:
                self._on_error(f"{self.path}: {exc}")
            return
        self.tokens, self._stamp = tokens, stamp


PersonVerifier = Callable[[str], Awaitable["Principal | None"]]


def _bearer(header: str | None) -> str | None:
    if not header or not header.startswith("Bearer "):
        return None
    return header[len("Bearer "):].strip() or None


@dataclass
class TokenBook:
    """Every credential a service accepts: machine tokens, and persons' access tokens when
    the service trusts an issuer (``people``)."""

    machines: TokenFile | MachineTokens
    people: PersonVerifier | None = None

    def _machine_tokens(self) -> MachineTokens:
        m = self.machines
        return m.current() if isinstance(m, TokenFile) else m

    @property
    def plaintext_machine_tokens(self) -> bool:
        return self._machine_tokens().plaintext

    def authenticate_token(self, token: str | None) -> Principal | None:
        """A bare machine token (Open311's ``api_key``)."""
        return self._machine_tokens().find(token) if token else None

    def authenticate(self, header: str | None) -> Principal | None:
        """A machine token (synchronous; persons need :meth:`resolve`)."""
        token = _bearer(header)
        return self._machine_tokens().find(token) if token else None

    async def resolve(self, header: str | None) -> Principal | None:
        token = _bearer(header)
        if token is None:
            return None
        if self.people is not None and token.count(".") == 2:
            person = await self.people(token)
            if person is not None:
                return person
        return self._machine_tokens().find(token)


def load_tokens(path: Path) -> TokenBook:
    return TokenBook(TokenFile(path))
