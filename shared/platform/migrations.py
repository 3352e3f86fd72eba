"""Alembic, driven from code: each service keeps its revisions in ``services/<svc>/migrations``.

``xf stack up`` (and the Docker entrypoint) call :func:`upgrade`; re-running it is a no-op.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import pool as sa_pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"


def alembic_config(service: str, dsn: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", to_sqlalchemy_url(dsn).replace("%", "%%"))
    return cfg


def to_sqlalchemy_url(dsn: str) -> str:
    for scheme in ("postgresql://", "postgres://"):
        if dsn.startswith(scheme):
            return "postgresql+asyncpg://" + dsn[len(scheme):]
    return dsn


def upgrade(service: str, dsn: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, dsn), revision)


def run_env() -> None:
    """Body of every service's ``migrations/env.py`` (online mode, asyncpg)."""
    config = context.config

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = async_engine_from_config(
            config.get_section(config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=sa_pool.NullPool,
        )
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())


def statements(script: str) -> list[str]:
    """Split a SQL script into statements (asyncpg prepares each; it takes one at a time).

    Semicolons inside ``$$ … $$`` bodies do not end a statement.
    """
    out: list[str] = []
    current: list[str] = []
    in_body = False
    for line in script.splitlines():
        current.append(line)
        if line.count("$$") % 2:
            in_body = not in_body
        if not in_body and line.rstrip().endswith(";"):
            stmt = "\n".join(current).strip()
            if stmt.rstrip(";").strip():
                out.append(stmt)
            current = []
    tail = "\n".join(current).strip()
    if tail:
        out.append(tail)
    return out


def run_sql(script: str) -> None:
    """Execute a multi-statement SQL script inside the current migration."""
    from alembic import op

    for stmt in statements(script):
        op.execute(stmt)
