"""Where the local stack keeps things (all gitignored) and which ports it uses."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from shared.platform.settings import METRICS_PORT_SHIFT, REPO_ROOT

SERVICES = ("console", "intake", "routing", "deadlines", "statistics")
# The services' default ports (docs/domain.md §6); a stack started with XF_STACK_PORT_OFFSET=N
# moves every port of the stack by N, so two checkouts can run their stacks side by side.
SERVICE_PORTS = {"console": 8080, "intake": 8081, "routing": 8082, "deadlines": 8083,
                 "statistics": 8084}
PORT_OFFSET = int(os.environ.get("XF_STACK_PORT_OFFSET", "0"))


def _port(variable: str, default: int) -> int:
    return int(os.environ.get(variable, str(default + PORT_OFFSET)))


@dataclass(frozen=True)
class Layout:
    root: Path = REPO_ROOT
    kafka_port: int = _port("XF_STACK_KAFKA_PORT", 9092)
    controller_port: int = _port("XF_STACK_CONTROLLER_PORT", 9093)
    pg_port: int = _port("XF_STACK_PG_PORT", 5433)
    prometheus_port: int = _port("XF_STACK_PROMETHEUS_PORT", 9090)
    port_offset: int = PORT_OFFSET

    def service_port(self, service: str) -> int:
        return SERVICE_PORTS[service] + self.port_offset

    def metrics_port(self, service: str) -> int:
        """Where ``service`` serves /metrics (loopback only; see ServiceSettings)."""
        return self.service_port(service) + METRICS_PORT_SHIFT

    @property
    def console_url(self) -> str:
        """The console's base URL: also the ``iss`` of the local stack's access tokens."""
        return f"http://127.0.0.1:{self.service_port('console')}"

    def extra_port(self, port: int) -> int:
        """A port for a test's or benchmark's extra instance, moved with the stack."""
        return port + self.port_offset

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
    def pg_home(self) -> Path:
        """Where the PostgreSQL cluster lives: under var/ when the postgres OS user can reach
        it (PostgreSQL refuses to run as root) and the socket path fits the 107-byte limit of
        a Unix socket; otherwise a folder of this checkout's own under /var/tmp."""
        home = self.var / "postgres"
        if os.geteuid() != 0 or (_world_traversable(self.root) and len(str(home)) < 70):
            return home
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:10]
        return Path("/var/tmp") / f"xinfang-{digest}" / "postgres"

    @property
    def pg_data(self) -> Path:
        return self.pg_home / "data"

    @property
    def pg_socket_dir(self) -> Path:
        return self.pg_home / "socket"

    @property
    def secrets_file(self) -> Path:
        """Generated on first ``up``: database passwords and development keys."""
        return self.var / "local.env"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def prometheus_addr(self) -> str:
        return f"127.0.0.1:{self.prometheus_port}"

    def pid_file(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def ensure_dirs(self) -> None:
        for d in (self.cache, self.logs, self.run, self.kafka_dir):
            d.mkdir(parents=True, exist_ok=True)


def _world_traversable(path: Path) -> bool:
    """Every folder from / down to ``path`` can be entered by another OS user."""
    for folder in (path, *path.parents):
        try:
            if not folder.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True
