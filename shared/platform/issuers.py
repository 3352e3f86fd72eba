"""Persons' access tokens: JWTs signed by an identity provider the service trusts.

Each trusted issuer is configured by its ``iss`` and the URL of its JSON Web Key Set; the
console is one, a bureau's own unified identity provider (any OIDC provider) can be another.
Keys are cached and fetched again when a token names a key id not seen yet (a rotation) —
at most once per ``min_refresh_seconds`` per issuer, so forged key ids cannot make the
service hammer the provider — and every ``max_age_seconds`` anyway (a withdrawn key stops
working without a restart).

What is refused (``None``, which the web layer turns into a 401): an issuer not in the list,
``alg: none`` or any algorithm other than the one of the key that signed (so a public key can
never be used as an HMAC secret), a bad signature, a wrong audience, a token that has expired
or is not valid yet by the injected clock, and claims that do not describe a person.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import aiohttp
import jwt
from pydantic import BaseModel, ConfigDict

from shared.platform.auth import (
    PERSON_ROLES,
    SERVICE_ROLE_OF,
    UNIT_ROLES,
    PersonRole,
    Principal,
)
from shared.platform.clock import Clock
from shared.platform.logging import get_logger

log = get_logger(__name__)
# Asymmetric algorithms only: a shared-secret (HS*) token could be minted by anyone holding
# the "secret", which for a JWKS is public.
ASYMMETRIC = frozenset({"EdDSA", "ES256", "ES384", "RS256", "PS256"})
CLOCK_SKEW_SECONDS = 30


class TrustedIssuer(BaseModel):
    """One identity provider (``XF_TRUSTED_ISSUERS`` is a JSON list of these)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    issuer: str
    jwks_url: str
    audience: str = "xinfang"


JWKS_TIMEOUT = aiohttp.ClientTimeout(total=3.0)


async def fetch_jwks(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(timeout=JWKS_TIMEOUT) as http:
        async with http.get(url) as resp:
            resp.raise_for_status()
            doc = await resp.json(content_type=None)
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise ValueError(f"{url} is not a JSON Web Key Set")
    return doc


@dataclass
class _KeyCache:
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _parse_keys(doc: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    out: dict[str, jwt.PyJWK] = {}
    for item in doc.get("keys", []):
        if not isinstance(item, dict) or not item.get("kid") or item.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(item)
        except jwt.PyJWKError as exc:
            log.warning("jwks_key_skipped", kid=item.get("kid"), error=str(exc))
            continue
        if key.algorithm_name in ASYMMETRIC:
            out[str(item["kid"])] = key
    return out


class PersonTokens:
    """Verifies persons' access tokens against the trusted issuers."""

    def __init__(self, issuers: Sequence[TrustedIssuer], clock: Clock, *,
                 fetch: Callable[[str], Any] = fetch_jwks, min_refresh_seconds: float = 10.0,
                 max_age_seconds: float = 300.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._issuers = {i.issuer: i for i in issuers}
        self._clock = clock
        self._fetch = fetch
        self._min_refresh = min_refresh_seconds
        self._max_age = max_age_seconds
        self._monotonic = monotonic
        self._caches: dict[str, _KeyCache] = {i.issuer: _KeyCache() for i in issuers}

    async def __call__(self, token: str) -> Principal | None:
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        issuer = self._issuers.get(str(claims.get("iss")))
        kid, alg = header.get("kid"), header.get("alg")
        if issuer is None or not isinstance(kid, str) or alg not in ASYMMETRIC:
            return None
        key = await self._key(issuer, kid)
        if key is None or key.algorithm_name != alg:
            return None
        try:
            verified = jwt.decode(
                token, key, algorithms=[key.algorithm_name], audience=issuer.audience,
                issuer=issuer.issuer,
                # Times are checked below against the service's clock, not the library's.
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                         "require": ["iss", "sub", "aud", "exp", "iat"]})
        except jwt.PyJWTError:
            return None
        if not self._in_time(verified):
            return None
        return person_from_claims(verified, issuer.issuer)

    def _in_time(self, claims: dict[str, Any]) -> bool:
        now = self._clock.now().timestamp()
        try:
            exp, iat = float(claims["exp"]), float(claims["iat"])
            nbf = float(claims.get("nbf", iat))
        except (TypeError, ValueError):
            return False
        return now < exp + CLOCK_SKEW_SECONDS and now + CLOCK_SKEW_SECONDS >= max(nbf, iat)

    async def _key(self, issuer: TrustedIssuer, kid: str) -> jwt.PyJWK | None:
        cache = self._caches[issuer.issuer]
        now = self._monotonic()
        stale = cache.fetched_at is None or now - cache.fetched_at > self._max_age
        if kid in cache.keys and not stale:
            return cache.keys[kid]
        async with cache.lock:
            now = self._monotonic()
            recently = cache.fetched_at is not None and now - cache.fetched_at < self._min_refresh
            if not recently:
                try:
                    cache.keys = _parse_keys(await self._fetch(issuer.jwks_url))
                    cache.fetched_at = now
                except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    # Keep the keys we have: a provider's short outage must not log everyone
                    # out; the next try comes after the minimum interval.
                    log.warning("jwks_fetch_failed", issuer=issuer.issuer, error=str(exc))
                    cache.fetched_at = now
            return cache.keys.get(kid)


def person_from_claims(claims: dict[str, Any], issuer: str) -> Principal | None:
    """The person a verified token describes, or None when its claims do not make one."""
    role, sub, name = claims.get("role"), claims.get("sub"), claims.get("name")
    unit, channels = claims.get("unit"), claims.get("channels") or []
    if role not in PERSON_ROLES or not isinstance(sub, str) or not sub:
        return None
    if not isinstance(name, str) or not name:
        return None
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        return None
    if role in UNIT_ROLES and not (isinstance(unit, str) and unit):
        return None
    return Principal(
        role=SERVICE_ROLE_OF[role], name=name,
        unit=unit if role in UNIT_ROLES else None,
        channels=tuple(channels) if role == "clerk" else (),
        account_id=sub, person_role=cast(PersonRole, role), issuer=issuer,
    )
