"""``xf replay routing|deadlines``: the service's consumed topics replayed from offset 0 into a
fresh database on the local stack, compared with the live database (``shared.tools.replay``).

Prints the rows compared and any drift; exits 1 on drift. Run it after the pipeline has
drained: events the live service applies while the replay runs show as drift.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
from collections.abc import Collection
from enum import StrEnum
from types import ModuleType

import typer

from shared.platform.settings import ServiceSettings
from shared.tools.replay import ReplayReport, Shape, replay
from shared.tools.stack import control, postgres
from shared.tools.stack.layout import Layout

# Settings the stack passes as JSON, which the settings' keyword arguments do not parse.
_NOT_SCALAR = {"XF_TRUSTED_ISSUERS"}


class Replayable(StrEnum):
    routing = "routing"
    deadlines = "deadlines"


def _service(service: str) -> tuple[type[ServiceSettings], ModuleType, ModuleType]:
    """The service's settings class, composition root and replay shape (imported on use: the
    other commands need no faust)."""
    config = importlib.import_module(f"services.{service}.config")
    settings = getattr(config, f"{service.capitalize()}Settings")
    return (settings, importlib.import_module(f"services.{service}.main"),
            importlib.import_module(f"services.{service}.replay"))


def local_shape(layout: Layout, service: str, **overrides: str) -> tuple[Shape, str]:
    """The shape of ``service`` with the settings the local stack starts it with (and
    ``overrides``), and its DSN."""
    env = control.service_env(layout, service, control.load_secrets(layout))
    cls, main, shape = _service(service)
    given = {k[3:].lower(): v for k, v in env.items()
             if k.startswith("XF_") and k not in _NOT_SCALAR}
    settings = cls.model_validate({**given, **overrides})
    return (Shape(main.build_spec(settings), settings, shape.COPIED, shape.COMPARED),
            env["XF_DATABASE_URL"])


async def replay_local(layout: Layout, service: str, *, keep: bool = False,
                       cases: Collection[str] | None = None,
                       say: control.Say = print) -> ReplayReport:
    shape, dsn = local_shape(layout, service)
    return await replay(shape, dsn, functools.partial(postgres.superuser_connect, layout),
                        keep=keep, cases=cases, say=say)


def render(report: ReplayReport) -> str:
    lines = [f"{report.service}: {report.events} events replayed in {report.seconds:.1f}s "
             f"into {report.database}"]
    lines += [f"  {name:<20}{rows:>10} rows" for name, rows in report.rows.items()]
    lines += [f"  drift: {p}" for p in report.problems] or ["  drift: 0"]
    return "\n".join(lines)


def replay_cmd(
    service: Replayable = typer.Argument(..., help="the service whose topics to replay"),
    keep: bool = typer.Option(False, help="keep the replayed database to look at"),
) -> None:
    """Replay a service's topics into a fresh database and compare it with the live one."""
    report = asyncio.run(replay_local(Layout(), service.value, keep=keep))
    typer.echo(render(report))
    if report.problems:
        raise typer.Exit(1)
