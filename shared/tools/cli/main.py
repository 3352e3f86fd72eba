"""``xf``: the one command line of Xinfang (local stack, demo data, cases, statistics)."""

from __future__ import annotations

import subprocess

import typer

from shared.tools.stack import control
from shared.tools.stack.kafka import StackError
from shared.tools.stack.layout import SERVICES, Layout

app = typer.Typer(help="Xinfang petition pipeline: local stack and operations.",
                  no_args_is_help=True)
stack = typer.Typer(help="The local stack: Kafka, PostgreSQL, the console and the four services.",
                    no_args_is_help=True)
app.add_typer(stack, name="stack")


@stack.command()
def up(services: bool = typer.Option(True, help="Also start the five services.")) -> None:
    """Bring everything up (idempotent: a second `up` reuses what is there)."""
    try:
        control.up(Layout(), services=services, say=typer.echo)
    except StackError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc


@stack.command()
def down() -> None:
    """Stop Prometheus and the services, then Kafka, then PostgreSQL. Data stays under var/."""
    control.down(Layout(), say=typer.echo)


@stack.command()
def clean() -> None:
    """Stop everything and delete the local data (Kafka log, PostgreSQL cluster, logs,
    generated secrets). The downloaded jars stay."""
    import shutil

    layout = Layout()
    control.down(layout, say=typer.echo)
    for folder in (layout.pg_home, layout.var):
        shutil.rmtree(folder, ignore_errors=True)
    typer.echo("local data deleted")


@stack.command()
def status() -> None:
    """What is running."""
    for name, state in control.status(Layout()).items():
        typer.echo(f"{name:<11} {state}")


@stack.command()
def logs(name: str = typer.Argument(..., help=f"kafka, postgres, prometheus or one of {SERVICES}"),
         follow: bool = typer.Option(False, "--follow", "-f"),
         lines: int = typer.Option(50, "--lines", "-n")) -> None:
    """Show a component's log."""
    layout = Layout()
    if name == "postgres":
        path = layout.pg_home / "server.log"
    elif name == "kafka":
        path = layout.logs / "kafka.log"
    else:
        path = layout.log_file(name)
    if not path.exists():
        typer.secho(f"no log at {path}", fg="red", err=True)
        raise typer.Exit(1)
    cmd = ["tail", "-n", str(lines), *(["-F"] if follow else []), str(path)]
    raise typer.Exit(subprocess.call(cmd))


@app.command("migrate")
def migrate_cmd(
    service: str = typer.Argument(..., help=f"one of {SERVICES}"),
    database_url: str = typer.Option(..., envvar="XF_DATABASE_URL",
                                     help="the service's database (default: $XF_DATABASE_URL)"),
) -> None:
    """Apply a service's database migrations (idempotent). Used by containers at start."""
    from shared.platform import migrations

    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}", param_hint="SERVICE")
    migrations.upgrade(service, database_url)
    typer.echo(f"{service}: migrated")


@app.command("create-topics")
def create_topics_cmd(
    bootstrap: str = typer.Option("127.0.0.1:9092", envvar="XF_KAFKA_BOOTSTRAP"),
    wait: float = typer.Option(90.0, help="seconds to wait for the broker"),
) -> None:
    """Create every declared topic that is missing (shared.platform.topics)."""
    import asyncio

    from shared.tools.stack import kafka

    asyncio.run(kafka.wait_ready(bootstrap, wait))
    created = asyncio.run(kafka.create_topics(bootstrap))
    typer.echo(f"created: {', '.join(created) or 'nothing (all present)'}")


audit_app = typer.Typer(help="The tamper-evident audit of each service.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
AUDITED = ("console", "intake", "routing", "deadlines")


@audit_app.command("verify")
def audit_verify(
    service: list[str] = typer.Option(None, "--service", help=f"one of {AUDITED} (default all)"),
    database_url: str = typer.Option(None, envvar="XF_AUDIT_DATABASE_URL",
                                     help="check this database instead of the local stack's"),
) -> None:
    """Walk each audit chain: a changed, removed, inserted or reordered row is reported and the
    command exits 1."""
    import asyncio

    import asyncpg

    from shared.platform import audit

    async def check(dsn: str) -> tuple[int, list[audit.Finding]]:
        conn = await asyncpg.connect(dsn)
        try:
            return await audit.verify(conn)
        finally:
            await conn.close()

    targets = ({"database": database_url} if database_url else
               {s: control.dsns(Layout())[s] for s in (service or AUDITED)})
    broken = False
    for name, dsn in targets.items():
        checked, findings = asyncio.run(check(dsn))
        for f in findings:
            typer.secho(f"{name}: row {f.seq} {f.problem}", fg="red", err=True)
        broken |= bool(findings)
        typer.echo(f"{name}: {checked} rows, " + ("BROKEN" if findings else "chain intact"))
    raise typer.Exit(1 if broken else 0)


tokens = typer.Typer(help="Machine tokens of integrations.", no_args_is_help=True)
app.add_typer(tokens, name="tokens")


@tokens.command("hash")
def tokens_hash(client: str = typer.Option(..., help="the integration's name (the actor)"),
                role: str = typer.Option(..., help="channel, unit, staff or admin"),
                channel: str = typer.Option(None), unit: str = typer.Option(None)) -> None:
    """Print a tokens-file entry for a token read from standard input: only its SHA-256 goes
    into the file. With no input, a new random token is made and printed once."""
    import secrets
    import sys

    import yaml

    from shared.platform.auth import token_digest

    token = "" if sys.stdin.isatty() else sys.stdin.readline().strip()
    if not token:
        token = secrets.token_urlsafe(32)
        typer.echo(f"# new token (give it to {client}; it is not stored anywhere): {token}",
                   err=True)
    entry = {"sha256": token_digest(token), "client": client, "role": role,
             **({"channel": channel} if channel else {}), **({"unit": unit} if unit else {})}
    typer.echo(yaml.safe_dump([entry], allow_unicode=True, sort_keys=False).rstrip())


# Command groups that live with their service: ``services/<svc>/cli.py`` exposing ``app``.
SERVICE_COMMANDS = {"users": "console", "case": "intake", "routing": "routing",
                    "deadlines": "deadlines", "stats": "statistics"}


def _register_subcommands() -> None:
    import importlib
    import importlib.util

    from shared.tools.cli import deadletters, demo, reconcile, replay

    app.command(name="demo")(demo.demo)
    app.command(name="login")(importlib.import_module("services.console.cli").login)
    app.add_typer(importlib.import_module("services.intake.cli").keys_app, name="keys")
    app.command(name="reconcile")(reconcile.reconcile)
    app.command(name="replay")(replay.replay_cmd)
    app.add_typer(deadletters.app, name="deadletters")
    for group, service in SERVICE_COMMANDS.items():
        module_name = f"services.{service}.cli"
        if importlib.util.find_spec(module_name) is not None:
            app.add_typer(importlib.import_module(module_name).app, name=group)


_register_subcommands()


if __name__ == "__main__":
    app()
