"""Machine tokens: hashed entries with client names, the development file's form, reloading
the file without a restart, and the refusal of development secrets outside the local stack."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from services.intake.config import IntakeSettings
from shared.platform.access import DevelopmentSecret, credentials, development_secrets
from shared.platform.auth import TokenBook, TokenFile, TokensInvalid, parse_tokens, token_digest
from shared.platform.clock import SystemClock
from shared.platform.settings import REPO_ROOT
from shared.tools.testing.tokens import TOKENS_FILE

PROVINCIAL = "prov-platform-3f9a1c77d2e04b5c"
KEY_A = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
KEY_B = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="


def _hashed(*entries: tuple[str, str]) -> dict[str, object]:
    return {"tokens": [{"sha256": token_digest(tok), "client": client, "role": "channel",
                        "channel": "provincial_transfer"} for tok, client in entries]}


def test_a_hashed_entry_names_its_client_as_the_actor() -> None:
    tokens = parse_tokens(_hashed((PROVINCIAL, "provincial-platform")))
    who = tokens.find(PROVINCIAL)
    assert who is not None and who.actor_id == "client:provincial-platform"
    assert who.may_submit_on("provincial_transfer") and not who.may_submit_on("letter")
    assert tokens.find(PROVINCIAL + "x") is None and not tokens.plaintext


def test_the_development_file_still_works_and_is_marked_plaintext() -> None:
    book = TokenBook(TokenFile(TOKENS_FILE))
    who = book.authenticate("Bearer dev-unit-jizhou_bureau-000000001")
    assert who is not None and who.role == "unit" and who.unit == "jizhou_bureau"
    assert who.name == "dev-jizhou-bureau-system" and book.plaintext_machine_tokens


@pytest.mark.parametrize(("doc", "message"), [
    ({"tokens": [{"sha256": "ab", "client": "c", "role": "admin"}]}, "64-hex-digit"),
    ({"tokens": [{"sha256": "0" * 64, "role": "admin"}]}, "client"),
    ({"tokens": [{"sha256": "0" * 64, "client": "c", "role": "root"}]}, "unknown role"),
    ({"tokens": {"short": {"client": "c", "role": "admin"}}}, "at least 16"),
    ({"nothing": 1}, "'tokens'"),
])
def test_a_broken_tokens_file_is_refused_with_the_reason(doc: object, message: str) -> None:
    with pytest.raises(TokensInvalid, match=message):
        parse_tokens(doc)


def test_the_tokens_file_is_reloaded_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(yaml.safe_dump(_hashed((PROVINCIAL, "provincial-platform"))))
    errors: list[str] = []
    book = TokenBook(TokenFile(path, check_every=0.0, on_error=errors.append))
    assert book.authenticate(f"Bearer {PROVINCIAL}") is not None
    rotated = "prov-platform-new-5d1e7f0c9a2b"
    path.write_text(yaml.safe_dump(_hashed((rotated, "provincial-platform"))))
    os.utime(path, ns=(1, 1))  # a different stamp even within one mtime tick
    assert book.authenticate(f"Bearer {PROVINCIAL}") is None  # revoked, no restart
    assert book.authenticate(f"Bearer {rotated}") is not None
    path.write_text("tokens: [oops")  # a broken edit keeps the last good tokens
    os.utime(path, ns=(2, 2))
    assert book.authenticate(f"Bearer {rotated}") is not None
    assert errors and "tokens.yaml" in errors[0]


def _settings(tmp_path: Path, **over: object) -> IntakeSettings:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(yaml.safe_dump(_hashed((PROVINCIAL, "provincial-platform"))))
    values: dict[str, object] = {"env": "production", "tokens_file": tokens,
                                 "pii_key": KEY_A, "pseudonym_key": KEY_B, **over}
    return IntakeSettings(**values)  # type: ignore[arg-type]


def test_a_clean_production_configuration_starts(tmp_path: Path) -> None:
    assert credentials(_settings(tmp_path), SystemClock()) is not None


@pytest.mark.parametrize(("over", "says"), [
    ({"tokens_file": TOKENS_FILE}, "XF_TOKENS_FILE points into the source tree"),
    ({"pii_key": "r88alslcpRoRJWGDSPPedl+FHofCEdoWl5GZrZlp5ck="},
     "XF_PII_KEY is a published development key"),
    ({"pseudonym_key": KEY_A}, "XF_PII_KEY and XF_PSEUDONYM_KEY are the same key"),
])
def test_production_refuses_each_development_secret(tmp_path: Path, over: dict[str, object],
                                                    says: str) -> None:
    settings = _settings(tmp_path, **over)
    with pytest.raises(DevelopmentSecret, match=says):
        credentials(settings, SystemClock())


def test_production_refuses_tokens_in_clear_even_outside_the_tree(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text(TOKENS_FILE.read_text(encoding="utf-8"))
    settings = _settings(tmp_path, tokens_file=plain)
    with pytest.raises(DevelopmentSecret, match=r"tokens in clear.*xf tokens hash"):
        credentials(settings, SystemClock())


def test_the_local_stack_accepts_its_development_secrets(tmp_path: Path) -> None:
    settings = _settings(tmp_path, env="local", tokens_file=TOKENS_FILE, pseudonym_key=KEY_A)
    assert development_secrets(settings, TokenBook(TokenFile(TOKENS_FILE))) == []
    assert TOKENS_FILE.is_relative_to(REPO_ROOT)
