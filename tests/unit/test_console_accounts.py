"""The console's pure parts: account validation, password hashing, the lockout rule, keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.console.accounts import (
    AccountInvalid,
    check_password,
    hash_password,
    validate_account,
)
from services.console.login import Throttle
from services.console.signing import SigningKeysInvalid, new_signing_key, parse_signing_keys
from shared.domain.vocab import default_vocabulary

VOCAB = default_vocabulary()
GOOD = {"username": "li.na", "display_name": "李娜", "role": "handler", "unit": "jizhou_bureau",
        "password": "a long enough passphrase"}


def _fields(body: Any) -> list[str]:
    with pytest.raises(AccountInvalid) as caught:
        validate_account(body, VOCAB)
    return [e.field for e in caught.value.errors]


def test_a_valid_handler() -> None:
    new = validate_account(GOOD, VOCAB)
    assert (new.username, new.role, new.unit, new.channels) == (
        "li.na", "handler", "jizhou_bureau", ())


def test_a_clerk_names_channels_by_code_or_label() -> None:
    new = validate_account({**GOOD, "role": "clerk", "unit": None,
                            "channels": ["letter", "来访", "letter"]}, VOCAB)
    assert new.channels == ("letter", "visit") and new.unit is None


@pytest.mark.parametrize(("change", "fields"), [
    ({"username": "Li Na"}, ["username"]),
    ({"display_name": " "}, ["display_name"]),
    ({"role": "root"}, ["role"]),
    ({"unit": None}, ["unit"]),
    ({"role": "staff"}, ["unit"]),
    ({"role": "clerk", "unit": None}, ["channels"]),
    ({"role": "clerk", "unit": None, "channels": ["fax"]}, ["channels[0]"]),
    ({"channels": ["letter"]}, ["channels"]),
    ({"password": "short"}, ["password"]),
    ({"password": "aaaaaaaaaaaaaaaa"}, ["password"]),
    ({"extra": 1}, ["extra"]),
])
def test_each_problem_is_named_by_its_field(change: dict[str, Any], fields: list[str]) -> None:
    assert _fields({**GOOD, **change}) == fields


def test_passwords_are_argon2id_and_an_unknown_account_never_matches() -> None:
    stored = hash_password("a long enough passphrase")
    assert stored.startswith("$argon2id$")
    assert check_password(stored, "a long enough passphrase")
    assert not check_password(stored, "a long enough passphrasE")
    assert not check_password(None, "not-a-password-of-anyone")  # the dummy hash's own
    assert not check_password("garbage", "x")


def test_lockout_after_repeated_failures_within_the_window() -> None:
    rule = Throttle(failures=3, window=timedelta(minutes=15), lockout=timedelta(minutes=15))
    t0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
    count, first, locked = rule.after_failure(0, None, t0)
    assert (count, locked) == (1, None)
    count, first, locked = rule.after_failure(count, first, t0 + timedelta(minutes=1))
    assert (count, locked) == (2, None)
    count, first, locked = rule.after_failure(count, first, t0 + timedelta(minutes=2))
    assert count == 3 and locked == t0 + timedelta(minutes=17)
    # Failures spread wider than the window start a new count.
    assert rule.after_failure(2, t0, t0 + timedelta(minutes=16))[:2] == (
        1, t0 + timedelta(minutes=16))


def test_signing_keys_parse_and_refuse_clearly() -> None:
    keys = parse_signing_keys(f"{new_signing_key('k2')}, {new_signing_key('k1')}")
    assert [k.kid for k in keys] == ["k2", "k1"]
    for bad, says in (("", "no key"), ("k1", "kid:base64seed"), ("k1:!!", "not base64"),
                      ("k1:QUJD", "32 bytes")):
        with pytest.raises(SigningKeysInvalid, match=says):
            parse_signing_keys(bad)
    one = new_signing_key("k1")
    with pytest.raises(SigningKeysInvalid, match="one kid"):
        parse_signing_keys(f"{one},{one}")
