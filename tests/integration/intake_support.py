"""What the intake tests share: a valid submission, a resident ID maker, database reads."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from shared.platform.topics import CASE_EVENTS
from shared.tools.testing.helpers import read_topic


def resident_id(birth: str = "19800101", seq: str = "123") -> str:
    """A syntactically valid GB 11643 number (region 360802 = 吉州区) for tests."""
    first17 = f"360802{birth}{seq}"
    weights = [pow(2, 17 - i, 11) for i in range(17)]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    return first17 + check


def _birth(n: int) -> str:
    # A birth date per petitioner, so the keyed hash of the resident ID differs per test case.
    return f"{1950 + n % 50}{1 + n // 50 % 12:02d}{1 + n // 600 % 28:02d}"


def submission(channel: str = "letter", **over: Any) -> dict[str, Any]:
    """A valid case from a petitioner of its own, on a matter of its own: routing must not
    link it to another test's case as a repeat or a duplicate."""
    n = uuid.uuid4().int
    body: dict[str, Any] = {
        "channel": channel,
        "external_id": f"it-{uuid.uuid4()}",
        "jurisdiction": "jizhou",
        "category": "fees",
        "title": "学校违规收费",
        "content": f"某某学校以资料费名义向学生收取费用，请求查处。编号{n % 10**12:012d}",
        "petitioner": {"name": "测试人", "id_number": resident_id(seq=f"{n % 1000:03d}",
                                                              birth=_birth(n)),
                       "phone": "13800138000",
                       "address": "吉州区某路1号"},
    }
    body.update(over)
    return body


async def case_count(dsn: str, where: str = "TRUE", *args: Any) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM cases WHERE {where}", *args))
    finally:
        await conn.close()


async def registered_events(bootstrap: str, since: dict[int, int], case_ids: set[str],
                            *, expect: int, within: float = 60.0) -> list[Any]:
    """Every message after ``since`` whose key is one of ``case_ids`` (raw records)."""
    keys = {c.encode() for c in case_ids}

    def enough(msgs: list[tuple[Any, Any]]) -> bool:
        return sum(1 for r, _ in msgs if r.key in keys) >= expect

    msgs = await read_topic(bootstrap, CASE_EVENTS.name(), since=since, until=enough,
                            within=within)
    return [r for r, _ in msgs if r.key in keys]
