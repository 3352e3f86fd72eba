"""PII key rotation on the real database, with intake running: ``xf keys rotate`` re-encrypts
under the writing key and is idempotent; a ciphertext whose key intake lacks gets a 503 that
names the key, and rotating back under intake's key makes the case readable again."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import uuid

import aiohttp
import asyncpg

from services.intake.keyring import key_ring
from services.intake.rotation import rotate_batch
from shared.tools.stack import control
from shared.tools.testing.helpers import eventually
from shared.tools.testing.tokens import STAFF, bearer, channel_token
from tests.integration.intake_support import submission

# Every ciphertext column of ``cases``, named here rather than taken from the rotation itself.
CIPHERTEXTS = ("petitioner_name_enc", "petitioner_id_enc", "petitioner_phone_enc",
               "petitioner_address_enc", "query_code_enc", "free_text_enc",
               "representatives_enc")


def _xf_rotate(stack) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = control.service_env(stack.layout, "intake", control.load_secrets(stack.layout))
    return subprocess.run([sys.executable, "-m", "shared.tools.cli.main", "keys", "rotate"],
                          env=env, capture_output=True, text=True, timeout=300)


async def test_rotation_and_a_missing_key(stack) -> None:
    # A mobile number typed into the content: the original text is kept encrypted too; a
    # group visit: its representatives as well. So every ciphertext column is filled.
    body = submission("visit", signers=3, representatives=[
        {"name": "代表甲", "phone": "13900139000"}, {"name": "代表乙"}])
    body["content"] += "，联系电话13912345678"
    async with aiohttp.ClientSession() as http:
        async with http.post(stack.url("intake", "/v1/cases"), json=body,
                             headers=bearer(channel_token("visit"))) as r:
            created = await r.json()
        case_id = uuid.UUID(created["case_id"])
        url = stack.url("intake", f"/v1/cases/{case_id}?purpose=核实")

        first = _xf_rotate(stack)
        assert first.returncode == 0, first.stderr
        again = _xf_rotate(stack)
        assert again.returncode == 0 and ", 0 re-encrypted under key 'k1'" in again.stdout

        stack_key = base64.b64decode(control.load_secrets(stack.layout)["XF_PII_KEY"])
        test_key = os.urandom(32)
        only_this_case = uuid.UUID(int=case_id.int - 1)
        conn = await asyncpg.connect(stack.dsns["intake"])
        try:
            _, done = await rotate_batch(conn, key_ring("k-test", test_key, {"k1": stack_key}),
                                         only_this_case, 1)
            assert done.rewritten == 1
            blobs = await conn.fetchrow(
                f"SELECT {', '.join(CIPHERTEXTS)} FROM cases WHERE case_id = $1", case_id)
            # Every ciphertext of the case is under the new key, the original text's and the
            # representatives' as well. The header: "XK1", the id's length, the id (ten bytes).
            under = b"XK1\x06k-test"
            assert {c: bytes(v)[:len(under)] for c, v in blobs.items() if v is not None} == {
                c: under for c in CIPHERTEXTS}
            async with http.get(url, headers=bearer(STAFF)) as r:
                missing = await r.json()
                assert r.status == 503, missing
            assert missing["key_id"] == "k-test" and "XF_PII_OLD_KEYS" in missing["error"]
        finally:
            # Back under the stack's key even when a check failed: the test key dies with the
            # test, and a case left under it would stop every later `xf keys rotate`.
            await rotate_batch(conn, key_ring("k1", stack_key, {"k-test": test_key}),
                               only_this_case, 1)
            await conn.close()
        async with http.get(url, headers=bearer(STAFF)) as r:
            assert r.status == 200
            record = await r.json()
            assert record["petitioner"]["name"] == "测试人"
            assert "13912345678" in record["original_text"]["content"]
            assert [p["name"] for p in record["petitioner"]["representatives"]] == [
                "代表甲", "代表乙"]


async def test_rotation_never_deadlocks_with_a_transaction_that_locks_cases(stack) -> None:
    """The service locks several cases in one transaction; rotation holds one row at a time,
    so a transaction that holds case B and then wants case A gets it while rotation waits."""
    secrets_ = control.load_secrets(stack.layout)
    stack_key = base64.b64decode(secrets_["XF_PII_KEY"])
    test_key = os.urandom(32)
    service = await asyncpg.connect(stack.dsns["intake"])
    rotator = await asyncpg.connect(stack.dsns["intake"])
    try:
        first, second = [r["case_id"] for r in await service.fetch(
            "SELECT case_id FROM cases ORDER BY case_id LIMIT 2")]
        before = uuid.UUID(int=first.int - 1)
        away, back = (key_ring("k-test", test_key, {"k1": stack_key}),
                      key_ring("k1", stack_key, {"k-test": test_key}))
        tx = service.transaction()
        await tx.start()
        await service.execute("SELECT 1 FROM cases WHERE case_id = $1 FOR UPDATE", second)
        rotating = asyncio.create_task(rotate_batch(rotator, away, before, 2))

        async def rotation_waits() -> bool:
            return bool(await service.fetchval(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1",
                rotator.get_server_pid()))

        await eventually(rotation_waits, within=30, what="rotation to wait for the lock")
        await service.execute("SET LOCAL lock_timeout = '10s'")
        await service.execute("SELECT 1 FROM cases WHERE case_id = $1 FOR UPDATE", first)
        await tx.commit()
        _, done = await asyncio.wait_for(rotating, 30)
        assert done.rewritten == 2
        await rotate_batch(rotator, back, before, 2)
    finally:
        await service.close()
        await rotator.close()
