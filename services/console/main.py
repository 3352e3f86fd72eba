"""Composition root of the console service: accounts, sign-in and the access tokens every
other service verifies (it consumes no topic)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import mode
from aiohttp import web

from services.console import web as pages
from services.console.api import ConsoleApi
from services.console.config import ConsoleSettings
from services.console.login import Granted, Throttle, forget_old_failures, sign_in
from services.console.signing import Issuer, parse_signing_keys
from shared.domain.vocab import default_vocabulary
from shared.platform import audit
from shared.platform.access import credentials
from shared.platform.clock import SystemClock
from shared.platform.logging import configure_logging
from shared.platform.runtime import Infrastructure, Runtime
from shared.platform.service import ServiceSpec

FORGET_EVERY_SECONDS = 600.0


def issuer_from(settings: ConsoleSettings) -> Issuer:
    return Issuer(issuer=settings.issuer, audience=settings.audience,
                  keys=parse_signing_keys(settings.signing_keys.get_secret_value()),
                  lifetime=timedelta(seconds=settings.token_lifetime_seconds))


def build_spec(settings: ConsoleSettings) -> ServiceSpec:
    issuer = issuer_from(settings)  # a bad key stops the service at start
    throttle = Throttle(failures=settings.lockout_failures,
                        window=timedelta(seconds=settings.lockout_window_seconds),
                        lockout=timedelta(seconds=settings.lockout_seconds))
    vocab = default_vocabulary()

    def routes(app: web.Application, infra: Infrastructure) -> None:
        ConsoleApi(infra.pool, issuer, throttle, infra.clock, vocab).install(app)
        audit.install(app, infra.pool)

        async def sign_in_page(username: str, password: str) -> tuple[str | None, object]:
            # The same sign-in (and lockout) as POST /v1/auth/token.
            outcome = await sign_in(infra.pool, issuer, throttle, infra.clock, username,
                                    password)
            if isinstance(outcome, Granted):
                return outcome.token, int(issuer.lifetime.total_seconds())
            if outcome.locked_for is not None:
                return None, "登录失败次数过多，该用户名已暂时锁定，请稍后再试"
            return None, "用户名或密码不正确"

        pages.install(app, sign_in_page, vocab, {
            "intake": settings.intake_url, "routing": settings.routing_url,
            "deadlines": settings.deadlines_url, "statistics": settings.statistics_url,
            # Its own accounts API, called like the others with the administrator's token.
            "console": f"http://127.0.0.1:{settings.http_port}",
        }, secure=settings.secure_cookies)

    async def forget_failures(infra: Infrastructure) -> None:
        while True:
            await forget_old_failures(infra.pool, throttle, infra.clock.now())
            await asyncio.sleep(FORGET_EVERY_SECONDS)

    return ServiceSpec(name="console", routes=routes, tasks=(forget_failures,))


def run() -> None:
    settings = ConsoleSettings()  # type: ignore[call-arg]  # the signing keys come from the env
    configure_logging("console", settings.log_level)
    spec = build_spec(settings)
    clock = SystemClock()
    runtime = Runtime(settings, clock=clock, tokens=credentials(settings, clock),
                      routes=spec.routes, tasks=spec.tasks)
    # No topic to consume, so no faust app (faust refuses to start a consumer without topics):
    # mode's worker runs the runtime alone and stops it cleanly on SIGTERM.
    mode.Worker(runtime, loglevel=settings.log_level, redirect_stdouts=False, quiet=True,
                override_logging=False).execute_from_commandline()


if __name__ == "__main__":
    run()
