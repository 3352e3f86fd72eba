"""Settings of the statistics service (environment, prefix XF_)."""

from __future__ import annotations

from pathlib import Path

from shared.domain.limits import CountingMode
from shared.platform.settings import REPO_ROOT, ServiceSettings


class StatisticsSettings(ServiceSettings):
    service_name: str = "statistics"
    http_port: int = 8084
    # The on-time rate compares a case's closure with its handling due date, counted on the
    # calendar deadlines publishes (calendar.changed, folded into the projection) and the
    # bureau's counting rule. A calendar change re-judges the cases it can move.
    counting_mode: CountingMode = CountingMode.calendar_roll_forward
    # Unit names for the breakdown by unit come from the routing configuration (labels only).
    routing_rules_file: Path = REPO_ROOT / "deploy" / "config" / "routing-rules.yaml"
    # The folder (one instance at a time) moves applied deltas from the journal into the
    # aggregate tables; it sleeps this long when the journal is empty.
    fold_interval_seconds: float = 0.2
    fold_chunk_rows: int = 20000
    # The leader recomputes the gauges after every fold that moved something, and at least
    # this often (the current year and quarter move with the clock).
    gauge_refresh_seconds: float = 5.0
    # How often a non-leader instance tries to become the folder and gauge leader.
    leader_retry_seconds: float = 2.0
    db_pool_max: int = 12
