"""Typed, frozen settings read once at start-up from the environment (prefix ``XF_``).

Handlers never read the environment: the composition root builds one of these and passes
what each part needs.
"""

from __future__ import annotations

import base64
import socket
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class ServiceSettings(BaseSettings):
    """What every service needs: its database, the broker, its HTTP port, logging."""

    model_config = SettingsConfigDict(env_prefix="XF_", frozen=True, extra="ignore")

    service_name: str = "xinfang"
    instance_id: str = Field(default_factory=socket.gethostname)
    kafka_bootstrap: str = "127.0.0.1:9092"
    database_url: SecretStr = SecretStr("postgresql://localhost/xinfang")
    db_pool_min: int = 1
    db_pool_max: int = 10
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    log_level: str = "INFO"
    tokens_file: Path = REPO_ROOT / "deploy" / "local" / "tokens.yaml"
    # Dead letters allowed per minute before the consumer stops instead (a bad deploy must
    # not drain a topic into the dead-letter topic).
    dead_letter_cap_per_minute: int = 100
    # Topic-name prefix; tests run a whole pipeline on their own topics by changing it.
    topic_prefix: str = "xinfang"
    # How often the reconciliation counts (xinfang_reconcile_count) are recomputed.
    reconcile_interval_seconds: float = 300.0

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


def decode_key(value: SecretStr, name: str) -> bytes:
    """A 32-byte key from its base64 form, with an error that names the setting."""
    try:
        raw = base64.b64decode(value.get_secret_value(), validate=True)
    except ValueError as exc:
        raise ValueError(f"{name} is not valid base64") from exc
    if len(raw) != 32:
        raise ValueError(f"{name} must decode to 32 bytes, got {len(raw)}")
    return raw
