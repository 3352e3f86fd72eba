"""Injected time. Tests pass a fixed or manual clock; demos may run days in minutes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class ShiftedClock:
    """Real time moved by ``offset`` and run ``speed`` times faster from ``origin``.

    ``speed=1440`` makes a day pass in a minute, so a demo shows deadlines falling due.
    """

    offset: timedelta = timedelta()
    speed: float = 1.0
    origin: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        real = datetime.now(UTC)
        return self.origin + self.offset + (real - self.origin) * self.speed


def iso(moment: datetime) -> str:
    """RFC 3339 in the bureau's zone (+08:00): one canonical form for every answer."""
    return moment.astimezone(SHANGHAI).isoformat()
