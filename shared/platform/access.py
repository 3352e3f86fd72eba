"""Building a service's credentials at start-up, and refusing development secrets outside the
local stack.

Outside ``XF_ENV=local`` a service does not start on: a tokens file inside the source tree or
with tokens in clear (production files hold SHA-256 digests only: ``xf tokens hash``), a key
that has been published (the old docker-compose defaults), or one key used both to encrypt
personal data and to make pseudonyms (one leak would then expose both).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from shared.platform.auth import TokenBook, TokenFile
from shared.platform.clock import Clock
from shared.platform.issuers import PersonTokens
from shared.platform.logging import get_logger
from shared.platform.settings import REPO_ROOT, ServiceSettings

log = get_logger(__name__)
# Keys that are public: docker-compose.yml's former defaults, in the repository's history.
PUBLISHED_KEYS = (
    "r88alslcpRoRJWGDSPPedl+FHofCEdoWl5GZrZlp5ck=",
    "EBSTkZRswIQvqntmCcYEtznAVx74pHtL6YmyFY3YG/U=",
)


class DevelopmentSecret(SystemExit):
    """A setting that is fine on a developer's machine and must not reach a deployment; the
    process ends with the message (what to set), not a traceback."""


def credentials(settings: ServiceSettings, clock: Clock) -> TokenBook:
    """Machine tokens from the secrets file (re-read when it changes) and persons' tokens from
    the trusted issuers; refuses development secrets outside the local stack."""
    machines = TokenFile(settings.tokens_file,
                         on_error=lambda msg: log.error("tokens_file_not_reloaded", error=msg))
    people = PersonTokens(settings.trusted_issuers, clock) if settings.trusted_issuers else None
    book = TokenBook(machines, people)
    problems = development_secrets(settings, book)
    if problems:
        raise DevelopmentSecret(
            f"XF_ENV={settings.env!r} but this configuration holds development secrets:\n  - "
            + "\n  - ".join(problems)
            + "\n(XF_ENV=local is for the local stack only.)")
    return book


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def development_secrets(settings: ServiceSettings, book: TokenBook) -> list[str]:
    """What is wrong with ``settings`` for a real deployment (nothing when XF_ENV=local)."""
    if settings.env == "local":
        return []
    problems: list[str] = []
    if _inside(settings.tokens_file, REPO_ROOT):
        problems.append(f"XF_TOKENS_FILE points into the source tree ({settings.tokens_file}): "
                        "mount a secrets file from outside it")
    if book.plaintext_machine_tokens:
        problems.append("the tokens file holds tokens in clear: store SHA-256 digests "
                        "(`xf tokens hash`) with a client name each")
    keys = {name: value.get_secret_value() for name, value in _secret_keys(settings).items()}
    for name, value in keys.items():
        if value in PUBLISHED_KEYS:
            problems.append(f"XF_{name.upper()} is a published development key: generate one "
                            "(base64 of 32 random bytes)")
    pii, pseudonym = keys.get("pii_key"), keys.get("pseudonym_key")
    if pii is not None and pii == pseudonym:
        problems.append("XF_PII_KEY and XF_PSEUDONYM_KEY are the same key: give each its own")
    return problems


def _secret_keys(settings: ServiceSettings) -> dict[str, SecretStr]:
    return {name: value for name, value in vars(settings).items()
            if name.endswith("_key") and isinstance(value, SecretStr)}
