"""Settings of the routing service (environment, prefix XF_)."""

from __future__ import annotations

from shared.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    service_name: str = "routing"
    http_port: int = 8082
