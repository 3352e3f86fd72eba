"""Settings of the deadlines service (environment, prefix XF_)."""

from __future__ import annotations

from shared.settings import ServiceSettings


class DeadlinesSettings(ServiceSettings):
    service_name: str = "deadlines"
    http_port: int = 8083
