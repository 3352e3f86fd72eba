"""Deadlines against the real broker and database: case events produced straight onto
xinfang.case.events / xinfang.routing.events (fresh case ids), timers read back through the
API, alerts read from xinfang.deadline.events, the gauge from /metrics.

The helpers here are shared with test_deadlines_scaling.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
from aiokafka import AIOKafkaProducer

from shared.domain.calendar import WorkingCalendar
from shared.domain.event_types import EventData
from shared.domain.limits import SHANGHAI, DeadlineKind, compute_due, local_date
from shared.domain.schemas import STEP_TYPES, CaseAssigned, CaseRegistered, DeadlineRescheduled
from shared.platform.events import Envelope, encode, envelope_for
from shared.platform.settings import METRICS_PORT_SHIFT
from shared.platform.topics import CASE_EVENTS, DEADLINE_EVENTS, ROUTING_EVENTS
from shared.tools.stack.layout import PORT_OFFSET
from shared.tools.testing.helpers import end_offsets, events_for, eventually, read_topic
from shared.tools.testing.tokens import ADMIN, STAFF, bearer

DEADLINES_URL = f"http://127.0.0.1:{8083 + PORT_OFFSET}"
ALERTS = ("deadline.warning", "deadline.overdue")


def days_ago(n: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=n)


class CaseScript:
    """One fresh case, its events produced as intake and routing would."""

    def __init__(self, unit: str = "jizhou_bureau", jurisdiction: str = "jizhou") -> None:
        self.case_id = str(uuid.uuid4())
        self.unit = unit
        self.jurisdiction = jurisdiction
        self.sequence = 1
        self.outgoing: list[tuple[str, Envelope]] = []

    def _add(self, topic: str, data: EventData, at: datetime) -> None:
        self.outgoing.append((topic, envelope_for(data, subject=self.case_id, source="tests",
                                                  time=at)))

    def registered(self, at: datetime, channel: str = "letter",
                   assigned_by: str | None = None) -> CaseScript:
        self._add(CASE_EVENTS.name(), CaseRegistered(
            case_id=self.case_id, tracking_no=f"T-{self.case_id[:8]}", channel=channel,
            jurisdiction=self.jurisdiction, category="fees", received_at=at,
            assigned_by=assigned_by), at)
        return self

    def assigned(self, at: datetime, version: int = 1000) -> CaseScript:
        self._add(ROUTING_EVENTS.name(), CaseAssigned(
            case_id=self.case_id, unit=self.unit, assignment_version=version, rule_id="test",
            rule_version=1, assigned_at=at), at)
        return self

    def step(self, action: str, at: datetime, **extra: Any) -> CaseScript:
        self.sequence += 1
        model = STEP_TYPES[action]
        self._add(CASE_EVENTS.name(), model(
            case_id=self.case_id, at=at, status=action, previous_status="x",
            sequence=self.sequence, unit=self.unit, **extra), at)
        return self


async def produce(bootstrap: str, scripts: Sequence[CaseScript]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for script in scripts:
            for topic, envelope in script.outgoing:
                await producer.send_and_wait(topic, value=encode(envelope),
                                             key=script.case_id.encode())
            script.outgoing.clear()
    finally:
        await producer.stop()


async def deadlines(http: aiohttp.ClientSession, case_id: str, base: str = DEADLINES_URL
                    ) -> list[dict[str, Any]]:
    async with http.get(f"{base}/v1/deadlines/{case_id}", headers=bearer(STAFF)) as r:
        if r.status == 404:
            return []
        assert r.status == 200, await r.text()
        return list(await r.json())


async def timer_when(http: aiohttp.ClientSession, case_id: str, kind: str,
                     **expected: Any) -> dict[str, Any]:
    """Wait for the case's `kind` timer to show `expected` fields; return it."""
    async def probe() -> dict[str, Any] | None:
        for t in await deadlines(http, case_id):
            if t["kind"] == kind and all(t.get(k) == v for k, v in expected.items()):
                return t
        return None

    return await eventually(probe, within=60, what=f"{kind} timer of {case_id} {expected}")


async def alerts_of(bootstrap: str, since: dict[int, int], case_ids: set[str],
                    until: Any = None, within: float = 60.0) -> list[Envelope]:
    messages = await read_topic(
        bootstrap, DEADLINE_EVENTS.name(), since=since, within=within,
        until=(lambda ms: until(events_for(ms, case_ids))) if until else None)
    return events_for(messages, case_ids)


async def gauge_value(http: aiohttp.ClientSession, name: str, labels: dict[str, str],
                      ports: Sequence[int] = (8083 + PORT_OFFSET,)) -> float | None:
    """The gauge as a dashboard sees it: max over the instances that export it."""
    wanted = "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    values = []
    for port in ports:
        async with http.get(f"http://127.0.0.1:{port + METRICS_PORT_SHIFT}/metrics") as r:
            for line in (await r.text()).splitlines():
                if line.startswith(name + "{"):
                    series, value = line.rsplit(" ", 1)
                    got = dict(p.split("=", 1) for p in series[len(name) + 1:-1].split(","))
                    if "{" + ",".join(f"{k}={got[k]}" for k in sorted(got)) + "}" == wanted:
                        values.append(float(value))
    return max(values) if values else None


async def next_fires(dsn: str, case_ids: Sequence[str]) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(
            "SELECT case_id, kind, next_fire_at FROM timers WHERE case_id = ANY($1::text[]) "
            "AND next_fire_at IS NOT NULL", list(case_ids)))
    finally:
        await conn.close()


# --- tests ------------------------------------------------------------------------------------


async def test_old_case_never_closed_goes_overdue_once_and_is_counted(stack: Any) -> None:
    unit = f"t-unit-{uuid.uuid4().hex[:10]}"
    case = (CaseScript(unit=unit).registered(days_ago(200)).assigned(days_ago(199))
            .step("accept", days_ago(198)))
    since = await end_offsets(stack.bootstrap, DEADLINE_EVENTS.name())
    await produce(stack.bootstrap, [case])
    async with aiohttp.ClientSession() as http:
        handling = await timer_when(http, case.case_id, "handling", status="overdue")
        expected_due = compute_due(DeadlineKind.handling, local_date(days_ago(198)),
                                   WorkingCalendar()).due_date
        assert handling["due_date"] == expected_due.isoformat()
        assert handling["article"] == "第34条" and handling["start"]["type"] == "case.accepted"
        by_kind = {t["kind"]: t for t in await deadlines(http, case.case_id)}
        assert by_kind["routing"]["status"] == "met"
        assert by_kind["acceptance"]["status"] == "met"
        assert by_kind["objection"]["status"] == "met"

        found = await alerts_of(stack.bootstrap, since, {case.case_id},
                                until=lambda evs: any(e.type == "deadline.overdue" for e in evs))
        alerts = [e for e in found if e.type in ALERTS]
        assert [(e.type, e.data.kind) for e in alerts] == [  # type: ignore[attr-defined]
            ("deadline.overdue", "handling")]
        overdue = alerts[0].data
        assert overdue.due_date == expected_due and overdue.unit == unit  # type: ignore[attr-defined]
        # Its time is the end of the due date, not when the sweep found it.
        assert overdue.at == datetime.combine(  # type: ignore[attr-defined]
            expected_due + timedelta(days=1), datetime.min.time(), SHANGHAI)
        assert await next_fires(stack.dsns["deadlines"], [case.case_id]) == []

        labels = {"unit": unit, "jurisdiction": "jizhou", "kind": "handling"}

        async def counted() -> bool:
            value = await gauge_value(http, "xinfang_deadlines_overdue_open", labels)
            return value == 1.0

        await eventually(counted, within=60, what="the overdue gauge to count the case")

        for query in (f"unit={unit}", f"unit={unit}&jurisdiction=吉州区"):
            async with http.get(f"{DEADLINES_URL}/v1/overdue?{query}",
                                headers=bearer(STAFF)) as r:
                assert r.status == 200
                listed = await r.json()
            assert [(i["case_id"], i["kind"]) for i in listed] == [(case.case_id, "handling")]
            assert listed[0]["jurisdiction"] == {"key": "jizhou", "label": "吉州区"}
        async with http.get(f"{DEADLINES_URL}/v1/overdue?jurisdiction=nowhere",
                            headers=bearer(STAFF)) as r:
            assert r.status == 422
            assert (await r.json())["errors"][0]["field"] == "jurisdiction"


async def test_case_closed_before_the_due_date_is_met_and_never_overdue(stack: Any) -> None:
    # Long ago, so that every duty would be overdue by now had it not been met in time; the
    # review window after the reply lapsed unused, quietly.
    case = (CaseScript().registered(days_ago(300)).assigned(days_ago(299))
            .step("accept", days_ago(298)).step("reply", days_ago(260))
            .step("close", days_ago(259)))
    since = await end_offsets(stack.bootstrap, DEADLINE_EVENTS.name())
    await produce(stack.bootstrap, [case])
    async with aiohttp.ClientSession() as http:
        await timer_when(http, case.case_id, "review_request", status="met", outcome="lapsed")
        by_kind = {t["kind"]: t for t in await deadlines(http, case.case_id)}
    assert {k: (t["status"], t["outcome"]) for k, t in by_kind.items()} == {
        "routing": ("met", "on_time"), "acceptance": ("met", "on_time"),
        "objection": ("met", "accepted"), "handling": ("met", "on_time"),
        "review_request": ("met", "lapsed")}
    assert by_kind["handling"]["ended"]["type"] == "case.replied"
    # Nothing is left to fire, and nothing fired.
    assert await next_fires(stack.dsns["deadlines"], [case.case_id]) == []
    found = await alerts_of(stack.bootstrap, since, {case.case_id})
    assert [e.type for e in found if e.type in ALERTS] == []


async def test_extension_moves_the_handling_due_date(stack: Any) -> None:
    accepted_at = datetime(2026, 8, 3, 10, tzinfo=SHANGHAI)
    case = CaseScript().step("accept", accepted_at)
    since = await end_offsets(stack.bootstrap, DEADLINE_EVENTS.name())
    await produce(stack.bootstrap, [case])
    before = compute_due(DeadlineKind.handling, date(2026, 8, 3), WorkingCalendar())
    after = compute_due(DeadlineKind.handling, date(2026, 8, 3), WorkingCalendar(),
                        extension_days=20)
    assert (before.due_date, after.due_date) == (date(2026, 10, 8), date(2026, 10, 22))
    async with aiohttp.ClientSession() as http:
        await timer_when(http, case.case_id, "handling", due_date="2026-10-08")
        case.step("approve_extension", accepted_at + timedelta(days=40), days=20)
        await produce(stack.bootstrap, [case])
        handling = await timer_when(http, case.case_id, "handling", due_date="2026-10-22")
    assert (handling["extension_days"], handling["length_days"]) == (20, 80)
    assert handling["provisional"] is False
    assert [(h["old_due_date"], h["new_due_date"], h["reason"])
            for h in handling["history"]] == [("2026-10-08", "2026-10-22", "extension")]
    found = await alerts_of(
        stack.bootstrap, since, {case.case_id},
        until=lambda evs: any(e.type == "deadline.rescheduled" for e in evs))
    moved = [e.data for e in found if isinstance(e.data, DeadlineRescheduled)]
    assert [(m.kind, m.old_due_date, m.new_due_date) for m in moved] == [
        ("handling", date(2026, 10, 8), date(2026, 10, 22))]


async def test_calendar_overlay_reschedules_a_provisional_timer(stack: Any) -> None:
    # A far year no library knows; the overlay below is HYPOTHETICAL test data, removed after.
    year = 3000 + uuid.uuid4().int % 6000
    start = date(year - 1, 11, 2)  # day 60 is 1 January of `year`
    accepted_at = datetime.combine(start, datetime.min.time(), SHANGHAI) + timedelta(hours=10)
    case = CaseScript().step("accept", accepted_at)
    before = compute_due(DeadlineKind.handling, start, WorkingCalendar())
    assert before.provisional and before.due_date.year == year
    overlay = {"holidays": [before.due_date.isoformat()], "workdays": []}
    after = compute_due(DeadlineKind.handling, start,
                        WorkingCalendar().with_overlay({year: overlay}))
    assert not after.provisional and after.due_date > before.due_date
    since = await end_offsets(stack.bootstrap, DEADLINE_EVENTS.name())
    await produce(stack.bootstrap, [case])
    async with aiohttp.ClientSession() as http:
        await timer_when(http, case.case_id, "handling", provisional=True,
                         due_date=before.due_date.isoformat())
        url = f"{DEADLINES_URL}/v1/calendar/{year}"
        try:
            async with http.put(url, json={"holidays": ["not-a-date"], "workdays": []},
                                headers=bearer(ADMIN)) as r:
                assert r.status == 422
                assert (await r.json())["errors"][0]["field"] == "holidays[0]"
            async with http.put(url, json=overlay, headers=bearer(STAFF)) as r:
                assert r.status == 403
            async with http.put(url, json=overlay, headers=bearer(ADMIN)) as r:
                assert r.status == 200, await r.text()
                answer = await r.json()
            assert answer["changed"] is True and answer["rescheduled"] >= 1
            handling = await timer_when(http, case.case_id, "handling", provisional=False)
            assert handling["due_date"] == after.due_date.isoformat()
            assert [(h["old_due_date"], h["old_provisional"], h["new_due_date"],
                     h["new_provisional"], h["reason"]) for h in handling["history"]] == [
                (before.due_date.isoformat(), True, after.due_date.isoformat(), False,
                 "calendar")]
            async with http.get(url, headers=bearer(STAFF)) as r:
                shown = await r.json()
            assert (shown["has_data"], shown["source"], shown["holidays"]) == (
                True, "api", overlay["holidays"])
            async with http.put(url, json=overlay, headers=bearer(ADMIN)) as r:
                assert (await r.json())["changed"] is False  # the same again changes nothing
            found = await alerts_of(
                stack.bootstrap, since, {case.case_id},
                until=lambda evs: any(e.type == "deadline.rescheduled" for e in evs))
            moved = [e.data for e in found if isinstance(e.data, DeadlineRescheduled)]
            assert [(m.old_due_date, m.new_due_date, m.provisional) for m in moved] == [
                (before.due_date, after.due_date, False)]
        finally:
            async with http.delete(url, headers=bearer(ADMIN)) as r:
                assert r.status == 200
        # Without the overlay the year is unknown again: back to weekends only, provisional.
        await timer_when(http, case.case_id, "handling", provisional=True,
                         due_date=before.due_date.isoformat())
