"""Report-back limits: how long each assigning body gives the bureau to report a handed-off
case's outcome (交办件办结报告时限). Configuration, read once at start (YAML)::

    channels:                 # the default of each hand-off channel, in calendar days
      provincial_transfer: 60
      city_transfer: 45
      superior_assigned: 30
    bodies:                   # a body's own limit wins over its channel's
      江西省信访局: 60

A case received on a hand-off channel gets a ``report_back`` timer from its receipt, of its
body's limit, else its channel's; with neither, no timer. The timer keeps the length it started
with, so a changed file applies to cases received after the restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from shared.domain.timeliness import HANDOFF_CHANNELS, is_handoff

MAX_DAYS = 366


class LimitsInvalid(ValueError):
    pass


@dataclass(frozen=True)
class ReportBackLimits:
    channels: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    bodies: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def days_for(self, channel: str, assigned_by: str | None) -> int | None:
        """The limit of a case received on ``channel`` from ``assigned_by``; None: no timer."""
        if not is_handoff(channel):
            return None
        if assigned_by is not None and assigned_by.strip() in self.bodies:
            return self.bodies[assigned_by.strip()]
        return self.channels.get(channel)


def _days(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise LimitsInvalid(f"{where}: a limit is a whole number of days, 1..{MAX_DAYS}")
    return value


def parse(raw: Any) -> ReportBackLimits:
    if raw is None:
        return ReportBackLimits()
    if not isinstance(raw, Mapping) or set(raw) - {"channels", "bodies"}:
        raise LimitsInvalid("the file holds a mapping with 'channels' and/or 'bodies'")
    channels, bodies = raw.get("channels") or {}, raw.get("bodies") or {}
    if not isinstance(channels, Mapping) or not isinstance(bodies, Mapping):
        raise LimitsInvalid("'channels' and 'bodies' map a name to a number of days")
    for name in channels:
        if name not in HANDOFF_CHANNELS:
            raise LimitsInvalid(f"channels.{name}: not a hand-off channel; use one of "
                                + ", ".join(sorted(HANDOFF_CHANNELS)))
    for name in bodies:
        if not isinstance(name, str) or not name.strip():
            raise LimitsInvalid("bodies: each key is the assigning body's name")
    return ReportBackLimits(
        MappingProxyType({str(k): _days(v, f"channels.{k}") for k, v in channels.items()}),
        MappingProxyType({str(k).strip(): _days(v, f"bodies.{k}") for k, v in bodies.items()}))


def load(path: Path) -> ReportBackLimits:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LimitsInvalid(f"{path}: {exc}") from exc
    try:
        return parse(raw)
    except LimitsInvalid as exc:
        raise LimitsInvalid(f"{path}: {exc}") from exc
