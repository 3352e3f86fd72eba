"""The write side of the projection: a batch of events applied in one transaction.

Inbox claim, the case rows (locked), their new facts and the journal of point deltas are
written together, so a redelivered event changes nothing and a crash leaves either all of a
batch or none of it. Works under any ``search_path``: the live service writes ``public``, a
rebuild writes its fresh schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from prometheus_client import Counter

from services.statistics import assessment
from services.statistics.assessment import ASSESSED_COLUMNS, Assessed
from services.statistics.facts import (
    NOT_COUNTED,
    UNASSIGNED,
    CaseFacts,
    Derived,
    apply,
    derive,
    diff,
)
from services.statistics.schema import COUNT_COLUMNS, FACT_COLUMNS
from shared.domain.limits import CountingMode
from shared.domain.schemas import (
    CalendarChanged,
    CaseAssigned,
    CaseLinked,
    CaseRegistered,
    CaseStep,
    DeadlineOverdue,
    DeadlineOverdueWithdrawn,
    DeadlineRescheduled,
    DeadlineScheduled,
)
from shared.domain.vocab import Vocabulary
from shared.platform import calendar_versions
from shared.platform.calendar_versions import CalendarView, counting_lock
from shared.platform.events import Envelope
from shared.platform.inbox import claim
from shared.platform.pipeline import Delivered

EVENTS_APPLIED = Counter("xinfang_stats_events_applied_total",
                         "Events applied to the statistics projection (this instance)", ["type"])
REJUDGED = Counter("xinfang_stats_rejudged_total",
                   "Cases whose on-time judgement a calendar change moved (this instance)")
DELTAS_WRITTEN = Counter("xinfang_stats_journal_rows_written_total",
                         "Point deltas written to the journal (this instance)")

_RELEVANT = (CaseRegistered, CaseAssigned, CaseLinked, DeadlineOverdue, DeadlineOverdueWithdrawn,
             CaseStep, DeadlineScheduled, DeadlineRescheduled)
_RAW = tuple(f.name for f in fields(CaseFacts))[1:]  # after case_id
_NAMES = [name for name, _ in FACT_COLUMNS]
_TYPES = dict(FACT_COLUMNS)
_URGED = _RAW.index("urged_at")
_JOURNAL_COLUMNS = ("r_day", "channel", "jurisdiction", "category", "unit", "e_at", "e_day",
                    *COUNT_COLUMNS)

_UPSERT = f"""
INSERT INTO case_fact AS f (case_id, {", ".join(_NAMES)})
SELECT * FROM unnest($1::text[], {", ".join(f"${i}::{_TYPES[n]}[]"
                                            for i, n in enumerate(_NAMES, start=2))})
ON CONFLICT (case_id) DO UPDATE SET {", ".join(f"{n} = EXCLUDED.{n}" for n in _NAMES)}
RETURNING case_id, (xmax = 0) AS inserted
"""


class ConcurrentInsert(asyncpg.exceptions.SerializationError):
    """Another instance created the same new case row first: retry the batch (transient)."""


def _facts_from(row: asyncpg.Record) -> CaseFacts:
    values: dict[str, Any] = {name: row[name] for name in _RAW}
    for name in ("registered", "duplicate", "reachable", "key_case", "flagged_key"):
        values[name] = bool(values[name])
    values["unit_version"] = -1 if values["unit_version"] is None else values["unit_version"]
    values["extension_days"] = values["extension_days"] or 0
    values["signers"] = values["signers"] or 0
    values["urged_at"] = tuple((int(seq), datetime.fromisoformat(at))
                               for seq, at in orjson.loads(values["urged_at"] or "[]"))
    values["overdue_alerts"] = values["overdue_alerts"] or ""
    return CaseFacts(case_id=row["case_id"], **values)


def _derived_from(row: asyncpg.Record) -> Derived:
    if not row["counted"]:
        return NOT_COUNTED
    return Derived(
        counted=True, received_at=row["received_at"], r_day=row["r_day"],
        channel=row["channel"] or "", jurisdiction=row["jurisdiction"] or "",
        category=row["category"] or "", unit=row["unit_key"] or UNASSIGNED,
        e_closed=row["e_closed"], on_time=bool(row["on_time"]), eligible=bool(row["eligible"]),
        e_feedback=row["e_feedback"], e_rated=row["e_rated"],
        rating_class=row["rating_class"] or 0, e_overdue=row["e_overdue"],
        overdue_unit=row["overdue_unit_key"] or UNASSIGNED,
        people=row["people"] or 0, e_urges=instants(row["e_urges"]),
    )


def _row_values(facts: CaseFacts, d: Derived, a: Assessed) -> list[Any]:
    raw = list(astuple(facts))[1:]
    raw[_URGED] = orjson.dumps([[seq, at.isoformat()] for seq, at in facts.urged_at]).decode()
    return [*raw, d.counted, d.r_day, d.unit if d.counted else None, d.e_closed, d.on_time,
            d.eligible, d.e_feedback, d.e_rated, d.rating_class, d.e_overdue,
            d.overdue_unit if d.counted else None, d.people, _json(d.e_urges), d.e_last_urge,
            *a.values()]


def _json(moments: tuple[datetime, ...]) -> str:
    return orjson.dumps([m.isoformat() for m in moments]).decode()


def instants(raw: str | None) -> tuple[datetime, ...]:
    """A JSON list of instants as the projection stores it."""
    return tuple(datetime.fromisoformat(m) for m in orjson.loads(raw)) if raw else ()


def _case_id(envelope: Envelope) -> str | None:
    data = envelope.data
    if isinstance(data, _RELEVANT):
        return str(data.case_id)
    return None


@dataclass(frozen=True)
class Projector:
    """Applies events to the projection (the pure rules live in facts.py). On-time is judged
    on ``calendar``: the latest calendar version folded into the projection's own tables."""

    calendar: CalendarView
    mode: CountingMode
    vocab: Vocabulary

    async def apply_batch(self, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> int:
        """Claim ``batch`` in the inbox and apply what is fresh, inside the caller's
        transaction (a rebuild's own unit of work); return the journal rows written."""
        fresh = await claim(conn, [d.inbox_row() for d in batch])
        return await self.apply_events(conn, [d.envelope for d in batch
                                              if d.envelope.id in fresh])

    async def apply_events(self, conn: asyncpg.Connection, events: Sequence[Envelope]) -> int:
        """Apply fresh ``events`` inside the caller's transaction; return the journal rows
        written. Calendar versions go first (each re-judges the cases it can change), so the
        batch's cases are judged on them."""
        written = 0
        for envelope in events:
            if isinstance(envelope.data, CalendarChanged):
                EVENTS_APPLIED.labels(envelope.type).inc()
                written += await self._calendar_changed(conn, envelope.id, envelope.data)
        by_case: dict[str, list[Envelope]] = {}
        for envelope in events:
            case_id = _case_id(envelope)
            if case_id is not None:
                EVENTS_APPLIED.labels(envelope.type).inc()
                by_case.setdefault(case_id, []).append(envelope)
        if not by_case:
            return written
        # Shared with other batches, exclusive with a calendar change: no case is judged on
        # a calendar that a change committed meanwhile has re-judged without it.
        await counting_lock(conn)
        calendar = await self.calendar.current(conn)
        ids = sorted(by_case)  # one lock order for every instance: no deadlocks
        rows = await conn.fetch(
            "SELECT * FROM case_fact WHERE case_id = ANY($1::text[]) ORDER BY case_id FOR UPDATE",
            ids,
        )
        known = {row["case_id"]: row for row in rows}
        changed: list[Changed] = []
        for case_id in ids:
            row = known.get(case_id)
            facts = _facts_from(row) if row is not None else CaseFacts(case_id)
            old = _derived_from(row) if row is not None else NOT_COUNTED
            new_facts = facts
            for envelope in by_case[case_id]:
                new_facts = assessment.fold(apply(new_facts, envelope, self.vocab), envelope)
            if row is not None and new_facts == facts:
                continue
            changed.append((new_facts, old, derive(new_facts, calendar, self.mode),
                            assessment.derive(new_facts, calendar, self.mode)))
        return written + await _write(conn, changed, known)

    async def _calendar_changed(self, conn: asyncpg.Connection, event_id: str,
                                change: CalendarChanged) -> int:
        """Fold the version and re-judge every case whose limits (acceptance, handling) can end
        in, or roll through, the changed year: on-time and the assessment indicators."""
        folded = await calendar_versions.fold(conn, event_id, change)
        if folded is None or not calendar_versions.year_changed(folded):
            return 0
        first, last = calendar_versions.starts_reaching(change.year)
        rows = await conn.fetch(
            """SELECT * FROM case_fact
               WHERE counted AND (
                 (accepted_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN $1 AND $2
                 OR (received_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN $1 AND $2)
               ORDER BY case_id FOR UPDATE""", first, last)
        changed = []
        for row in rows:
            facts = _facts_from(row)
            old, new = _derived_from(row), derive(facts, folded.after, self.mode)
            assessed = assessment.derive(facts, folded.after, self.mode)
            if new != old or assessed.values() != [row[n] for n, _ in ASSESSED_COLUMNS]:
                changed.append((facts, old, new, assessed))
        REJUDGED.inc(len(changed))
        return await _write(conn, changed, {r["case_id"]: r for r in rows})


Changed = tuple[CaseFacts, Derived, Derived, Assessed]  # facts, old → new derived, indicators


async def _write(conn: asyncpg.Connection, changed: Sequence[Changed],
                 known: Mapping[str, asyncpg.Record]) -> int:
    """Write the cases' new facts and derived columns, and the journal deltas old → new."""
    if not changed:
        return 0
    written = [[facts.case_id, *_row_values(facts, new, assessed)]
               for facts, _, new, assessed in changed]
    deltas = [delta for _, old, new, _ in changed for delta in diff(old, new)]
    columns = list(zip(*written, strict=True))
    result = await conn.fetch(_UPSERT, *[list(c) for c in columns])
    # A row this batch did not find (so did not lock) must be one it inserted.
    raced = [r["case_id"] for r in result if r["case_id"] not in known and not r["inserted"]]
    if raced:
        raise ConcurrentInsert(f"{len(raced)} case rows created concurrently; retrying")
    if deltas:
        await conn.copy_records_to_table(
            "journal", columns=list(_JOURNAL_COLUMNS),
            records=[(d.r_day, d.channel, d.jurisdiction, d.category, d.unit, d.eff_at,
                      d.e_day, *d.counts) for d in deltas],
        )
        DELTAS_WRITTEN.inc(len(deltas))
    return len(deltas)
