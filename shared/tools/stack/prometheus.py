"""Prometheus on the local stack: scrapes the five services and evaluates the alert rules.

The configuration is the compose stack's (``deploy/prometheus/prometheus.yml``) with the
targets moved to loopback, the rules file by absolute path and a short scrape interval, so the
dashboards' queries and the alerts run on a real server here as in production.
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from shared.tools.stack.kafka import StackError
from shared.tools.stack.layout import Layout
from shared.tools.stack.processes import apt_install, read_pid, spawn, terminate

DEPLOY = Path("deploy") / "prometheus"
SCRAPE_INTERVAL = "2s"


def ensure_installed(say: Any = print) -> str:
    found = shutil.which("prometheus")
    if found:
        return found
    try:
        apt_install("prometheus", say)
    except PermissionError as exc:
        raise StackError(str(exc)) from None
    found = shutil.which("prometheus")
    if not found:
        raise StackError("Prometheus installed but not found on PATH")
    return found


def local_config(layout: Layout) -> dict[str, Any]:
    """The compose configuration, pointed at the services on loopback."""
    config: dict[str, Any] = yaml.safe_load(
        (layout.root / DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"] |= {"scrape_interval": SCRAPE_INTERVAL,
                         "evaluation_interval": SCRAPE_INTERVAL}
    config["rule_files"] = [str(layout.root / DEPLOY / "alerts.yml")]
    for job in config["scrape_configs"]:
        for group in job["static_configs"]:
            service = group["labels"]["service"]
            group["targets"] = [f"127.0.0.1:{layout.metrics_port(service)}"]
    return config


def start(layout: Layout, binary: str) -> bool:
    """Start Prometheus unless it runs; True when it was started."""
    pid_file = layout.pid_file("prometheus")
    if read_pid(pid_file) is not None:
        return False
    home = layout.var / "prometheus"
    (home / "data").mkdir(parents=True, exist_ok=True)
    config = home / "prometheus.yml"
    config.write_text(yaml.safe_dump(local_config(layout), sort_keys=False), encoding="utf-8")
    spawn([binary, f"--config.file={config}", f"--storage.tsdb.path={home / 'data'}",
           "--storage.tsdb.retention.time=7d", f"--web.listen-address={layout.prometheus_addr}",
           "--web.enable-lifecycle"],
          pid_file=pid_file, log_file=layout.log_file("prometheus"), env=dict(os.environ),
          cwd=home)
    return True


def is_ready(layout: Layout) -> bool:
    try:
        with urllib.request.urlopen(f"http://{layout.prometheus_addr}/-/ready", timeout=3) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def wait_ready(layout: Layout, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if read_pid(layout.pid_file("prometheus")) is None:
            raise StackError(f"Prometheus exited; see {layout.log_file('prometheus')}")
        if is_ready(layout):
            return
        time.sleep(0.2)
    raise StackError(f"Prometheus not ready after {timeout}s")


def stop(layout: Layout) -> bool:
    return terminate(layout.pid_file("prometheus"))
