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
    # Import limits. A file of 64 MiB holds some 100,000 typical cases; a line of 256 KiB holds
    # the longest case the API accepts (20,000 characters of content) even with every
    # character escaped; a client may run two imports at once (more waits: 429).
    import_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    import_max_line_bytes: int = Field(default=256 * 1024, ge=256)
    import_max_concurrent_per_client: int = Field(default=2, ge=1)
    # Rows registered per transaction (the progress is counted in the same transaction).
    import_batch_rows: int = Field(default=500, ge=1, le=5000)
    # While the database is away an import waits, retrying with a backoff up to this long.
    import_retry_max_seconds: float = Field(default=30.0, gt=0)
    # How often each instance looks for unfinished imports whose worker is gone (a killed
    # instance's, say) and carries them on.
    import_resume_interval_seconds: float = Field(default=30.0, gt=0)
    tracking_prefix: str = "XF"
    # The objection and review windows are counted on the calendar deadlines publishes
    # (calendar.changed, folded into this database) in the bureau's counting mode.
    counting_mode: CountingMode = CountingMode.calendar_roll_forward
    # Public tracking needs no token: these slow a scan of the sequential tracking numbers
    # (per client address) and guessing one number's query code (per tracking number).
    track_rate_per_address_per_minute: int = Field(default=30, ge=0)
    track_rate_per_number_per_minute: int = Field(default=10, ge=0)
