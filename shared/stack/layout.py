"""Where the local stack keeps things (all gitignored) and which ports it uses."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shared.settings import REPO_ROOT

SERVICES = ("intake", "routing", "deadlines", "statistics")
SERVICE_PORTS = {"intake": 8081, "routing": 8082, "deadlines": 8083, "statistics": 8084}


@dataclass(frozen=True)
class Layout:
    root: Path = REPO_ROOT
    kafka_port: int = int(os.environ.get("XF_STACK_KAFKA_PORT", "9092"))
    controller_port: int = int(os.environ.get("XF_STACK_CONTROLLER_PORT", "9093"))
    pg_port: int = int(os.environ.get("XF_STACK_PG_PORT", "5433"))

    @property
    def cache(self) -> Path:
        return self.root / ".cache"

    @property
    def kafka_libs(self) -> Path:
        return self.cache / "kafka" / "libs"

    @property
    def maven_repo(self) -> Path:
        return self.cache / "m2"

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def logs(self) -> Path:
        return self.var / "log"

    @property
    def run(self) -> Path:
        return self.var / "run"

    @property
    def kafka_dir(self) -> Path:
        return self.var / "kafka"

    @property
    def pg_data(self) -> Path:
        return self.var / "postgres" / "data"

    @property
    def pg_socket_dir(self) -> Path:
        return self.var / "postgres" / "socket"

    @property
    def secrets_file(self) -> Path:
        """Generated on first ``up``: database passwords and development keys."""
        return self.var / "local.env"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def pid_file(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def ensure_dirs(self) -> None:
        for d in (self.cache, self.logs, self.run, self.kafka_dir):
            d.mkdir(parents=True, exist_ok=True)
