"""PostgreSQL from Debian's packages: one cluster on loopback, one database and one login
role per service; a role may connect to its own database only (CONNECT granted to it alone)."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

import asyncpg

from shared.tools.stack.kafka import StackError
from shared.tools.stack.layout import SERVICES, Layout
from shared.tools.stack.processes import apt_install

SUPERUSER = "postgres"


def bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def ensure_installed(say=print) -> Path:  # type: ignore[no-untyped-def]
    found = bin_dir()
    if found is not None:
        return found
    try:
        apt_install("postgresql", say)
    except PermissionError as exc:
        raise StackError(str(exc)) from None
    found = bin_dir()
    if found is None:
        raise StackError("PostgreSQL installed but pg_ctl not found")
    return found


def _as_owner(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres OS user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _chown_to_owner(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def init(layout: Layout, bindir: Path) -> bool:
    data = layout.pg_data
    if (data / "PG_VERSION").exists():
        return False
    layout.pg_home.mkdir(parents=True, exist_ok=True)
    for d in (layout.pg_home, data, layout.pg_socket_dir):
        d.mkdir(parents=True, exist_ok=True)
        _chown_to_owner(d)
    layout.pg_socket_dir.chmod(0o700)
    subprocess.run(_as_owner([
        str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-E", "UTF8",
        "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
    ]), check=True, capture_output=True)
    conf = data / "postgresql.auto.conf"
    conf.write_text(conf.read_text() + "\n".join([
        "listen_addresses = '127.0.0.1'",
        f"port = {layout.pg_port}",
        f"unix_socket_directories = '{layout.pg_socket_dir}'",
        "max_connections = 300",
        "shared_buffers = '512MB'",
        "work_mem = '16MB'",
        "maintenance_work_mem = '256MB'",
        "wal_level = 'minimal'",
        "max_wal_senders = 0",
        "synchronous_commit = 'on'",
        "log_min_duration_statement = 1000",
        "",
    ]))
    # Only the superuser over the (0700) socket without a password; every service role
    # over TCP with its password.
    (data / "pg_hba.conf").write_text(
        f"local all {SUPERUSER} trust\n"
        "host all all 127.0.0.1/32 scram-sha-256\n"
    )
    return True


def is_running(layout: Layout, bindir: Path) -> bool:
    result = subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(layout.pg_data),
                                       "status"]), capture_output=True)
    return result.returncode == 0


def start(layout: Layout, bindir: Path) -> bool:
    if is_running(layout, bindir):
        return False
    subprocess.run(_as_owner([
        str(bindir / "pg_ctl"), "-D", str(layout.pg_data), "-w", "-t", "60",
        "-l", str(layout.pg_home / "server.log"), "start",
    ]), check=True, capture_output=True)
    return True


def start_and_wait(layout: Layout, bindir: Path, within: float = 60.0) -> bool:
    """Start the cluster if it is not running and wait until it accepts connections; True if
    this call started it. Right after a crash ``pg_ctl status`` can still see the dead
    postmaster: a cluster that refuses connections and turns out not to run is started."""
    started = start(layout, bindir)
    deadline = time.monotonic() + within
    while True:
        try:
            asyncio.run(_ping(layout))
            return started
        except (OSError, asyncpg.PostgresError) as exc:
            if time.monotonic() > deadline:
                raise StackError(f"PostgreSQL does not accept connections ({exc}); see "
                                 f"{layout.pg_home / 'server.log'}") from exc
            if start(layout, bindir):
                started = True
            time.sleep(0.3)


async def _ping(layout: Layout) -> None:
    conn = await superuser_connect(layout)
    await conn.close()


def stop(layout: Layout) -> bool:
    bindir = bin_dir()
    if bindir is None or not layout.pg_data.exists() or not is_running(layout, bindir):
        return False
    subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(layout.pg_data), "-w",
                              "-m", "fast", "stop"]), check=True, capture_output=True)
    return True


def role_name(service: str) -> str:
    return f"xinfang_{service}"


def service_dsn(layout: Layout, service: str, password: str) -> str:
    role = role_name(service)
    return f"postgresql://{role}:{password}@127.0.0.1:{layout.pg_port}/{role}"


async def superuser_connect(layout: Layout, database: str = "postgres") -> asyncpg.Connection:
    return await asyncpg.connect(host=str(layout.pg_socket_dir), port=layout.pg_port,
                                 user=SUPERUSER, database=database)


async def provision(layout: Layout, passwords: dict[str, str]) -> None:
    """Create (or bring up to date) each service's role and database. Idempotent."""
    conn = await superuser_connect(layout)
    try:
        for service in SERVICES:
            role = role_name(service)
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            verb = "ALTER" if exists else "CREATE"
            # Identifiers come from our own constant list; the password is a quoted literal.
            password = passwords[service].replace("'", "''")
            await conn.execute(f"{verb} ROLE {role} LOGIN PASSWORD '{password}'")
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", role):
                await conn.execute(f"CREATE DATABASE {role} OWNER {role}")
            await conn.execute(f"REVOKE ALL ON DATABASE {role} FROM PUBLIC")
            await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {role} TO {role}")
        await conn.execute("REVOKE ALL ON DATABASE postgres FROM PUBLIC")
    finally:
        await conn.close()
