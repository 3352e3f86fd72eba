"""Typed, frozen settings read once at start-up from the environment (prefix ``XF_``).

Handlers never read the environment: the composition root builds one of these and passes
what each part needs.
"""

from __future__ import annotations

import base64
import socket
from datetime import date
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.platform.boundary import EARLIEST_DAY
from shared.platform.issuers import TrustedIssuer

REPO_ROOT = Path(__file__).resolve().parents[2]
METRICS_PORT_SHIFT = 1000


class ServiceSettings(BaseSettings):
    """What every service needs: its database, the broker, its HTTP port, logging."""

    model_config = SettingsConfigDict(env_prefix="XF_", frozen=True, extra="ignore")

    service_name: str = "xinfang"
    instance_id: str = Field(default_factory=socket.gethostname)
    kafka_bootstrap: str = "127.0.0.1:9092"
    database_url: SecretStr = SecretStr("postgresql://localhost/xinfang")
    db_pool_min: int = 1
    db_pool_max: int = 10
    # A statement running longer than this is cancelled; a consumer then halves its chunk.
    db_command_timeout_seconds: float = 30.0
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # /metrics has its own listener, off the API port (it tells closure rates and overdue
    # counts by unit without a token): loopback by default, next to a local Prometheus; a
    # container sets 0.0.0.0 and publishes nothing. The port defaults to the API port + 1000.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    log_level: str = "INFO"
    tokens_file: Path = REPO_ROOT / "deploy" / "local" / "tokens.yaml"
    # ``local`` only on a developer's stack: anywhere else development secrets are refused at
    # start-up (shared.platform.access). The safe default is "not local".
    env: str = "production"
    # Identity providers whose persons' access tokens this service accepts (JSON list of
    # ``{"issuer", "jwks_url", "audience"}``): the console, or a bureau's own provider.
    trusted_issuers: list[TrustedIssuer] = Field(default_factory=list)
    # When a consumer stops instead of parking more (a bad deploy must not drain a topic into
    # the dead-letter topic): poison messages in a row, or their share of a recent window.
    dead_letter_max_consecutive: int = 50
    dead_letter_max_ratio: float = 0.5
    dead_letter_window: int = 200
    # A consumer retrying a transient failure for longer than this is reported unready.
    consumer_retry_unready_seconds: float = 30.0
    # The outbox relay: replace a producer that has not sent for this long; let the shards go
    # (for a healthy instance to take) after this long; fail liveness after this long.
    relay_replace_producer_seconds: float = 30.0
    relay_release_shards_seconds: float = 60.0
    relay_stall_seconds: float = 300.0
    # How long a stop may take before connections are dropped without goodbye.
    stop_grace_seconds: float = 10.0
    # The fault suite's kill point (shared.platform.faults); empty: none.
    fault_point: str = ""
    # Topic-name prefix; tests run a whole pipeline on their own topics by changing it.
    topic_prefix: str = "xinfang"
    # How often the reconciliation counts (xinfang_reconcile_count) are recomputed.
    reconcile_interval_seconds: float = 300.0
    # The oldest day a client may give a case or an action (a receipt back-dated to 1900 is a
    # mistake or an attempt to make a case overdue at once).
    earliest_day: date = EARLIEST_DAY
    # Requests a minute to write endpoints (POST, PUT, PATCH, DELETE) per credential, or per
    # address without one; 0 turns the limit off. Kept per instance (shared.platform.ratelimit).
    write_rate_per_minute: int = Field(default=600, ge=0)

    @property
    def metrics_listen_port(self) -> int:
        return self.metrics_port or self.http_port + METRICS_PORT_SHIFT

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
