"""Settings of the intake service (environment, prefix XF_)."""

from __future__ import annotations

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    http_port: int = 8081
