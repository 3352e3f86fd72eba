"""The development tokens of deploy/local/tokens.yaml, by role, for tests and the demo."""

from __future__ import annotations

from functools import cache

import yaml

from shared.platform.settings import REPO_ROOT

ADMIN = "dev-admin-token-0000000000000001"
STAFF = "dev-staff-token-0000000000000001"
TOKENS_FILE = REPO_ROOT / "deploy" / "local" / "tokens.yaml"


@cache
def _tokens() -> dict[str, dict[str, str]]:
    return dict(yaml.safe_load(TOKENS_FILE.read_text(encoding="utf-8"))["tokens"])


def _find(role: str, **match: str) -> str:
    for token, spec in _tokens().items():
        if spec.get("role") == role and all(spec.get(k) == v for k, v in match.items()):
            return str(token)
    raise KeyError(f"no development token for {role} {match}")


def channel_token(channel: str) -> str:
    return _find("channel", channel=channel)


def unit_token(unit: str) -> str:
    return _find("unit", unit=unit)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
