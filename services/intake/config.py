"""Settings of the intake service (environment, prefix XF_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from shared.domain.limits import CountingMode
from shared.platform.settings import REPO_ROOT, ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    http_port: int = 8081
    db_pool_max: int = 20
    # AES-256-GCM key for personal data at rest, and the HMAC key of pseudonymous petitioner
    # keys and content sketches: base64 of 32 bytes each. Required: no default.
    pii_key: SecretStr
    pseudonym_key: SecretStr
    # Key rotation: the id new ciphertexts carry, and older keys that still read
    # (``kid:base64,…``) until ``xf keys rotate`` has re-encrypted everything.
    pii_key_id: str = "k1"
    pii_old_keys: SecretStr | None = None
    # Where uploaded import files wait while they are processed (resumed after a restart).
    import_dir: Path = REPO_ROOT / "var" / "imports"
    tracking_prefix: str = "XF"
    # Working-day calendar for the objection and review windows: the library's data plus an
    # operator overlay file for years it does not know (same format as the deadlines service).
    calendar_overlay: Path | None = None
    counting_mode: CountingMode = CountingMode.calendar_roll_forward
    # Public tracking needs no token: these slow a scan of the sequential tracking numbers
    # (per client address) and guessing one number's query code (per tracking number).
    track_rate_per_address_per_minute: int = Field(default=30, ge=0)
    track_rate_per_number_per_minute: int = Field(default=10, ge=0)
