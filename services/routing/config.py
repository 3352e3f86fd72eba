"""Settings of the routing service (environment, prefix XF_)."""

from __future__ import annotations

from pathlib import Path

from shared.domain.limits import CountingMode
from shared.platform.settings import REPO_ROOT, ServiceSettings


class RoutingSettings(ServiceSettings):
    service_name: str = "routing"
    http_port: int = 8082
    # The rule set loaded into the database when it holds no active version (first start).
    # Later versions are activated through ``PUT /v1/rules``, never by editing this file.
    routing_rules_file: Path = REPO_ROOT / "deploy" / "config" / "routing-rules.yaml"
    # The handling limit (Art. 34) of an accepted case, for repeat detection (Art. 19): counted
    # on the calendar deadlines publishes (calendar.changed, folded into this database) in the
    # bureau's counting mode.
    counting_mode: CountingMode = CountingMode.calendar_roll_forward
