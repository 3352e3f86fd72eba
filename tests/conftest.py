"""Test session set-up: unit tests need nothing; integration tests get the real local stack
(Kafka, PostgreSQL, the four services), started once per run by ``xf stack up`` (idempotent)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from shared.tools.stack import control
from shared.tools.stack.layout import Layout


@dataclass(frozen=True)
class Stack:
    layout: Layout
    dsns: dict[str, str]

    @property
    def bootstrap(self) -> str:
        return self.layout.bootstrap

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.layout.service_port(service)}{path}"

    def metrics_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.layout.metrics_port(service)}/metrics"


@pytest.fixture(scope="session")
def stack() -> Stack:
    layout = Layout()
    if os.environ.get("XF_TEST_ASSUME_STACK") != "1":
        control.up(layout, services=True, say=lambda _msg: None)
    return Stack(layout=layout, dsns=control.dsns(layout))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/integration needs the stack; mark it so `-m "not integration"`
    # gives the fast unit suite.
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)
