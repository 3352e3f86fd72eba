"""``xf stack up`` twice is harmless and ``down`` leaves nothing behind.

Named to run last: it takes the shared stack down, then brings it back for whatever follows.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from shared.tools.stack.layout import SERVICES, Layout
from shared.tools.stack.processes import is_alive, read_pid


def _xf(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared.tools.cli.main", *args],
                          capture_output=True, text=True, timeout=600)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_up_twice_is_harmless_and_down_leaves_nothing(stack) -> None:
    layout: Layout = stack.layout
    names = ("kafka", *SERVICES, "prometheus")
    before = {n: read_pid(layout.pid_file(n)) for n in names}
    assert all(before.values()), before

    again = _xf("stack", "up")
    assert again.returncode == 0, again.stderr
    after = {n: read_pid(layout.pid_file(n)) for n in names}
    assert after == before, "a second `up` must reuse the running processes"
    assert "started" not in again.stdout

    down = _xf("stack", "down")
    assert down.returncode == 0, down.stderr
    for name, pid in before.items():
        assert pid is not None and not is_alive(pid), f"{name} (pid {pid}) still running"
    # This stack's ports (moved by XF_STACK_PORT_OFFSET), not another checkout's.
    for port in (layout.kafka_port, layout.pg_port, layout.prometheus_port,
                 *(layout.service_port(s) for s in SERVICES),
                 *(layout.metrics_port(s) for s in SERVICES)):
        assert not _port_open(port), f"port {port} still open after down"
    status = _xf("stack", "status").stdout
    assert "running" not in status, status

    restored = _xf("stack", "up")
    assert restored.returncode == 0, restored.stderr
    # Waiting for the restarted broker is quiet: no client connection errors on the terminal.
    assert "Unable connect" not in restored.stdout + restored.stderr, restored.stderr
    assert all(read_pid(layout.pid_file(n)) for n in names)


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _until(condition: object, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_services_are_ready_again_after_postgres_is_killed(stack) -> None:
    """Finding 12: after a PostgreSQL crash every service comes back by itself (the relay's
    health describes the running relay, not one that crashed)."""
    layout: Layout = stack.layout
    pids = {s: read_pid(layout.pid_file(s)) for s in SERVICES}
    postmaster = int((layout.pg_data / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGKILL)
    ports = [layout.service_port(s) for s in SERVICES]
    assert _until(lambda: not any(_ready(p) for p in ports), 30), "unready without a database"
    restored = _xf("stack", "up")  # starts PostgreSQL again; the services keep running
    assert restored.returncode == 0, restored.stderr
    assert _until(lambda: all(_ready(p) for p in ports), 30), {
        s: _ready(layout.service_port(s)) for s in SERVICES}
    assert {s: read_pid(layout.pid_file(s)) for s in SERVICES} == pids
