"""Persons' access tokens: what a service accepts from a trusted issuer and what it refuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.console.signing import Issuer, SigningKey
from shared.platform.auth import Principal, TokenBook, parse_tokens
from shared.platform.issuers import PersonTokens, TrustedIssuer
from shared.tools.testing.clock import ManualClock

ISS = "https://console.example"
JWKS_URL = f"{ISS}/.well-known/jwks.json"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HANDLER = {"account_id": "0b7c-handler", "display_name": "李娜", "role": "handler",
           "unit": "jizhou_bureau", "channels": []}


def _issuer(*kids: str) -> Issuer:
    keys = tuple(SigningKey(kid, Ed25519PrivateKey.generate()) for kid in kids or ("k1",))
    return Issuer(ISS, "xinfang", keys, timedelta(minutes=15))


class Provider:
    """A JWKS endpoint in memory: counts fetches, can change its keys (rotation)."""

    def __init__(self, issuer: Issuer) -> None:
        self.issuer = issuer
        self.fetches = 0

    async def __call__(self, url: str) -> dict[str, Any]:
        assert url == JWKS_URL
        self.fetches += 1
        return self.issuer.jwks()


def _verifier(provider: Provider, clock: ManualClock, **kw: Any) -> PersonTokens:
    return PersonTokens([TrustedIssuer(issuer=ISS, jwks_url=JWKS_URL)], clock,
                        fetch=provider, **kw)


def _forge(claims: dict[str, Any], key: Any, alg: str, kid: str = "k1") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def _claims(**over: Any) -> dict[str, Any]:
    iat = int(NOW.timestamp())
    base = {"iss": ISS, "aud": "xinfang", "sub": "0b7c-handler", "name": "李娜",
            "role": "handler", "unit": "jizhou_bureau", "channels": [], "iat": iat,
            "exp": iat + 900, "jti": "j1"}
    return {**base, **over}


async def test_a_console_token_becomes_the_person_with_their_service_role() -> None:
    issuer = _issuer()
    who = await _verifier(Provider(issuer), ManualClock(NOW))(issuer.access_token(HANDLER, NOW))
    assert who == Principal(role="unit", name="李娜", unit="jizhou_bureau",
                            account_id="0b7c-handler", person_role="handler", issuer=ISS)
    assert who.actor_id == "account:0b7c-handler" and who.may_act_for("jizhou_bureau")


@pytest.mark.parametrize(("role", "extra", "service_role"), [
    ("clerk", {"channels": ["letter", "visit"]}, "clerk"),
    ("unit_head", {"unit": "jian_bureau"}, "unit"),
    ("leader", {}, "leader"),
    ("staff", {}, "staff"),
    ("admin", {}, "admin"),
])
async def test_each_person_role_maps_onto_what_the_services_allow(
        role: str, extra: dict[str, Any], service_role: str) -> None:
    issuer = _issuer()
    account = {"account_id": "a1", "display_name": "某人", "role": role, "unit": None,
               "channels": [], **extra}
    who = await _verifier(Provider(issuer), ManualClock(NOW))(issuer.access_token(account, NOW))
    assert who is not None and who.role == service_role and who.person_role == role
    if role == "clerk":
        assert who.may_submit_on("letter") and not who.may_submit_on("hotline_12345")


async def test_alg_none_is_refused() -> None:
    token = jwt.encode(_claims(), "", algorithm="none", headers={"kid": "k1"})
    assert await _verifier(Provider(_issuer()), ManualClock(NOW))(token) is None


async def test_hmac_signed_with_the_public_key_is_refused() -> None:
    """The classic confusion: HS256 keyed with the issuer's (public) key bytes."""
    issuer = _issuer()
    public = issuer.jwks()["keys"][0]
    secret = base64.urlsafe_b64decode(public["x"] + "==")
    header = base64.urlsafe_b64encode(json.dumps(
        {"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(_claims()).encode()).rstrip(b"=")
    for key in (secret, json.dumps(public).encode()):
        sig = base64.urlsafe_b64encode(
            hmac.new(key, header + b"." + body, hashlib.sha256).digest()).rstrip(b"=")
        token = b".".join((header, body, sig)).decode()
        assert await _verifier(Provider(issuer), ManualClock(NOW))(token) is None


async def test_a_signature_by_another_key_with_a_known_kid_is_refused() -> None:
    token = _forge(_claims(), Ed25519PrivateKey.generate(), "EdDSA")
    assert await _verifier(Provider(_issuer()), ManualClock(NOW))(token) is None


async def test_expired_is_refused_and_just_valid_is_accepted() -> None:
    issuer = _issuer()
    token = issuer.access_token(HANDLER, NOW)
    clock = ManualClock(NOW + timedelta(minutes=14))
    verify = _verifier(Provider(issuer), clock)
    assert await verify(token) is not None
    clock.advance(timedelta(minutes=2))  # 16 min: past exp and the 30 s allowance
    assert await verify(token) is None


async def test_not_yet_valid_is_refused() -> None:
    issuer = _issuer()
    token = issuer.access_token(HANDLER, NOW + timedelta(minutes=5))
    assert await _verifier(Provider(issuer), ManualClock(NOW))(token) is None


async def test_wrong_audience_is_refused() -> None:
    issuer = Issuer(ISS, "another-system", (SigningKey("k1", Ed25519PrivateKey.generate()),),
                    timedelta(minutes=15))
    token = issuer.access_token(HANDLER, NOW)
    assert await _verifier(Provider(issuer), ManualClock(NOW))(token) is None


async def test_unknown_issuer_is_refused_without_fetching_anything() -> None:
    rogue = Issuer("https://rogue.example", "xinfang",
                   (SigningKey("k1", Ed25519PrivateKey.generate()),), timedelta(minutes=15))
    provider = Provider(_issuer())
    assert await _verifier(provider, ManualClock(NOW))(rogue.access_token(HANDLER, NOW)) is None
    assert provider.fetches == 0


@pytest.mark.parametrize("bad", [
    {"role": "superuser"}, {"role": "handler", "unit": None}, {"name": ""},
    {"channels": "letter"}, {"sub": None},
])
async def test_claims_that_do_not_describe_a_person_are_refused(bad: dict[str, Any]) -> None:
    key = Ed25519PrivateKey.generate()
    issuer = Issuer(ISS, "xinfang", (SigningKey("k1", key),), timedelta(minutes=15))
    token = _forge({k: v for k, v in _claims(**bad).items() if v is not None}, key, "EdDSA")
    assert await _verifier(Provider(issuer), ManualClock(NOW))(token) is None


async def test_a_rotated_key_is_fetched_once_and_forged_kids_do_not_hammer_the_issuer() -> None:
    old = _issuer("k1")
    provider = Provider(old)
    now = [0.0]
    verify = _verifier(provider, ManualClock(NOW), monotonic=lambda: now[0])
    assert await verify(old.access_token(HANDLER, NOW)) is not None
    assert await verify(old.access_token(HANDLER, NOW)) is not None
    assert provider.fetches == 1  # cached
    new = _issuer("k2")
    provider.issuer = new
    now[0] = 11.0
    assert await verify(new.access_token(HANDLER, NOW)) is not None  # no restart needed
    assert provider.fetches == 2
    forged = _forge(_claims(), Ed25519PrivateKey.generate(), "EdDSA", kid="k-forged")
    for _ in range(5):
        assert await verify(forged) is None
    assert provider.fetches == 2  # within the minimum interval: no new fetch


async def test_the_token_book_sends_jwts_to_the_verifier_and_the_rest_to_machine_tokens(
        ) -> None:
    issuer = _issuer()
    machines = parse_tokens({"tokens": {"letter-gateway-token-0001": {
        "client": "letter-gateway", "role": "channel", "channel": "letter"}}})
    book = TokenBook(machines, _verifier(Provider(issuer), ManualClock(NOW)))
    person = await book.resolve(f"Bearer {issuer.access_token(HANDLER, NOW)}")
    machine = await book.resolve("Bearer letter-gateway-token-0001")
    assert person is not None and person.name == "李娜"
    assert machine is not None and machine.actor_id == "client:letter-gateway"
    assert await book.resolve("Bearer nope.nope.nope") is None
    assert await book.resolve("Basic abc") is None
