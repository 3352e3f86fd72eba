"""Routing's metrics (dead letters, consumed events and batch times come from the framework)."""

from __future__ import annotations

from collections import Counter as Counter_

from prometheus_client import Counter, Gauge, Histogram

from services.routing.outputs import Effects

ASSIGNMENTS = Counter(
    "xinfang_routing_assignments_total",
    "Assignments made, by unit and reason (initial, objection, reassign, escalation)",
    ["unit", "reason"])
TRANSFERS = Counter("xinfang_routing_transfers_total",
                    "Cases sent out of the bureau (rule or 回避 up to the top), by reason",
                    ["reason"])
LINKS = Counter("xinfang_routing_links_total",
                "Petitions linked to an earlier case instead of being assigned, by kind",
                ["kind"])
KEY_CASES = Counter("xinfang_routing_key_cases_total",
                    "New key cases (领导包案), by reason (collective, third_repeat_12m, flagged)",
                    ["reason"])
DECISION_LATENCY = Histogram(
    "xinfang_routing_decision_latency_seconds",
    "From a case event's time to routing's committed decision on it",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0))
RULES_VERSION = Gauge("xinfang_routing_rules_active_version",
                      "Version of the active rule set as this instance last read it")
RULE_CHANGES = Counter("xinfang_routing_rule_set_submissions_total",
                       "Rule sets submitted through the API, by outcome "
                       "(activated, unchanged, refused)", ["outcome"])


def observe(effects: Effects) -> None:
    """Count a committed transaction's decisions (grouped: a batch is hundreds of them)."""
    for (unit, cause), n in Counter_(effects.assigned).items():
        ASSIGNMENTS.labels(unit, cause).inc(n)
    for cause, n in Counter_(effects.transferred).items():
        TRANSFERS.labels(cause).inc(n)
    for kind, n in Counter_(effects.linked).items():
        LINKS.labels(kind).inc(n)
    for reason, n in Counter_(effects.key_cases).items():
        KEY_CASES.labels(reason).inc(n)
    for seconds in effects.latencies:
        DECISION_LATENCY.observe(max(seconds, 0.0))
