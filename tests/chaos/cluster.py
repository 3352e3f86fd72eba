"""Two instances of every service: the local stack's own process (found by its pid file) and
one extra process started here (shared/tools/testing/instances.py). The fault suite kills,
stops and restarts them by their own pids only, and measures how long each takes to answer
``/readyz`` with 200 again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass, field

import aiohttp

from shared.tools.stack import control
from shared.tools.stack.layout import SERVICES, Layout
from shared.tools.stack.processes import is_alive, read_pid
from shared.tools.testing.instances import ServiceProcess

# Extra instances listen on ports of their own, moved with the stack's offset. Not the
# services' ports plus a round number: another checkout's stack, a few hundred ports up, owns
# those.
EXTRA_PORTS = {service: 19500 + i for i, service in enumerate(SERVICES)}
READY_WITHIN = 30.0


class Instance:
    """One process of a service that the suite may kill, stop and start again."""

    service: str
    name: str
    base: str

    async def start(self, env: dict[str, str] | None = None) -> None:
        raise NotImplementedError

    def pid(self) -> int | None:
        raise NotImplementedError

    def signal(self, sig: int) -> bool:
        """Send ``sig``; False when the process is not running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, sig)
        return True

    def alive(self) -> bool:
        pid = self.pid()
        return pid is not None and is_alive(pid)

    async def ready(self, http: aiohttp.ClientSession) -> bool:
        try:
            async with http.get(f"{self.base}/readyz",
                                timeout=aiohttp.ClientTimeout(total=3)) as r:
                return r.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def failing(self, http: aiohttp.ClientSession) -> str | None:
        """None when ready, else the checks of /readyz that fail (or why it cannot say)."""
        if not self.alive():
            return "not running"
        try:
            async with http.get(f"{self.base}/readyz",
                                timeout=aiohttp.ClientTimeout(total=3)) as r:
                if r.status == 200:
                    return None
                checks = (await r.json()).get("checks", {})
                return ", ".join(k for k, ok in checks.items() if not ok) or f"HTTP {r.status}"
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return type(exc).__name__

    async def wait_exit(self, within: float) -> bool:
        """Until the process is gone; False when it still runs after ``within`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            await self._reap()
            if not self.alive():
                return True
            await asyncio.sleep(0.1)
        return False

    async def _reap(self) -> None:
        return None


class StackInstance(Instance):
    """The stack's own process of a service (pid file under var/run)."""

    def __init__(self, layout: Layout, service: str) -> None:
        self.layout, self.service, self.name = layout, service, f"{service}-stack"
        self.base = f"http://127.0.0.1:{layout.service_port(service)}"

    def pid(self) -> int | None:
        return read_pid(self.layout.pid_file(self.service))

    async def start(self, env: dict[str, str] | None = None) -> None:
        assert not env, "the stack's instance runs with the stack's settings"
        await asyncio.to_thread(control.start_service, self.layout, self.service,
                                control.load_secrets(self.layout), lambda _: None)

    async def _reap(self) -> None:
        pid = read_pid(self.layout.pid_file(self.service))
        if pid is not None:
            # A child of this process when the test session started the stack: collect it
            # once dead (WNOHANG never blocks).
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # noqa: ASYNC222


class ExtraInstance(Instance):
    """A second process of a service, started and owned by the suite."""

    def __init__(self, layout: Layout, service: str) -> None:
        self.layout, self.service = layout, service
        self.name = f"{service}-chaos-2"
        self.port = layout.extra_port(EXTRA_PORTS[service])
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: ServiceProcess | None = None

    def pid(self) -> int | None:
        proc = self.process.proc if self.process else None
        return proc.pid if proc is not None and proc.returncode is None else None

    def alive(self) -> bool:
        return self.pid() is not None

    async def start(self, env: dict[str, str] | None = None) -> None:
        if await _listening(self.port):
            # Whatever answers there is not ours: the suite would load someone else's stack.
            raise RuntimeError(f"port {self.port} for {self.name} is taken by another process")
        self.process = ServiceProcess(self.layout, self.service, port=self.port,
                                      name=self.name, env=env)
        await self.process.start()

    async def _reap(self) -> None:
        proc = self.process.proc if self.process else None
        if proc is not None and proc.returncode is None:
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), 0.05)
            except TimeoutError:
                pass

    async def ready(self, http: aiohttp.ClientSession) -> bool:
        return self.alive() and await super().ready(http)

    def returncode(self) -> int | None:
        proc = self.process.proc if self.process else None
        return proc.returncode if proc is not None else None

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()


@dataclass
class Cluster:
    layout: Layout
    instances: dict[str, list[Instance]] = field(default_factory=dict)

    @classmethod
    def of(cls, layout: Layout) -> Cluster:
        return cls(layout, {s: [StackInstance(layout, s), ExtraInstance(layout, s)]
                            for s in SERVICES})

    def all(self) -> list[Instance]:
        return [i for group in self.instances.values() for i in group]

    def extras(self) -> list[ExtraInstance]:
        return [i for i in self.all() if isinstance(i, ExtraInstance)]

    def intake_urls(self) -> list[str]:
        return [i.base for i in self.instances["intake"]]

    async def start_extras(self, http: aiohttp.ClientSession) -> None:
        # One at a time: on two cores, four services starting at once take longer in all.
        for extra in self.extras():
            if not extra.alive():
                await extra.start()
                await self.wait_ready(http, [extra], within=120)

    async def stop_extras(self) -> None:
        for extra in self.extras():
            await extra.stop()

    async def ensure_running(self) -> None:
        """Start whatever a scenario left dead (the supervisor's job, done here)."""
        for instance in self.all():
            await instance._reap()
            if not instance.alive():
                await instance.start()

    async def wait_ready(self, http: aiohttp.ClientSession,
                         which: Iterable[Instance] | None = None,
                         within: float = READY_WITHIN) -> float | None:
        """Seconds until every instance (default all) answers ready; None if one does not
        within ``within`` seconds."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        pending = list(which if which is not None else self.all())
        while pending and loop.time() - started < within:
            answers = await asyncio.gather(*(i.ready(http) for i in pending))
            pending = [i for i, ok in zip(pending, answers, strict=True) if not ok]
            if pending:
                await asyncio.sleep(0.2)
        return None if pending else loop.time() - started

    async def not_ready(self, http: aiohttp.ClientSession) -> list[str]:
        """The instances not ready, each with the readiness checks it fails."""
        answers = await asyncio.gather(*(i.failing(http) for i in self.all()))
        return [f"{i.name} ({why})" for i, why in zip(self.all(), answers, strict=True) if why]


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


def kill9(instance: Instance) -> bool:
    return instance.signal(signal.SIGKILL)
