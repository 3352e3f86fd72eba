"""Settings of the deadlines service (environment, prefix XF_)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, field_validator

from shared.domain.limits import CountingMode
from shared.platform.clock import Clock, ShiftedClock, SystemClock
from shared.platform.settings import ServiceSettings


class DeadlinesSettings(ServiceSettings):
    service_name: str = "deadlines"
    http_port: int = 8083
    # The outbox relay holds up to 4 connections (one per shard it relays) and the gauge
    # leader one; the consumer, the sweep and the API need theirs.
    db_pool_max: int = 16
    # How limits are counted (docs/domain.md §4): calendar days rolled forward, or every limit in
    # working
    # days. A timer keeps the mode it started with; a change applies to new timers.
    counting_mode: CountingMode = CountingMode.calendar_roll_forward
    # Warnings go out this many days before a due date (00:00 Asia/Shanghai), most distant first.
    warning_days: tuple[int, ...] = (7, 3)
    # Operators' calendar for years the library does not know (YAML, shared.domain.calendar format).
    # Read at start; a year whose entry changed in the file since it was last applied is
    # applied again (recomputing open timers), otherwise the database's overlay stands.
    calendar_overlay: Path | None = None
    # Report-back limits per assigning body and hand-off channel (YAML, see report_back.py);
    # without a file no hand-off gets a report_back deadline.
    report_back_limits: Path | None = None
    # The sweep: how often it looks for due timers when the last look found none, and how many
    # timers one transaction claims.
    sweep_interval_seconds: float = Field(default=1.0, gt=0)
    sweep_batch: int = Field(default=500, ge=1, le=10_000)
    # A timer the sweep cannot handle waits this long before it is tried again, doubling with
    # each failure up to the maximum.
    sweep_retry_base_seconds: float = Field(default=60.0, gt=0)
    sweep_retry_max_seconds: float = Field(default=3600.0, gt=0)
    # Sweep loops per instance: a second loop builds its alerts while the first waits on the
    # database (a burst of due timers drains about a third faster); idle, each costs a probe.
    sweep_workers: int = Field(default=2, ge=1, le=8)
    # A new timer fires no earlier than this long after it is created: events of one case come
    # on two topics (case.events, routing.events), and a replayed old case's assignment may
    # trail its registration by a moment; without this its routing timer would fire overdue.
    alert_grace_seconds: float = Field(default=10.0, ge=0)
    # How often the gauge leader recounts overdue and due-soon timers.
    gauge_interval_seconds: float = Field(default=15.0, gt=0)
    # Demo clock: shift "now" by this many days and/or run it this many times faster (1440 = a
    # day a minute). Run a single instance with it: each instance's clock starts on its own.
    clock_offset_days: float = 0.0
    clock_speed: float = Field(default=1.0, gt=0)

    @field_validator("warning_days")
    @classmethod
    def _warning_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(n < 1 or n > 365 for n in value):
            raise ValueError("warning_days must be whole days between 1 and 365")
        return tuple(sorted(set(value), reverse=True))

    def clock(self) -> Clock:
        if self.clock_offset_days == 0 and self.clock_speed == 1.0:
            return SystemClock()
        return ShiftedClock(offset=timedelta(days=self.clock_offset_days), speed=self.clock_speed)
