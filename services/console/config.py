"""Settings of the console service (environment, prefix XF_)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.platform.settings import ServiceSettings

# Access tokens live at most this long: a disabled account or a changed role takes effect
# within it, without a revocation list.
MAX_TOKEN_LIFETIME_SECONDS = 900


class ConsoleSettings(ServiceSettings):
    service_name: str = "console"
    http_port: int = 8080
    # The ``iss`` of every access token: the console's public base URL.
    issuer: str = "http://127.0.0.1:8080"
    audience: str = "xinfang"
    # Ed25519 signing keys, ``kid:base64-of-32-byte-seed`` separated by commas. The first
    # signs; every one is published in the JWKS, so a new key can be published before it signs
    # and an old one kept until the tokens it signed have expired. Required: no default.
    signing_keys: SecretStr
    token_lifetime_seconds: int = Field(default=MAX_TOKEN_LIFETIME_SECONDS, ge=60,
                                        le=MAX_TOKEN_LIFETIME_SECONDS)
    # Lockout: this many failed logins of one username within the window lock it for a while.
    lockout_failures: int = Field(default=5, ge=1)
    lockout_window_seconds: int = Field(default=900, ge=1)
    lockout_seconds: int = Field(default=900, ge=1)
    # The public APIs the pages call with the signed-in person's token (never their databases).
    intake_url: str = "http://127.0.0.1:8081"
    routing_url: str = "http://127.0.0.1:8082"
    deadlines_url: str = "http://127.0.0.1:8083"
    statistics_url: str = "http://127.0.0.1:8084"
    # The session cookie is marked Secure when the console is served over TLS (behind a proxy).
    secure_cookies: bool = False
