"""Helpers of the statistics integration tests: a case generator that writes the events intake,
routing and deadlines would, the ground truth of docs/domain.md §5 computed case by case from the
generated data (independently of the service's projection), and producing/waiting helpers.

Collected by pytest for its one sanity test; the other statistics tests import from it.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import yaml
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from shared.domain.calendar import WorkingCalendar
from shared.domain.event_types import EventData
from shared.domain.limits import compute_due, local_date, overdue_after
from shared.domain.schemas import (
    STEP_TYPES,
    CaseAssigned,
    CaseLinked,
    CaseRegistered,
    DeadlineOverdue,
    DeadlineScheduled,
    DeadlineWarning,
)
from shared.domain.vocab import Vocabulary
from shared.platform.events import Envelope, encode, envelope_for
from shared.platform.topics import CASE_EVENTS, DEADLINE_EVENTS, ROUTING_EVENTS
from shared.tools.testing.helpers import eventually, read_topic

TOKEN = "dev-staff-token-0000000000000001"
CAL = WorkingCalendar()
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")
UNIT_NAMES: dict[str, str] = {
    str(u["code"]): str(u["name"]) for u in yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "deploy/config/routing-rules.yaml")
        .read_text(encoding="utf-8"))["units"]
} | {"unassigned": "未分配"}
CASE_TOPIC, ROUTING_TOPIC, DEADLINE_TOPIC = (t.name() for t in (CASE_EVENTS, ROUTING_EVENTS,
                                                                 DEADLINE_EVENTS))
Produced = tuple[str, Envelope]


def overdue_at(due: date) -> datetime:
    # In UTC: before 1901 Shanghai kept LMT (+08:05:43), and an offset with seconds does not
    # survive RFC 3339 (pydantic writes +08:05); the instant is the same.
    return overdue_after(due).astimezone(UTC)


def _hours(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=rng.uniform(low * 3600, high * 3600))


@dataclass
class Case:
    case_id: str
    channel: str
    jurisdiction: str
    category: str
    received_at: datetime
    reachable: bool
    duplicate: bool = False
    units: list[tuple[str, datetime]] = field(default_factory=list)
    objected_at: datetime | None = None
    transferred_at: datetime | None = None
    declined_at: datetime | None = None
    accepted_at: datetime | None = None
    extension_days: int = 0
    extended_at: datetime | None = None
    closed_at: datetime | None = None
    feedback_at: datetime | None = None
    rating: str | None = None
    rated_at: datetime | None = None
    overdue_at: datetime | None = None
    overdue_kind: str = "handling"
    # The assessment indicators' facts (docs/domain.md §5).
    replied_at: datetime | None = None  # None: answered at the closure
    link_kind: str | None = None  # repeat | final_repeat (a duplicate is ``duplicate``)
    linked_at: datetime | None = None
    key_case: bool = False
    review_requested_at: datetime | None = None
    assigned_by: str | None = None
    report_back_due: date | None = None

    @property
    def answered_at(self) -> datetime | None:
        return self.replied_at or self.closed_at

    @property
    def decided_at(self) -> datetime | None:
        return min((t for t in (self.accepted_at, self.declined_at, self.transferred_at) if t),
                   default=None)
    signers: int = 1  # the head count: people (人次)
    urged_at: list[datetime] = field(default_factory=list)

    @property
    def unit(self) -> str:
        return self.units[-1][0] if self.units else "unassigned"

    def due(self) -> date:
        assert self.accepted_at is not None
        return compute_due("handling", local_date(self.accepted_at), CAL,
                           extension_days=self.extension_days).due_date

    def on_time(self) -> bool:
        return self.closed_at is not None and local_date(self.closed_at) <= self.due()

    @classmethod
    def new(cls, rng: random.Random, received: datetime, vocab: Vocabulary,
            **fixed: Any) -> Case:
        values: dict[str, Any] = dict(
            case_id=str(uuid.uuid4()), channel=rng.choice(vocab.channels.codes),
            jurisdiction=rng.choice(vocab.jurisdictions.codes),
            category=rng.choice(vocab.categories.codes), received_at=received,
            reachable=rng.random() < 0.7, signers=rng.choice((1, 1, 1, 1, 6, 30)))
        values.update(fixed)
        return cls(**values)

    @classmethod
    def random(cls, rng: random.Random, received: datetime, vocab: Vocabulary,
               units: list[str]) -> Case:
        """A random lifecycle that keeps every statutory limit except where it marks the case
        overdue itself, at the instant the deadlines service would (the end of the due date).
        """
        c = cls._lifecycle(rng, received, vocab, units)
        # The assessment indicators' facts: repeats, key cases, answers before the closure,
        # review requests.
        if not c.duplicate and rng.random() < 0.04:
            c.link_kind = rng.choice(["repeat", "final_repeat"])
            c.linked_at = c.received_at + _hours(rng, 0, 30)
        c.key_case = rng.random() < 0.08
        if c.closed_at is not None:
            c.replied_at = max(c.closed_at - _hours(rng, 0, 72), c.accepted_at or c.closed_at)
            if rng.random() < 0.15:
                c.review_requested_at = (c.feedback_at or c.closed_at) + _hours(rng, 1, 200)
        return c

    @classmethod
    def _lifecycle(cls, rng: random.Random, received: datetime, vocab: Vocabulary,
                   units: list[str]) -> Case:
        c = cls.new(rng, received, vocab, duplicate=rng.random() < 0.05)
        # Every case is assigned (versions from 1000): routing, which also sees these
        # registrations, assigns them too, with version 1, and must never win.
        c.units.append((rng.choice(units), received + _hours(rng, 0.1, 20)))
        if rng.random() < 0.15:  # urged (督办) once or twice, some before a backdated receipt
            c.urged_at = sorted(received + _hours(rng, -24, 2000)
                                for _ in range(rng.randint(1, 2)))
        r = rng.random()
        if r < 0.05:  # assigned, never accepted: the 15-day acceptance limit passes
            due = compute_due("acceptance", local_date(received), CAL).due_date
            c.overdue_at, c.overdue_kind = overdue_at(due), "acceptance"
            return c
        if r < 0.10:
            c.transferred_at = c.units[-1][1] + _hours(rng, 1, 72)
            return c
        if rng.random() < 0.1:
            c.objected_at = c.units[-1][1] + _hours(rng, 1, 48)
            c.units.append((rng.choice(units), c.objected_at + _hours(rng, 1, 20)))
        if rng.random() < 0.06:
            c.declined_at = c.units[-1][1] + _hours(rng, 1, 72)
            return c
        c.accepted_at = c.units[-1][1] + _hours(rng, 1, 96)
        if rng.random() < 0.25:
            c.extension_days = rng.randint(1, 30)
        due = c.due()
        if rng.random() < 0.8:
            latest = datetime.combine(due, datetime.min.time(), tzinfo=UTC) + timedelta(days=25)
            span = (latest - c.accepted_at).total_seconds()
            c.closed_at = c.accepted_at + timedelta(seconds=rng.uniform(0.2, 1.0) * span)
            if c.extension_days:
                # Approved while the original 60 days still run, and before the answer.
                window = min(c.closed_at - c.accepted_at, timedelta(days=50))
                c.extended_at = c.accepted_at + window * rng.uniform(0.05, 0.95)
            if not c.on_time():
                c.overdue_at = overdue_at(due)
            if rng.random() < (0.8 if c.reachable else 0.3):
                c.feedback_at = c.closed_at + _hours(rng, 0.5, 120)
                if rng.random() < 0.6:
                    c.rated_at = c.feedback_at + _hours(rng, 0, 240)
                    c.rating = rng.choice(RATINGS)
        else:
            c.extension_days = 0  # an open case here was never extended
            c.overdue_at = overdue_at(c.due())
        return c

    def events(self, rng: random.Random | None = None) -> list[Produced]:
        """The case's events on the three topics (routing's and deadlines' included)."""
        out: list[Produced] = []
        sequence = 1

        def emit(topic: str, data: EventData, at: datetime) -> None:
            out.append((topic, envelope_for(data, subject=self.case_id, source="tests",
                                            time=at, event_id=str(uuid.uuid4()))))

        def unit_at(at: datetime) -> str | None:
            held = [u for u, t in self.units if t <= at]
            return held[-1] if held else None

        def step(action: str, at: datetime | None, **extra: Any) -> None:
            nonlocal sequence
            if at is None:
                return
            sequence += 1
            emit(CASE_TOPIC, STEP_TYPES[action](case_id=self.case_id, at=at, status=action,
                                               previous_status="x", sequence=sequence,
                                               unit=unit_at(at), **extra), at)

        emit(CASE_TOPIC, CaseRegistered(
            case_id=self.case_id, tracking_no=f"XF-T{self.case_id[:8]}", channel=self.channel,
            jurisdiction=self.jurisdiction, category=self.category,
            received_at=self.received_at, reachable=self.reachable,
            anonymous=not self.reachable, signers=self.signers), self.received_at)
        if self.duplicate:
            emit(ROUTING_TOPIC, CaseLinked(case_id=self.case_id, linked_to=str(uuid.uuid4()),
                                           kind="duplicate", at=self.received_at),
                 self.received_at)
        if self.link_kind is not None and self.linked_at is not None:
            emit(ROUTING_TOPIC, CaseLinked(case_id=self.case_id, linked_to=str(uuid.uuid4()),
                                           kind=self.link_kind, at=self.linked_at),
                 self.linked_at)
        last = len(self.units) - 1
        for i, (unit, at) in enumerate(self.units):
            emit(ROUTING_TOPIC, CaseAssigned(case_id=self.case_id, unit=unit,
                                             assignment_version=1000 + i, rule_id="test",
                                             rule_version=1, assigned_at=at,
                                             key_case=self.key_case and i == last), at)
        step("object", self.objected_at)
        step("transfer_out", self.transferred_at)
        step("decline", self.declined_at)
        step("accept", self.accepted_at)
        step("approve_extension", self.extended_at, days=self.extension_days)
        step("reply", self.answered_at if self.closed_at else None)
        step("close", self.closed_at)
        step("feedback", self.feedback_at)
        step("rate", self.rated_at, rating=self.rating)
        step("request_review", self.review_requested_at)
        for urged in self.urged_at:
            step("urge", urged, respond_by=local_date(urged) + timedelta(days=7))
        if self.overdue_at is not None:
            overdue = DeadlineOverdue(case_id=self.case_id, kind=self.overdue_kind,
                                      due_date=local_date(self.overdue_at) - timedelta(1),
                                      unit=unit_at(self.overdue_at), at=self.overdue_at)
            emit(DEADLINE_TOPIC, overdue, self.overdue_at)
        if rng is not None and rng.random() < 0.1:
            # Noise statistics must ignore: a warning, and the petitioner's review window.
            at = self.received_at + timedelta(days=3)
            emit(DEADLINE_TOPIC, DeadlineWarning(case_id=self.case_id, kind="acceptance",
                                                 due_date=local_date(at), days_left=3, at=at),
                 at)
            emit(DEADLINE_TOPIC, DeadlineOverdue(case_id=self.case_id, kind="review_request",
                                                 due_date=local_date(at), at=at), at)
        return out


def half_up(numerator: int, denominator: int) -> float:
    if not denominator:
        return 0.0
    exact = Decimal(numerator) * 100 / Decimal(denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def truth(cases: Iterable[Case], start: date, end: date, as_of: datetime,
          filters: dict[str, str] | None = None, group: str | None = None
          ) -> dict[str, list[int]]:
    """docs/domain.md §5, case by case: what was received in [start, end] and where it stood at
    as_of."""
    out: dict[str, list[int]] = defaultdict(lambda: [0] * WIDTH)
    for c in cases:
        day = local_date(c.received_at)
        if c.duplicate:
            continue
        if filters and any(getattr(c, dim) != value for dim, value in filters.items()):
            continue
        key = ("" if group is None else f"{day.year:04d}-{day.month:02d}" if group == "month"
               else getattr(c, group))
        _by_own_period(c, start, end, as_of, out[key])
        if not start <= day <= end or c.received_at > as_of:
            continue
        v = out[key]
        v[0] += 1
        if c.closed_at is not None and c.closed_at <= as_of:
            v[1] += 1
            v[2] += c.on_time()
            if c.reachable:
                v[3] += 1
                v[4] += c.feedback_at is not None and c.feedback_at <= as_of
        if c.rated_at is not None and c.rated_at <= as_of:
            v[5] += 1
            v[6] += c.rating == "satisfied"
            v[7] += c.rating == "basically_satisfied"
        if c.overdue_at is not None and c.overdue_at <= as_of:
            out[key][8] += 1
        _by_receipt(c, as_of, v)
        v[PEOPLE_T] += c.signers
        # An urge counts from its instant, and never before the case was received.
        v[URGES_T] += sum(1 for u in c.urged_at if max(u, c.received_at) <= as_of)
    return dict(out)


# The assessment indicators' counts follow the nine above in each truth vector, then people
# (人次) and urges (督办).
WIDTH = 20
ACCEPT_DUE, ACCEPT_TIMELY, ANSWERED, ANSWER_ON_TIME, FED, RATED_FED, REPEATS, KEY_CLOSED, \
    KEY_RESOLVED, PEOPLE_T, URGES_T = range(9, WIDTH)


def _by_own_period(c: Case, start: date, end: date, as_of: datetime, v: list[int]) -> None:
    """Timely acceptance by the acceptance due date, on-time answers by the answer date."""
    if c.link_kind is None:  # a linked case owes no acceptance
        due = compute_due("acceptance", local_date(c.received_at), CAL).due_date
        decided = max(c.received_at, c.decided_at) if c.decided_at else None
        if start <= due <= end:
            v[ACCEPT_DUE] += (decided is not None and decided <= as_of) or (
                overdue_after(due) <= as_of)
            v[ACCEPT_TIMELY] += (decided is not None and decided <= as_of
                                 and local_date(c.decided_at) <= due)  # type: ignore[arg-type]
    if c.answered_at is not None:
        answered = max(c.received_at, c.answered_at)
        if start <= local_date(answered) <= end and answered <= as_of:
            v[ANSWERED] += 1
            v[ANSWER_ON_TIME] += (c.accepted_at is not None
                                  and local_date(c.answered_at) <= c.due())


def _by_receipt(c: Case, as_of: datetime, v: list[int]) -> None:
    """Participation, repeats and key-case resolution of a case received in the period."""
    fed = (c.reachable and c.closed_at is not None and c.closed_at <= as_of
           and c.feedback_at is not None and c.feedback_at <= as_of)
    v[FED] += fed
    v[RATED_FED] += fed and c.rated_at is not None and c.rated_at <= as_of
    v[REPEATS] += (c.link_kind in ("repeat", "final_repeat") and c.linked_at is not None
                   and max(c.received_at, c.linked_at) <= as_of)
    if c.key_case and c.closed_at is not None and c.closed_at <= as_of:
        v[KEY_CLOSED] += 1
        v[KEY_RESOLVED] += not (c.review_requested_at is not None
                                and max(c.received_at, c.review_requested_at) <= as_of)


def expected_summary(counts: dict[str, list[int]]) -> dict[str, Any]:
    t = [sum(v[i] for v in counts.values()) for i in range(WIDTH)]
    return {"received": t[0], "closed": t[1], "in_progress": t[0] - t[1], "overdue": t[8],
            "closure_rate": half_up(t[1], t[0]), "on_time_rate": half_up(t[2], t[1]),
            "feedback_rate": half_up(t[4], t[3]), "satisfaction_rate": half_up(t[6] + t[7], t[5]),
            "timely_acceptance_rate": half_up(t[ACCEPT_TIMELY], t[ACCEPT_DUE]),
            "on_time_answer_rate": half_up(t[ANSWER_ON_TIME], t[ANSWERED]),
            "participation_rate": half_up(t[RATED_FED], t[FED]),
            "repeat_petitions": t[REPEATS],
            "key_case_resolution_rate": half_up(t[KEY_RESOLVED], t[KEY_CLOSED]),
            "people": t[PEOPLE_T], "urges": t[URGES_T]}


HANDOFF_CHANNELS = ("provincial_transfer", "city_transfer", "superior_assigned")


def report_back_status(c: Case, as_of: datetime) -> str:
    """docs/domain.md §8: where a hand-off's report back stands as of an instant."""
    if c.report_back_due is None:
        return "no_limit"
    reported = min((t for t in (c.closed_at, c.declined_at) if t), default=None)
    if reported is not None and max(c.received_at, reported) <= as_of:
        return ("reported_on_time" if local_date(reported) <= c.report_back_due
                else "reported_late")
    return "overdue" if overdue_after(c.report_back_due) <= as_of else "pending"


def expected_by_body(cases: Iterable[Case], start: date, end: date, as_of: datetime,
                     vocab: Vocabulary, filters: dict[str, str] | None = None
                     ) -> dict[str, Any]:
    """The by=assigning_body breakdown, case by case: hand-offs received in the period."""
    rows: dict[str, dict[str, Any]] = {}
    for c in cases:
        if (c.duplicate or c.channel not in HANDOFF_CHANNELS
                or not start <= local_date(c.received_at) <= end or c.received_at > as_of):
            continue
        if filters and any(getattr(c, dim) != value for dim, value in filters.items()):
            continue
        key = c.assigned_by or c.channel
        row = rows.setdefault(key, {"count": 0, "closed": 0, "report_back": dict.fromkeys(
            ("reported_on_time", "reported_late", "pending", "overdue", "no_limit"), 0)})
        row["count"] += 1
        row["closed"] += c.closed_at is not None and c.closed_at <= as_of
        row["report_back"][report_back_status(c, as_of)] += 1
    total = sum(r["count"] for r in rows.values())
    ranked = sorted(rows.items(), key=lambda kv: (-kv[1]["count"], kv[0]))
    return {"total": total, "rows": [
        {"key": k, "label": vocab.channels.label(k) if k in HANDOFF_CHANNELS else k,
         "count": r["count"], "percent": half_up(r["count"], total), "closed": r["closed"],
         "closure_rate": half_up(r["closed"], r["count"]), "report_back": r["report_back"]}
        for k, r in ranked]}


def expected_breakdown(counts: dict[str, list[int]], by: str, vocab: Vocabulary
                       ) -> dict[str, Any]:
    rows = [(k, v) for k, v in counts.items() if v[0]]
    total = sum(v[0] for _, v in rows)
    terms = {"channel": vocab.channels, "jurisdiction": vocab.jurisdictions,
             "category": vocab.categories}.get(by)

    def label(key: str) -> str:
        if terms is not None:
            return terms.label(key)
        if by == "month":
            return f"{int(key[:4])}年{int(key[5:])}月"
        return UNIT_NAMES.get(key, key)

    rows.sort(key=lambda kv: (-kv[1][0], kv[0]))
    return {"total": total, "rows": [
        {"key": k, "label": label(k), "count": v[0], "percent": half_up(v[0], total),
         "closed": v[1], "closure_rate": half_up(v[1], v[0]), "people": v[PEOPLE_T],
         "urges": v[URGES_T]} for k, v in rows]}


async def produce(bootstrap: str, events: list[Produced], *, routing_first: bool = False
                  ) -> list[Any]:
    """Send every event keyed by case id; routing and deadline events first if asked (so they
    overtake their case's registration). Returns the record metadata of each send."""
    if routing_first:
        events = sorted(events, key=lambda te: te[0] == CASE_TOPIC)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True,
                                linger_ms=10)
    await producer.start()
    try:
        futures = [await producer.send(topic, encode(env), key=env.subject.encode())
                   for topic, env in events]
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


async def wait_applied(conn: asyncpg.Connection, ids: set[str], within: float = 120) -> None:
    wanted = [uuid.UUID(i) for i in ids]

    async def done() -> bool:
        n = await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id = ANY($1::uuid[])",
                                wanted)
        return bool(n == len(wanted))

    await eventually(done, within=within, every=0.5, what=f"{len(ids)} events applied")


async def wait_consumed(bootstrap: str, sent: list[Any], within: float = 60) -> None:
    """Until the statistics consumer group has committed past every record in ``sent``."""
    await wait_group(bootstrap, "xinfang-statistics", sent, within)


COUNTED_OVERDUE = frozenset({"routing", "acceptance", "handling", "review_decision",
                             "rereview_decision"})


async def wait_group(bootstrap: str, group: str, sent: list[Any], within: float = 60) -> None:
    """Until consumer group ``group`` has committed past every record in ``sent``."""
    last: dict[tuple[str, int], int] = {}
    for meta in sent:
        key = (meta.topic, meta.partition)
        last[key] = max(last.get(key, -1), meta.offset)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        async def done() -> bool:
            committed = await admin.list_consumer_group_offsets(group)
            offsets = {(tp.topic, tp.partition): om.offset for tp, om in committed.items()}
            return all(offsets.get(key, -1) > offset for key, offset in last.items())

        await eventually(done, within=within, every=0.5, what=f"{group} to consume our events")
    finally:
        await admin.close()


async def settle_deadlines(bootstrap: str, sent: list[Any], case_ids: set[str],
                           since: dict[int, int], quiet: float = 12.0) -> list[Envelope]:
    """The deadline alerts the deadlines service published about ``case_ids``, once it has
    consumed our events and gone quiet about them for ``quiet`` seconds (its alert grace is
    10 s). The deadlines service sees these synthetic cases too and, when it lags behind our
    burst, may alert before it reads a case's acceptance; statistics must count what it
    published, so the truth does too."""
    ours = [m for m in sent if m.topic in (CASE_TOPIC, ROUTING_TOPIC)]
    await wait_group(bootstrap, "xinfang-deadlines", ours, within=300)
    loop = asyncio.get_running_loop()
    seen, changed = -1, loop.time()
    while True:
        messages = await read_topic(bootstrap, DEADLINE_TOPIC, since=since)
        alerts = [env for _, env in messages
                  if env is not None and env.subject in case_ids and env.source != "tests"]
        if len(alerts) != seen:
            seen, changed = len(alerts), loop.time()
        elif loop.time() - changed >= quiet:
            return alerts
        await asyncio.sleep(1.0)


def merge_alerts(cases: list[Case], alerts: list[Envelope]) -> None:
    """Each case's overdue instant becomes the earliest of ours and the deadlines service's;
    a report-back due date deadlines scheduled (from its configured limits) is the case's."""
    by_id = {c.case_id: c for c in cases}
    for env in alerts:
        data = env.data
        if isinstance(data, DeadlineScheduled) and data.kind == "report_back":
            by_id[data.case_id].report_back_due = data.due_date
        if isinstance(data, DeadlineOverdue) and data.kind in COUNTED_OVERDUE:
            case = by_id[data.case_id]
            if case.overdue_at is None or data.at < case.overdue_at:
                case.overdue_at = data.at


async def fresh_block(http: aiohttp.ClientSession, stack: Any, rng: random.Random,
                      years: int, lowest: int = 1100, highest: int = 1890) -> int:
    """A first year y (lowest … highest) such that no case was received in y .. y+years-1."""
    for _ in range(30):
        y = rng.randrange(lowest, highest)
        params = {"from": f"{y:04d}-01-01", "to": f"{y + years - 1:04d}-12-31",
                  "as_of": f"{y + years + 2:04d}-01-01"}
        async with http.get(stack.url("statistics", "/v1/stats/summary"), params=params,
                            headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            assert r.status == 200, await r.text()
            if (await r.json())["received"] == 0:
                return y
    raise AssertionError(f"no empty block of {years} years in {lowest}–{highest}: this stack "
                         "holds many earlier test runs (`xf stack clean` empties it)")


def test_generator_covers_every_kind_of_case() -> None:
    from shared.domain.vocab import default_vocabulary

    rng = random.Random(3)
    vocab = default_vocabulary()
    start = datetime(1500, 1, 1, tzinfo=UTC)
    cases = [Case.random(rng, start + timedelta(hours=7 * i), vocab, ["a", "b", "c"])
             for i in range(2000)]
    kinds: dict[str, int] = defaultdict(int)
    for c in cases:
        kinds["duplicate"] += c.duplicate
        kinds["closed"] += c.closed_at is not None
        kinds["late"] += c.closed_at is not None and not c.on_time()
        kinds["extended"] += c.extension_days > 0 and c.closed_at is not None
        kinds["overdue"] += c.overdue_at is not None
        kinds["rated"] += c.rated_at is not None
        kinds["unreachable_feedback"] += (not c.reachable) and c.feedback_at is not None
        kinds["reassigned"] += len(c.units) > 1
        kinds["never_accepted"] += c.accepted_at is None and c.overdue_kind == "acceptance"
        kinds["open"] += c.closed_at is None
        kinds["repeat"] += c.link_kind is not None
        kinds["key_closed"] += c.key_case and c.closed_at is not None
        kinds["review"] += c.review_requested_at is not None
        kinds["answered_before_closure"] += (c.replied_at is not None and c.closed_at is not None
                                             and c.replied_at < c.closed_at)
    assert all(kinds[k] >= 10 for k in ("duplicate", "closed", "late", "extended", "overdue",
                                        "rated", "unreachable_feedback", "reassigned",
                                        "never_accepted", "open", "repeat", "key_closed",
                                        "review", "answered_before_closure")), kinds
    assert sum(len(c.events()) for c in cases) > 5 * len(cases)
