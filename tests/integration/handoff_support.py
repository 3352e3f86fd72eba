"""A handed-off case in tests: submitted on a transfer channel with its assigning body and
reference, then driven through acceptance and closure as the unit would."""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from typing import Any

import aiohttp
from docx import Document

from shared.tools.testing.tokens import STAFF, bearer, channel_token
from tests.integration.intake_support import submission
from tests.integration.lifecycle_support import act, assign

BODY = "江西省信访局"


def reference() -> str:
    return f"赣信转〔2026〕{uuid.uuid4().int % 10**6:06d}号"


async def submit_handoff(http: aiohttp.ClientSession, stack: Any, received_at: datetime, *,
                         channel: str = "provincial_transfer", assigned_by: str = BODY,
                         ref: str | None = None, **over: Any) -> dict[str, Any]:
    body = submission(channel, received_at=received_at.isoformat(), assigned_by=assigned_by,
                      assigned_ref=ref or reference(), **over)
    async with http.post(stack.url("intake", "/v1/cases"), json=body,
                         headers=bearer(channel_token(channel))) as r:
        assert r.status == 201, await r.text()
        return {**dict(await r.json()), "assigned_ref": body["assigned_ref"]}


async def handle(http: aiohttp.ClientSession, stack: Any, case_id: str,
                 steps: list[tuple[str, datetime, dict[str, Any]]], *,
                 assigned_at: datetime) -> None:
    """Assign the case (as routing would) and take each (action, at, fields) step."""
    await assign(http, stack, case_id, at=assigned_at)
    for action, at, fields in steps:
        status, answer = await act(http, stack, case_id, action, at=at, **fields)
        assert status == 200, (action, answer)


async def report_cells(http: aiohttp.ClientSession, stack: Any, case_id: str
                       ) -> tuple[int, dict[str, str], str]:
    """The hand-off report's status, and its table (label → value) and text when it is a
    document."""
    async with http.get(stack.url("intake", f"/v1/cases/{case_id}/handoff-report"),
                        headers=bearer(STAFF)) as r:
        if r.status != 200:
            return r.status, {}, await r.text()
        doc = Document(io.BytesIO(await r.read()))
    cells = {row.cells[0].text: row.cells[1].text for row in doc.tables[0].rows}
    return 200, cells, "\n".join(p.text for p in doc.paragraphs)
