"""The statistics API over the real stack: who may read, 422s, rounding at exact ties, as_of
around a closure, a past quarter's report that later events do not change (and its XLSX holding
the JSON's numbers), redelivered and replayed events, and the live gauges.

Each test works in its own empty block of years long past (see test_statistics_support)."""

from __future__ import annotations

import io
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
from openpyxl import load_workbook

from services.statistics.report import HEADER_ROW, SUMMARY_HEADINGS
from shared.domain.limits import start_of_local_day
from shared.domain.schemas import CaseStep
from shared.domain.vocab import default_vocabulary
from shared.platform.events import Envelope
from shared.tools.testing.helpers import end_offsets, eventually
from tests.integration.statistics_cases import DEADLINE_TOPIC, Case
from tests.integration.test_statistics_support import (
    TOKEN,
    fresh_block,
    produce,
    settle_deadlines,
    wait_applied,
    wait_consumed,
)

VOCAB = default_vocabulary()
UNITS = ["jizhou_bureau", "jian_bureau", "safety", "finance"]


def local(y: int, m: int, d: int, hour: int = 10) -> datetime:
    return start_of_local_day(date(y, m, d)).astimezone(UTC) + timedelta(hours=hour)


class Api:
    def __init__(self, http: aiohttp.ClientSession, stack: Any) -> None:
        self.http, self.stack = http, stack

    async def get(self, path: str, token: str | None = TOKEN, **params: Any
                  ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(self.stack.url("statistics", path), params=params,
                                 headers=headers) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.read()

    async def ok(self, path: str, **params: Any) -> Any:
        status, body = await self.get(path, **params)
        assert status == 200, (path, params, body)
        return body


async def apply(stack: Any, cases: list[Case], extra: list | None = None, *,
                settle: bool = False) -> list[Envelope]:
    """Produce the cases' events (and ``extra``) and wait until statistics has applied them.

    With ``settle``, first let the deadlines service finish alerting about these cases (it
    sees them too) and wait for its alerts as well: needed only where a test compares overdue
    figures before and after, since an alert arriving in between would move them. Returns
    those alerts."""
    events = [e for c in cases for e in c.events()] + (extra or [])
    since = await end_offsets(stack.bootstrap, DEADLINE_TOPIC)
    sent = await produce(stack.bootstrap, events)
    alerts: list[Envelope] = []
    if settle:
        alerts = await settle_deadlines(stack.bootstrap, sent,
                                        {env.subject for _, env in events}, since, quiet=12)
    conn = await asyncpg.connect(stack.dsns["statistics"])
    try:
        await wait_applied(conn, {e.id for _, e in events} | {e.id for e in alerts})
    finally:
        await conn.close()
    return alerts


async def test_reading_needs_a_staff_or_admin_token(stack) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack)
        paths = [("/v1/stats/summary", {}), ("/v1/stats/breakdown", {"by": "channel"}),
                 ("/v1/reports/quarterly", {"year": "2025", "quarter": "1"})]
        for path, params in paths:
            assert (await api.get(path, None, **params))[0] == 401
            assert (await api.get(path, "not-a-token-at-all-000000", **params))[0] == 401
            for token in ("dev-channel-letter-0000000000001", "dev-unit-jian_bureau-00000000001"):
                assert (await api.get(path, token, **params))[0] == 403
            for token in (TOKEN, "dev-admin-token-0000000000000001"):
                assert (await api.get(path, token, **params))[0] == 200


async def test_bad_parameters_are_422_naming_the_parameter(stack) -> None:
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack)
        cases = [
            ("/v1/stats/breakdown", {"by": "region"}, "by"),
            ("/v1/stats/breakdown", {}, "by"),
            ("/v1/stats/summary", {"from": "2025-03-02", "to": "2025-03-01"}, "from"),
            ("/v1/stats/summary", {"from": "2025-3-1"}, "from"),
            ("/v1/stats/summary", {"to": "2025-02-30"}, "to"),
            ("/v1/stats/summary", {"as_of": "2025-03-01T10:00:00"}, "as_of"),
            ("/v1/stats/summary", {"channel": "fax"}, "channel"),
            ("/v1/stats/breakdown", {"by": "unit", "jurisdiction": "北京市"}, "jurisdiction"),
            ("/v1/stats/summary", {"category": "weather"}, "category"),
            ("/v1/stats/summary", {"compare": "mom"}, "compare"),
            ("/v1/reports/quarterly", {"year": "2025", "quarter": "5"}, "quarter"),
            ("/v1/reports/quarterly", {"year": "2025", "quarter": "1", "format": "pdf"},
             "format"),
        ]
        for path, params, field in cases:
            status, body = await api.get(path, **params)
            assert status == 422, (path, params, body)
            assert [e["field"] for e in body["errors"]] == [field], body


async def test_rounding_is_half_up_at_exact_ties(stack) -> None:
    """15.625 → 15.63 (float rounding would give 15.62), 84.375 → 84.38."""
    assert round(15.625, 2) == 15.62  # the tie is real: naive rounding gets it wrong
    rng = random.Random()
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack)
        y = await fresh_block(http, stack, rng, years=2)
        cases: list[Case] = []
        # Q1: 32 cases, 5 in anfu (1 closed) and 27 in wanan (4 closed): 5/32 closed.
        for i in range(32):
            c = Case.new(rng, local(y, 1, 2) + timedelta(days=i), VOCAB, reachable=True,
                         jurisdiction="anfu" if i < 5 else "wanan")
            c.units = [("jian_bureau", c.received_at + timedelta(hours=1))]
            c.accepted_at = c.received_at + timedelta(days=1)
            if i in (0, 5, 6, 7, 8):
                c.closed_at = c.received_at + timedelta(days=10)
            cases.append(c)
        # Q2: 32 closed cases: 5 on time, 5 given feedback, 3 satisfied + 2 basically.
        for i in range(32):
            c = Case.new(rng, local(y, 4, 1) + timedelta(days=i), VOCAB, reachable=True)
            c.units = [("safety", c.received_at + timedelta(hours=1))]
            c.accepted_at = c.received_at + timedelta(days=1)
            c.closed_at = c.received_at + timedelta(days=10 if i < 5 else 120)
            c.feedback_at = c.closed_at + timedelta(hours=1) if i < 5 else None
            c.rated_at = c.closed_at + timedelta(days=1)
            c.rating = "satisfied" if i < 3 else "basically_satisfied" if i < 5 else "unsatisfied"
            cases.append(c)
        await apply(stack, cases)
        as_of = f"{y + 1:04d}-12-31"
        q1 = await api.ok("/v1/stats/summary", **{"from": f"{y:04d}-01-01",
                                                  "to": f"{y:04d}-03-31", "as_of": as_of})
        assert (q1["received"], q1["closed"], q1["closure_rate"]) == (32, 5, 15.63)
        rows = (await api.ok("/v1/stats/breakdown", by="jurisdiction", **{
            "from": f"{y:04d}-01-01", "to": f"{y:04d}-03-31", "as_of": as_of}))["rows"]
        assert [(r["key"], r["count"], r["percent"], r["closed"], r["closure_rate"])
                for r in rows] == [("wanan", 27, 84.38, 4, 14.81), ("anfu", 5, 15.63, 1, 20.0)]
        q2 = await api.ok("/v1/stats/summary", **{"from": f"{y:04d}-04-01",
                                                  "to": f"{y:04d}-06-30", "as_of": as_of})
        assert (q2["on_time_rate"], q2["feedback_rate"], q2["satisfaction_rate"]) == (
            15.63, 15.63, 15.63)


async def test_as_of_before_and_after_a_case_closes(stack) -> None:
    rng = random.Random()
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack)
        y = await fresh_block(http, stack, rng, years=1)
        case = Case.new(rng, local(y, 5, 6), VOCAB, reachable=True)
        case.units = [("finance", case.received_at + timedelta(hours=2))]
        case.accepted_at = case.received_at + timedelta(days=1)
        closed_at = local(y, 6, 20, hour=9) + timedelta(microseconds=250)
        period = {"from": f"{y:04d}-05-01", "to": f"{y:04d}-05-31"}

        async def closed(as_of: datetime | str) -> int:
            value = as_of if isinstance(as_of, str) else as_of.isoformat()
            body = await api.ok("/v1/stats/summary", **period, as_of=value)
            assert body["received"] == 1 and body["in_progress"] == 1 - body["closed"]
            return int(body["closed"])

        await apply(stack, [case])  # registered and accepted, not closed yet
        assert await closed(closed_at) == 0
        case.closed_at = closed_at
        close_events = [e for e in case.events() if e[1].type in ("case.replied", "case.closed")]
        await apply(stack, [], close_events)
        assert await closed(closed_at - timedelta(microseconds=1)) == 0
        assert await closed(closed_at) == 1
        assert await closed(f"{y:04d}-06-19") == 0
        assert await closed(f"{y:04d}-06-20") == 1
        assert (await api.ok("/v1/stats/summary", **period))["closed"] == 1  # as of now


def _sheet_rows(book: Any, title: str) -> list[list[Any]]:
    ws = book[title]
    return [list(row) for row in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True)]


async def test_past_quarter_report_is_unchanged_by_later_events_and_xlsx_matches_json(
        stack) -> None:
    rng = random.Random()
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack)
        y = await fresh_block(http, stack, rng, years=3) + 1  # y-1 holds the 同比 baseline
        cases = [Case.random(rng, local(year, 4, 1) + timedelta(hours=rng.randrange(90 * 24)),
                             VOCAB, UNITS) for year in (y - 1, y) for _ in range(150)]
        await apply(stack, cases, settle=True)
        report = {"year": str(y), "quarter": "2"}
        csv_before = await api.ok("/v1/reports/quarterly", **report)
        xlsx_before = await api.ok("/v1/reports/quarterly", **report, format="xlsx")
        assert csv_before.startswith("\ufeff".encode()) and "受理总数".encode() in csv_before

        # The XLSX holds the numbers of the JSON API for the same quarter, as of its end.
        period = {"from": f"{y:04d}-04-01", "to": f"{y:04d}-06-30", "as_of": f"{y:04d}-06-30"}
        summary = await api.ok("/v1/stats/summary", **period)
        book = load_workbook(io.BytesIO(xlsx_before))
        assert _sheet_rows(book, "总体情况")[0] == [summary[k] for k in SUMMARY_HEADINGS]
        sheets = (("按辖区", "jurisdiction"), ("按类别", "category"), ("按渠道", "channel"))
        for sheet, by in sheets:
            body = await api.ok("/v1/stats/breakdown", by=by, **period)
            rows = _sheet_rows(book, sheet)
            assert rows[:-1] == [[r["label"], r["count"], r["percent"], r["closed"],
                                  r["closure_rate"]] for r in body["rows"]]
            assert rows[-1][:2] == ["合计", body["total"]]
        assert _sheet_rows(book, "逾期情况(按单位)")[-1] == ["合计", summary["overdue"]]
        baseline = await api.ok("/v1/stats/summary", **{
            "from": f"{y - 1:04d}-04-01", "to": f"{y - 1:04d}-06-30",
            "as_of": f"{y - 1:04d}-06-30"})
        yoy = {row[0]: row[1:3] for row in _sheet_rows(book, "同比")}
        assert yoy == {SUMMARY_HEADINGS[k]: [summary[k], baseline[k]] for k in SUMMARY_HEADINGS}
        assert summary["received"] == sum(not c.duplicate for c in cases[150:])

        # Later events: open cases close, closed ones get feedback, new cases arrive.
        later = []
        after = local(y, 7, 10)
        for c in cases[150:]:
            if c.closed_at is None and c.accepted_at is not None:
                c.closed_at = after + timedelta(hours=rng.randrange(500))
                later += [e for e in c.events() if e[1].type in ("case.replied", "case.closed")]
            elif c.closed_at is not None and c.feedback_at is None and c.reachable:
                c.feedback_at = max(after, c.closed_at) + timedelta(hours=1)
                later += [e for e in c.events() if e[1].type == "case.feedback_given"]
        later_cases = [Case.random(rng, local(y, 7, 2) + timedelta(hours=i), VOCAB, UNITS)
                       for i in range(20)]
        assert later, "the workload left nothing open to close later"
        await apply(stack, later_cases, later)
        assert await api.ok("/v1/reports/quarterly", **report) == csv_before
        xlsx_after = load_workbook(io.BytesIO(
            await api.ok("/v1/reports/quarterly", **report, format="xlsx")))
        for sheet in book.sheetnames:
            assert _sheet_rows(xlsx_after, sheet) == _sheet_rows(book, sheet), sheet
        now = await api.ok("/v1/stats/summary", **{k: v for k, v in period.items()
                                                   if k != "as_of"})
        assert now["closed"] > summary["closed"]  # the later closures were applied


async def test_redelivered_and_replayed_events_change_no_figure(stack) -> None:
    rng = random.Random()
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack)
        y = await fresh_block(http, stack, rng, years=3)
        cases = [Case.random(rng, local(y, 1, 1) + timedelta(hours=rng.randrange(2 * 8760)),
                             VOCAB, UNITS) for _ in range(200)]
        events = [e for c in cases for e in c.events()]
        await apply(stack, [], events, settle=True)
        period = {"from": f"{y:04d}-01-01", "to": f"{y + 1:04d}-12-31"}
        instants = [f"{y + 2:04d}-12-31", local(y, 9, 9).isoformat(), f"{y:04d}-11-30"]

        async def snapshot() -> list[Any]:
            out = []
            for as_of in instants:
                out.append(await api.ok("/v1/stats/summary", **period, as_of=as_of))
                for by in ("jurisdiction", "category", "channel", "unit", "month"):
                    out.append(await api.ok("/v1/stats/breakdown", by=by, **period,
                                            as_of=as_of))
            return out

        before = await snapshot()
        assert before[0]["received"] > 0
        # Redelivery: the very same events (same ids) again.
        sent = await produce(stack.bootstrap, events)
        # Replays with new ids: the same facts, or later copies that must not win.
        replays = []
        for topic, env in events:
            data = env.data
            if env.type == "case.registered":
                data = data.model_copy(update={"channel": "email"})  # first registration wins
            elif env.type == "case.closed":
                assert isinstance(data, CaseStep)
                data = data.model_copy(update={"at": data.at + timedelta(days=9)})
            replays.append((topic, type(env)(id=str(uuid.uuid4()), source=env.source,
                                             type=env.type, subject=env.subject,
                                             time=env.time, version=env.version, data=data)))
        await apply(stack, [], replays)
        await wait_consumed(stack.bootstrap, sent)
        assert await snapshot() == before


async def _gauges(http: aiohttp.ClientSession, stack: Any) -> dict[str, float]:
    async with http.get(stack.metrics_url("statistics")) as resp:
        text = await resp.text()
    out = {}
    for line in text.splitlines():
        if line.startswith("xinfang_stats_") and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


async def test_live_gauges_follow_events(stack) -> None:
    labels = '{category="school_layout",jurisdiction="xiajiang"}'
    async with aiohttp.ClientSession() as http:
        before = await _gauges(http, stack)
        now = datetime.now(UTC)
        rng = random.Random()
        cases = [Case.new(rng, now - timedelta(minutes=5), VOCAB, jurisdiction="xiajiang",
                          category="school_layout", reachable=True) for _ in range(3)]
        for c in cases:
            c.units = [("xiajiang_bureau", now - timedelta(minutes=4))]
        cases[0].accepted_at = now - timedelta(minutes=3)
        cases[0].closed_at = now - timedelta(minutes=2)
        await produce(stack.bootstrap, [e for c in cases for e in c.events()])

        async def moved() -> dict[str, float] | None:
            g = await _gauges(http, stack)
            ok = (g.get(f"xinfang_stats_cases_received{labels}", 0)
                  >= before.get(f"xinfang_stats_cases_received{labels}", 0) + 3
                  and g.get(f"xinfang_stats_cases_closed{labels}", 0)
                  >= before.get(f"xinfang_stats_cases_closed{labels}", 0) + 1)
            return g if ok else None

        after = await eventually(moved, within=30, what="gauges to count the new cases")
        assert after["xinfang_stats_leader"] == 1
        for period in ("year", "quarter"):
            rate = after[f'xinfang_stats_closure_rate_percent{{period="{period}"}}']
            assert 0 < rate <= 100
            assert f'xinfang_stats_on_time_rate_percent{{period="{period}"}}' in after
            for indicator in ("timely_acceptance", "on_time_answer", "participation",
                              "key_case_resolution"):
                value = after[f'xinfang_stats_assessment_rate_percent{{indicator="{indicator}"'
                              f',period="{period}"}}']
                assert 0 <= value <= 100
            assert after[f'xinfang_stats_repeat_petitions{{period="{period}"}}'] >= 0
