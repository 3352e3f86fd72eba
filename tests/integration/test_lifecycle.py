"""The case lifecycle over the real stack: a full path to final with every event once and in
order; every illegal (status, action) pair refused with 409 and nothing changed; roles,
extensions, windows, races and redelivery. (The extension's approval by the unit head, hearings,
urges and instructions: test_statutory_chain.py.)"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import asyncpg

from services.intake.lifecycle import PUBLIC_ACTIONS, TRANSITIONS, CaseStatus
from shared.platform.topics import CASE_EVENTS
from shared.tools.testing.helpers import end_offsets, eventually, read_topic
from shared.tools.testing.tokens import ADMIN, STAFF, unit_token
from tests.integration.lifecycle_support import (
    act,
    assign,
    assignment,
    days_ago,
    publish_routing,
    read_case,
    submit,
)

# The path to final, with valid details for each step, and the event each step publishes.
PATH: list[tuple[str, dict[str, Any], str]] = [
    ("accept", {}, "case.accepted"),
    ("extend", {"days": 10, "reason": "需补充调查"}, "case.extension_requested"),
    ("approve_extension", {}, "case.extended"),
    ("reply", {}, "case.replied"),
    ("close", {}, "case.closed"),
    ("feedback", {}, "case.feedback_given"),
    ("rate", {"rating": "basically_satisfied"}, "case.rated"),
    ("request_review", {}, "case.review_requested"),
    ("review_decision", {}, "case.reviewed"),
    ("request_rereview", {}, "case.rereview_requested"),
    ("rereview_decision", {}, "case.rereviewed"),
]


async def _version(stack: Any, case_id: str) -> tuple[int, int]:
    conn = await asyncpg.connect(stack.dsns["intake"])
    try:
        row = await conn.fetchrow(
            "SELECT version, (SELECT count(*) FROM case_timeline t WHERE t.case_id = c.case_id)"
            " AS steps FROM cases c WHERE case_id = $1", uuid.UUID(case_id))
        return int(row["version"]), int(row["steps"])
    finally:
        await conn.close()


async def test_full_path_to_final_publishes_each_step_once_in_order(stack) -> None:
    since = await end_offsets(stack.bootstrap, CASE_EVENTS.name())
    async with aiohttp.ClientSession() as http:
        case = await submit(http, stack, days_ago(20))
        case_id = case["case_id"]
        await assign(http, stack, case_id, at=days_ago(19.5))
        for i, (action, fields, _) in enumerate(PATH):
            status, body = await act(http, stack, case_id, action, at=days_ago(19 - i),
                                     token=_token(action), **fields)
            assert status == 200, (action, body)
        record = await read_case(http, stack, case_id)
    assert record["status"] == "final"
    # Routing assigns the case too; whichever assignment lands second is a "reassign" to the
    # same unit, which changes no status.
    steps = [s["action"] for s in record["timeline"] if s["action"] != "reassign"]
    assert steps == ["register", "assign", *(a for a, _, _ in PATH)]
    expected = ["case.registered", *(t for _, _, t in PATH)]
    msgs = await read_topic(
        stack.bootstrap, CASE_EVENTS.name(), since=since, within=30,
        until=lambda m: sum(1 for _, e in m if e and e.subject == case_id) >= len(expected))
    events = [e for _, e in msgs if e is not None and e.subject == case_id]
    assert [e.type for e in events] == expected
    sequences = [getattr(e.data, "sequence", 1) for e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert events[2].data.days == 10  # type: ignore[attr-defined]
    assert events[3].data.days == 10  # type: ignore[attr-defined]  # the approval


def _token(action: str) -> str | None:
    """The unit's machine token may request an extension, not approve it (the unit head's,
    or admin's): docs/domain.md §7."""
    return ADMIN if action == "approve_extension" else None


# Only a key case's own leader instructs on it: admin gets 403 before the table is consulted.
_NOT_ADMINS = {"instruct"}


async def _illegal_everywhere(http: aiohttp.ClientSession, stack: Any, case_id: str,
                              status: CaseStatus, *, pending: bool = False) -> int:
    """Try every action the table refuses in ``status``; return how many were tried."""
    allowed = {a.value for a in TRANSITIONS[status]}
    # The case's own state refuses some of what the table allows (docs/domain.md §3).
    guarded = {"extend"} if pending else {"approve_extension", "refuse_extension"}
    guarded |= {"hearing_ended"}
    before = await _version(stack, case_id)
    tried = 0
    for action in PUBLIC_ACTIONS:
        if action in allowed or action in _NOT_ADMINS:
            continue
        code, body = await act(http, stack, case_id, action, token=ADMIN, reason="x", days=5,
                               rating="satisfied")
        assert code == 409, (status, action, body)
        assert body["status"] == status.value
        assert set(body["allowed_actions"]) == allowed - {"assign"} - _NOT_ADMINS - guarded
        tried += 1
    assert await _version(stack, case_id) == before, f"a refusal changed the case in {status}"
    return tried


async def test_every_illegal_transition_is_refused_and_changes_nothing(stack) -> None:
    tried = 0
    async with aiohttp.ClientSession() as http:
        main = (await submit(http, stack, days_ago(30)))["case_id"]
        await assign(http, stack, main, at=days_ago(29.7))
        tried += await _illegal_everywhere(http, stack, main, CaseStatus.ASSIGNED)
        # Back to registered by an objection: routing's new decision (a lower version than
        # the test's assignment) is ignored, so the case stays registered while every refused
        # action is tried — a fresh case would be assigned by routing meanwhile.
        code, body = await act(http, stack, main, "object", reason="不属本单位职责",
                               at=days_ago(29.6))
        assert code == 200, body
        tried += await _illegal_everywhere(http, stack, main, CaseStatus.REGISTERED)
        await assign(http, stack, main, at=days_ago(29.5), version=1001)
        for i, (action, fields, _) in enumerate(PATH):
            code, body = await act(http, stack, main, action, at=days_ago(29 - i),
                                   token=_token(action), **fields)
            assert code == 200, body
            tried += await _illegal_everywhere(http, stack, main, CaseStatus(body["status"]),
                                               pending=action == "extend")
        for action, fields, terminal in (("decline", {"reason": "不属于信访事项"}, "declined"),
                                         ("transfer_out", {"reason": "非教育系统职责",
                                                           "transfer_to": "市人社局"},
                                          "transferred_out")):
            side = (await submit(http, stack, days_ago(5)))["case_id"]
            await assign(http, stack, side, at=days_ago(4))
            code, body = await act(http, stack, side, action, **fields)
            assert code == 200, body
            tried += await _illegal_everywhere(http, stack, side, CaseStatus(terminal))
    # Every status has been visited: the whole table of refused pairs was exercised.
    # (accepted is visited twice: before the extension request and while it waits.)
    refused = sum(len(set(PUBLIC_ACTIONS) - _NOT_ADMINS
                      - {a.value for a in TRANSITIONS[s]})
                  for s in [*CaseStatus, CaseStatus.ACCEPTED])
    assert tried == refused


async def test_wrong_unit_extension_limits_and_review_window(stack) -> None:
    async with aiohttp.ClientSession() as http:
        case_id = (await submit(http, stack, days_ago(80)))["case_id"]
        await assign(http, stack, case_id, at=days_ago(79))
        code, _ = await act(http, stack, case_id, "accept",
                            token=unit_token("jian_bureau"))
        assert code == 403
        code, _ = await act(http, stack, case_id, "accept", at=days_ago(78))
        assert code == 200
        code, body = await act(http, stack, case_id, "extend", days=31, reason="复杂")
        assert code == 422 and body["errors"][0]["field"] == "days"
        code, body = await act(http, stack, case_id, "extend", days=30)
        assert code == 422 and body["errors"][0]["field"] == "reason"
        code, _ = await act(http, stack, case_id, "extend", days=30, reason="复杂",
                            at=days_ago(70))
        assert code == 200
        code, body = await act(http, stack, case_id, "approve_extension", at=days_ago(70))
        assert code == 403 and "unit_head" in body["error"]  # a machine token: no head
        code, _ = await act(http, stack, case_id, "approve_extension", at=days_ago(70),
                            token=ADMIN)
        assert code == 200
        code, body = await act(http, stack, case_id, "extend", days=5, reason="再延")
        assert code == 409 and "once" in body["error"]
        for action, ago in (("reply", 60), ("close", 59)):
            code, _ = await act(http, stack, case_id, action, at=days_ago(ago))
            assert code == 200
        # The review window (30 days from the written answer, Art. 35) closed long ago.
        code, body = await act(http, stack, case_id, "request_review", token=STAFF)
        assert code == 422 and body["errors"][0]["field"] == "at"
        code, body = await act(http, stack, case_id, "accept", at=days_ago(100), token=STAFF)
        assert code == 409
        record = await read_case(http, stack, case_id)
    assert record["status"] == "closed"


async def test_concurrent_conflicting_actions_one_wins(stack) -> None:
    async with aiohttp.ClientSession() as http:
        case_id = (await submit(http, stack, days_ago(3)))["case_id"]
        await assign(http, stack, case_id, at=days_ago(2))
        before = await _version(stack, case_id)
        results = await asyncio.gather(
            act(http, stack, case_id, "accept"),
            act(http, stack, case_id, "decline", reason="不属于受理范围"),
            act(http, stack, case_id, "accept"),
            act(http, stack, case_id, "decline", reason="不属于受理范围"),
        )
        record = await read_case(http, stack, case_id)
    codes = sorted(code for code, _ in results)
    assert codes == [200, 409, 409, 409], results
    winner = next(body for code, body in results if code == 200)
    assert record["status"] == winner["status"]
    assert await _version(stack, case_id) == (before[0] + 1, before[1] + 1)


async def test_redelivered_assignment_changes_nothing(stack) -> None:
    async with aiohttp.ClientSession() as http:
        case_id = (await submit(http, stack, days_ago(3)))["case_id"]
        event_id = str(uuid.uuid4())
        value = assignment(case_id, version=1000, at=days_ago(2), event_id=event_id)
        await publish_routing(stack, case_id, value)
        await eventually(lambda: _assignment_version(stack, case_id, 1000),
                         what="assignment applied")
        after_first = await _version(stack, case_id)
        await publish_routing(stack, case_id, value)  # the same event again
        # A later, distinct marker event shows the redelivered one has been consumed.
        await publish_routing(stack, case_id, assignment(case_id, version=1001,
                                                         unit="jizhou_bureau", at=days_ago(1)))
        await eventually(lambda: _assignment_version(stack, case_id, 1001),
                         what="the marker assignment applied")
    version, steps = await _version(stack, case_id)
    assert (version, steps) == (after_first[0] + 1, after_first[1] + 1)


async def _assignment_version(stack: Any, case_id: str, version: int) -> bool:
    conn = await asyncpg.connect(stack.dsns["intake"])
    try:
        return bool(await conn.fetchval(
            "SELECT assignment_version = $2 FROM cases WHERE case_id = $1",
            uuid.UUID(case_id), version))
    finally:
        await conn.close()
