"""Every validation rule over HTTP: a 4xx naming the field, and nothing stored or published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from shared.tools.testing.tokens import bearer, channel_token
from tests.integration.intake_support import case_count, submission


def _with(path: str, value: Any) -> dict[str, Any]:
    body = submission("letter")
    target = body
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[part]
    if value is _DROP:
        target.pop(parts[-1], None)
    else:
        target[parts[-1]] = value
    return body


_DROP = object()
_BAD_ID = "360802198001011230"  # valid format, wrong check digit
_IMPOSSIBLE_BIRTH = "360802198002301234"

CASES = [
    ("channel", "pigeon"),
    ("category", "weather"),
    ("jurisdiction", "北京市"),
    ("title", _DROP),
    ("title", "   "),
    ("content", _DROP),
    ("content", ""),
    ("title", "题" * 201),
    ("content", "字" * 20_001),
    ("petitioner.id_number", _BAD_ID),
    ("petitioner.id_number", _IMPOSSIBLE_BIRTH),
    ("petitioner.phone", "12345"),
    ("petitioner.phone", "+1 415 555 0100"),
    ("received_at", (datetime.now(UTC) + timedelta(days=2)).isoformat()),
    ("received_at", "2026-01-05T10:00:00"),
    ("received_at", "yesterday"),
    ("signers", 0),
    ("signers", "five"),
    ("petitioner.name", _DROP),
    ("title", 12345),
    ("surprise", "unknown top-level field"),
]


@pytest.mark.parametrize(("field", "value"), CASES,
                         ids=[f"{f}={str(v)[:20]}" for f, v in CASES])
async def test_invalid_field_is_named_and_nothing_changes(stack, field: str, value: Any
                                                          ) -> None:
    body = _with(field, value)
    before = await _last_outbox_id(stack.dsns["intake"])
    async with aiohttp.ClientSession() as http, http.post(
        stack.url("intake", "/v1/cases"), json=body, headers=bearer(channel_token("letter"))
    ) as r:
        assert r.status == 422, await r.text()
        errors = (await r.json())["errors"]
    assert field in [e["field"] for e in errors], errors
    assert all(e["message"] for e in errors)
    assert await case_count(stack.dsns["intake"], "external_id = $1", body["external_id"]) == 0
    # Nothing to publish: every event reaches the topic through the outbox, and the outbox
    # gained no row (tests run one at a time, so no other request adds one meanwhile).
    assert await _last_outbox_id(stack.dsns["intake"]) == before


async def _last_outbox_id(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox"))
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'{"channel": "letter"}', "text/plain", 415),
        (b'{"title": "' + b"x" * (1024 * 1024 + 10) + b'"}', "application/json", 413),
    ],
    ids=["malformed", "wrong-type", "too-large"],
)
async def test_body_errors(stack, data: bytes, content_type: str, status: int) -> None:
    async with aiohttp.ClientSession() as http, http.post(
        stack.url("intake", "/v1/cases"), data=data,
        headers={**bearer(channel_token("letter")), "Content-Type": content_type},
    ) as r:
        assert r.status == status, await r.text()
        assert "error" in await r.json()
