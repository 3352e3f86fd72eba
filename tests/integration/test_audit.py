"""The tamper-evident audit over the real database: identity reads need a purpose and are
recorded with who, what, why and from where; the runtime role cannot change the audit; a
superuser's edit, removal or reordering is found by ``xf audit verify``."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from shared.platform import audit
from shared.platform.auth import Actor
from shared.platform.migrations import statements
from shared.tools.stack import postgres
from shared.tools.testing.helpers import eventually
from shared.tools.testing.people import person
from shared.tools.testing.tokens import ADMIN, STAFF, bearer, channel_token
from tests.integration.intake_support import submission


async def _submit(http: aiohttp.ClientSession, stack: Any) -> str:
    async with http.post(stack.url("intake", "/v1/cases"), json=submission("letter"),
                         headers=bearer(channel_token("letter"))) as r:
        assert r.status == 201
        return str((await r.json())["case_id"])


async def test_identity_reads_need_a_purpose_and_are_audited(stack) -> None:
    console = stack.url("console", "")
    async with aiohttp.ClientSession() as http:
        case_id = await _submit(http, stack)
        url = stack.url("intake", f"/v1/cases/{case_id}")
        staff = await person(http, console, "staff", name="王信访")
        async with http.get(url, headers=staff.headers) as r:
            withheld = (await r.json())["petitioner"]
        async with http.get(url, params={"purpose": "电话回访核实诉求"},
                            headers=staff.headers) as r:
            read = (await r.json())["petitioner"]

        async def unit() -> str | None:
            async with http.get(url, headers=bearer(STAFF)) as r:
                return (await r.json())["assigned_unit"]

        handler = await person(http, console, "handler",
                               unit=await eventually(unit, within=60, what="assignment"))
        async with http.get(url, params={"purpose": "送达答复意见"},
                            headers=handler.headers) as r:
            handler_read = (await r.json())["petitioner"]
        async with http.get(stack.url("intake", "/v1/audit"), params={"case_id": case_id},
                            headers=bearer(STAFF)) as r:
            assert r.status == 403  # the audit is the administrator's
        async with http.get(stack.url("intake", "/v1/audit"), params={"case_id": case_id},
                            headers=bearer(ADMIN)) as r:
            rows = (await r.json())["items"]
    assert "name" not in withheld and "purpose" in withheld["identity"]
    assert read["name"] == "测试人" and read["id_number"]
    assert handler_read["name"] == "测试人" and "id_number" not in handler_read
    assert [(r["actor"]["name"], r["purpose"]) for r in rows] == [
        ("王信访", "电话回访核实诉求"), (handler.account["display_name"], "送达答复意见")]
    first, second = rows
    assert first["actor"]["id"] == f"account:{staff.account['account_id']}"
    assert first["action"] == "personal_data.read" and first["client_addr"] == "127.0.0.1"
    assert sorted(first["detail"]["fields"]) == ["address", "id_number", "name", "phone"]
    assert sorted(second["detail"]["fields"]) == ["address", "name", "phone"]


async def test_admin_changes_are_audited_by_the_service_that_made_them(stack) -> None:
    async with aiohttp.ClientSession() as http:
        account = (await person(http, stack.url("console", ""), "leader")).account
        async with http.get(stack.url("console", "/v1/audit"), headers=bearer(ADMIN)) as r:
            rows = (await r.json())["items"]
    added = [r for r in rows if r["action"] == "account.add"
             and r["detail"]["account_id"] == account["account_id"]]
    assert len(added) == 1 and added[0]["actor"]["id"] == "client:dev-admin-console"


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET purpose = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"])
@pytest.mark.parametrize("service", ["intake", "console", "routing", "deadlines"])
async def test_the_runtime_role_cannot_change_the_audit(stack, service: str,
                                                        statement: str) -> None:
    conn = await asyncpg.connect(stack.dsns[service])
    try:
        assert await conn.fetchval(
            "SELECT has_table_privilege('audit_log', 'INSERT') AND "
            "has_table_privilege('audit_log', 'SELECT')")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def scratch(stack) -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    """A database of its own with an audit chain, edited as a superuser would."""
    name = f"xf_audit_test_{uuid.uuid4().hex[:8]}"
    admin = await postgres.superuser_connect(stack.layout)
    await admin.execute(f"CREATE DATABASE {name}")
    conn = await postgres.superuser_connect(stack.layout, name)
    try:
        for stmt in statements(audit.AUDIT_DDL):
            await conn.execute(stmt)
        at = datetime(2026, 12, 1, 9, tzinfo=UTC)
        for i in range(5):
            async with conn.transaction():
                await audit.append(conn, audit.Entry(
                    Actor(f"account:{i}", f"人{i}", "staff"), "personal_data.read",
                    str(uuid.uuid4()), {"fields": ["name"]}, "核实", "127.0.0.1"),
                    at + timedelta(minutes=i))
        # Triggers off for this session: what a superuser can do, and the chain must show.
        await conn.execute("SET session_replication_role = replica")
        dsn = (f"postgresql://{postgres.SUPERUSER}@/{name}"
               f"?host={stack.layout.pg_socket_dir}&port={stack.layout.pg_port}")
        yield conn, dsn
    finally:
        await conn.close()
        await admin.execute(f"DROP DATABASE {name}")
        await admin.close()


def _xf_verify(dsn: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared.tools.cli.main", "audit", "verify",
                           "--database-url", dsn], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("tamper", "finds"), [
    ("UPDATE audit_log SET purpose = '随便看看' WHERE seq = 3", "row 3 its content"),
    ("DELETE FROM audit_log WHERE seq = 2", "row 3 rows 2–2 are missing"),
    ("UPDATE audit_log SET seq = -seq WHERE seq IN (2, 3);"
     "UPDATE audit_log SET seq = 5 + seq WHERE seq IN (-2, -3)", "row 2 does not follow"),
])
async def test_xf_audit_verify_finds_an_edited_removed_or_reordered_row(
        scratch: tuple[asyncpg.Connection, str], tamper: str, finds: str) -> None:
    conn, dsn = scratch
    before = _xf_verify(dsn)
    assert before.returncode == 0 and "5 rows, chain intact" in before.stdout, before.stderr
    await conn.execute("ALTER TABLE audit_log DROP CONSTRAINT audit_log_seq_check")
    for stmt in tamper.split(";"):
        await conn.execute(stmt)
    after = _xf_verify(dsn)
    assert after.returncode == 1 and "BROKEN" in after.stdout
    assert finds in after.stderr, after.stderr
