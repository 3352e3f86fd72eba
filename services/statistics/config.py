"""Settings of the statistics service (environment, prefix XF_)."""

from __future__ import annotations

from shared.settings import ServiceSettings


class StatisticsSettings(ServiceSettings):
    service_name: str = "statistics"
    http_port: int = 8084
