"""Prometheus set-up shared by the services: names start with ``xinfang_``, base units,
counters end in ``_total``; labels have few values and never identify a case or a person."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Gauge, Histogram, generate_latest

HTTP_LATENCY = Histogram(
    "xinfang_http_request_duration_seconds",
    "HTTP request latency",
    ["route", "method", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
UP = Gauge("xinfang_service_info", "Service identity", ["service", "version"])


def render() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
