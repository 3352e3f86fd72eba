"""Bearer tokens, each bound to one role (docs/domain.md §6).

Roles: ``channel`` (submit cases on one channel), ``unit`` (act on cases assigned to one unit),
``staff`` (read cases with personal data; every read audited), ``admin`` (everything).
The local stack reads ``deploy/local/tokens.yaml``; production points ``XF_TOKENS_FILE`` at a
secrets file. Tokens are compared by their SHA-256 so a timing side channel reveals nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

RoleKind = Literal["channel", "unit", "staff", "admin"]


@dataclass(frozen=True)
class Principal:
    role: RoleKind
    channel: str | None = None
    unit: str | None = None
    name: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in ("staff", "admin")

    def may_submit_on(self, channel: str) -> bool:
        return self.role == "admin" or (self.role == "channel" and self.channel == channel)

    def may_act_for(self, unit: str | None) -> bool:
        return self.is_staff or (self.role == "unit" and unit is not None and self.unit == unit)

    @property
    def actor(self) -> str:
        """What the timeline shows as the actor: a unit, a channel, or a role."""
        return self.unit or self.channel or self.role


class TokensInvalid(ValueError):
    pass


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class TokenBook:
    entries: tuple[tuple[bytes, Principal], ...]

    def authenticate(self, header: str | None) -> Principal | None:
        if not header or not header.startswith("Bearer "):
            return None
        digest = _digest(header[len("Bearer "):].strip())
        found = None
        for known, principal in self.entries:
            if hmac.compare_digest(known, digest):
                found = principal
        return found

    def authenticate_token(self, token: str | None) -> Principal | None:
        return self.authenticate(f"Bearer {token}" if token else None)


def parse_tokens(doc: object) -> TokenBook:
    if not isinstance(doc, dict) or not isinstance(doc.get("tokens"), dict):
        raise TokensInvalid("tokens file must be a mapping with a 'tokens' mapping")
    entries = []
    for token, spec in doc["tokens"].items():
        if not isinstance(spec, dict):
            raise TokensInvalid(f"token entry {spec!r} must be a mapping")
        role = spec.get("role")
        if role not in ("channel", "unit", "staff", "admin"):
            raise TokensInvalid(f"unknown role {role!r}")
        if role == "channel" and not spec.get("channel"):
            raise TokensInvalid("a channel token needs 'channel'")
        if role == "unit" and not spec.get("unit"):
            raise TokensInvalid("a unit token needs 'unit'")
        if len(str(token)) < 16:
            raise TokensInvalid("tokens must be at least 16 characters")
        entries.append((_digest(str(token)), Principal(
            role=role, channel=spec.get("channel"), unit=spec.get("unit"),
            name=str(spec.get("name", role)),
        )))
    return TokenBook(tuple(entries))


def load_tokens(path: Path) -> TokenBook:
    return parse_tokens(yaml.safe_load(path.read_text(encoding="utf-8")))
