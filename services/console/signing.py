"""The console's signing keys: access tokens (EdDSA JWTs) and the key set that publishes them."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

ALGORITHM = "EdDSA"


class SigningKeysInvalid(ValueError):
    pass


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = OKPAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}


def parse_signing_keys(value: str) -> tuple[SigningKey, ...]:
    """``kid:base64seed[,kid:base64seed…]`` → keys, the signing one first."""
    keys: list[SigningKey] = []
    for i, item in enumerate(p.strip() for p in value.split(",") if p.strip()):
        kid, sep, seed_b64 = item.partition(":")
        if not sep or not kid:
            raise SigningKeysInvalid(f"XF_SIGNING_KEYS entry {i + 1} must be 'kid:base64seed'")
        try:
            seed = base64.b64decode(seed_b64, validate=True)
        except ValueError as exc:
            raise SigningKeysInvalid(f"XF_SIGNING_KEYS key {kid!r} is not base64") from exc
        if len(seed) != 32:
            raise SigningKeysInvalid(f"XF_SIGNING_KEYS key {kid!r} must be 32 bytes")
        keys.append(SigningKey(kid, Ed25519PrivateKey.from_private_bytes(seed)))
    if not keys:
        raise SigningKeysInvalid("XF_SIGNING_KEYS holds no key")
    if len({k.kid for k in keys}) != len(keys):
        raise SigningKeysInvalid("XF_SIGNING_KEYS has two keys with one kid")
    return tuple(keys)


def new_signing_key(kid: str) -> str:
    """A fresh ``kid:seed`` entry (the local stack generates one per checkout)."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    return f"{kid}:{base64.b64encode(seed).decode()}"


@dataclass(frozen=True)
class Issuer:
    issuer: str
    audience: str
    keys: tuple[SigningKey, ...]
    lifetime: timedelta

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self.keys]}

    def access_token(self, account: dict[str, Any], now: datetime) -> str:
        iat = int(now.timestamp())
        claims = {
            "iss": self.issuer, "aud": self.audience, "sub": str(account["account_id"]),
            "name": account["display_name"], "role": account["role"],
            "unit": account["unit"], "channels": list(account["channels"] or []),
            "iat": iat, "nbf": iat, "exp": iat + int(self.lifetime.total_seconds()),
            "jti": uuid.uuid4().hex,
        }
        signer = self.keys[0]
        return jwt.encode(claims, signer.private, algorithm=ALGORITHM,
                          headers={"kid": signer.kid})

    def discovery(self) -> dict[str, Any]:
        base = self.issuer.rstrip("/")
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{base}/.well-known/jwks.json",
            "token_endpoint": f"{base}/v1/auth/token",
            "grant_types_supported": ["password"],
            "token_endpoint_auth_methods_supported": ["none"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "claims_supported": ["iss", "sub", "aud", "name", "role", "unit", "channels",
                                 "iat", "nbf", "exp", "jti"],
        }
