"""Every Kafka topic of the system, declared once: name, partitions, configs.

``xf stack up`` creates them; the broker runs with ``auto.create.topics.enable=false`` so a
misspelt topic fails loudly instead of silently creating one nobody reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Event topics are the system's history: statistics rebuilds its projection by replaying them,
# so they are never deleted by time or size.
_KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


@dataclass(frozen=True)
class TopicSpec:
    suffix: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)
    replication_factor: int = 1

    def name(self, prefix: str = "xinfang") -> str:
        return f"{prefix}.{self.suffix}"


# Case events written by intake (key = case id, so one case's events stay in order).
CASE_EVENTS = TopicSpec("case.events", 12, _KEEP_FOREVER)
# Routing decisions: case.assigned, case.linked, case.transfer_decided (key = case id). The
# transfer itself, case.transferred_out, is a lifecycle step: intake publishes it on case.events.
ROUTING_EVENTS = TopicSpec("routing.events", 12, _KEEP_FOREVER)
# Deadline alerts: deadline.warning, deadline.overdue, deadline.overdue_withdrawn,
# deadline.rescheduled (key = case id).
DEADLINE_EVENTS = TopicSpec("deadline.events", 12, _KEEP_FOREVER)
# Calendar changes (calendar.changed), published by deadlines, the calendar's owner; key = the
# year, one partition so every consumer sees the years' versions in one order. Kept forever,
# not compacted by year: a handful of events a year, and the whole history is what a rebuild
# replays and what tells which calendar a figure was counted on (compaction would keep only
# each year's latest version).
CALENDAR_EVENTS = TopicSpec("calendar.events", 1, _KEEP_FOREVER)
# Hand-off notices to the body that assigned a case (交办): handoff.received when it is
# accepted or declined, handoff.closed with the closing report (key = case id).
HANDOFF_EVENTS = TopicSpec("handoff.events", 12, _KEEP_FOREVER)
# One dead-letter topic per consuming service: the original bytes plus origin and error.
DEAD_LETTERS = {
    svc: TopicSpec(f"deadletter.{svc}", 3, {"retention.ms": str(90 * 24 * 3600 * 1000)})
    for svc in ("intake", "routing", "deadlines", "statistics")
}

ALL_TOPICS: tuple[TopicSpec, ...] = (
    CASE_EVENTS,
    ROUTING_EVENTS,
    DEADLINE_EVENTS,
    CALENDAR_EVENTS,
    HANDOFF_EVENTS,
    *DEAD_LETTERS.values(),
)

