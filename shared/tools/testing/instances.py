"""One more process of a service, started by a test beside the local stack's own.

It runs with the stack's settings (databases, broker, keys) plus its own HTTP port and instance
id, logs to ``var/log/<name>.log``, and is stopped by the test through its own pid only (never
by name, so the stack's instance is never touched).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from shared.platform.settings import METRICS_PORT_SHIFT
from shared.tools.stack import control
from shared.tools.stack.layout import Layout
from shared.tools.testing.helpers import eventually


class ServiceProcess:
    def __init__(self, layout: Layout, service: str, *, port: int, name: str,
                 env: dict[str, str] | None = None) -> None:
        self.service, self.name, self.port = service, name, port
        self.env = control.service_env(layout, service, control.load_secrets(layout))
        self.env.update({"XF_HTTP_PORT": str(port), "XF_INSTANCE_ID": name, **(env or {})})
        self.cwd = str(layout.root)
        self.log = layout.logs / f"{name}.log"
        self.base = f"http://127.0.0.1:{port}"
        self.metrics_base = f"http://127.0.0.1:{port + METRICS_PORT_SHIFT}"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:  # the child keeps its own descriptor
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", f"services.{self.service}", env=self.env, cwd=self.cwd,
                stdout=log, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL)

    async def wait_ready(self, http: aiohttp.ClientSession, within: float = 90) -> None:
        async def ready() -> bool:
            assert self.proc is not None and self.proc.returncode is None, (
                f"{self.name} exited; see {self.log}")
            try:
                async with http.get(f"{self.base}/readyz") as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(ready, within=within, what=f"{self.name} to be ready")

    async def metric(self, http: aiohttp.ClientSession, name: str, *labels: str) -> float:
        """The sum of this process's samples of ``name`` whose labels include every one of
        ``labels`` (written ``key="value"``); 0 when it does not answer."""
        try:
            async with http.get(f"{self.metrics_base}/metrics") as r:
                text = await r.text()
        except aiohttp.ClientError:
            return 0.0
        total = 0.0
        for line in text.splitlines():
            metric, _, value = line.rpartition(" ")
            if (metric == name or metric.startswith(name + "{")) and all(
                    label in metric for label in labels):
                total += float(value)
        return total

    async def stop(self, sig: int = signal.SIGTERM, within: float = 30) -> None:
        """Signal it and wait; one that ignores SIGTERM for ``within`` seconds is killed."""
        if self.proc is None or self.proc.returncode is not None:
            return
        os.kill(self.proc.pid, sig)
        try:
            await asyncio.wait_for(self.proc.wait(), within)
        except TimeoutError:
            os.kill(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()


@asynccontextmanager
async def running(layout: Layout, service: str, *, port: int, name: str,
                  env: dict[str, str] | None = None) -> AsyncIterator[ServiceProcess]:
    """A ready extra process of ``service`` for the block, stopped afterwards."""
    process = ServiceProcess(layout, service, port=port, name=name, env=env)
    await process.start()
    try:
        async with aiohttp.ClientSession() as http:
            await process.wait_ready(http)
        yield process
    finally:
        await process.stop()
